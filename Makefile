# Two entry points from a fresh clone: `make demo` and `make test` (both bootstrap first).
.PHONY: setup demo test lint unit lab-down bench

setup:
	@scripts/bootstrap.sh

demo: setup
	@scripts/demo.sh

lint: setup
	.venv/bin/ruff check .

unit: setup
	.venv/bin/pytest tests/unit tests/api -q

test: setup lint
	.venv/bin/pytest -q

bench: setup
	.venv/bin/python benchmarks/fanout.py

lab-down: setup
	.venv/bin/edgefleet lab down
