# Two entry points from a fresh clone: `make demo` and `make test` (both bootstrap first).
.PHONY: setup demo demo-stop test lint unit lab-down bench migration readme

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
	.venv/bin/python benchmarks/agent_footprint.py
	.venv/bin/python benchmarks/ingest.py
	.venv/bin/python benchmarks/registry.py
	.venv/bin/python benchmarks/harness.py

demo-stop: setup
	@scripts/demo-stop.sh

lab-down: setup
	.venv/bin/edgefleet lab down

# New schema revision after changing/adding tables (list new table modules in
# controller/store/schema.py first): make migration MSG="add benchmark results"
migration: setup
	.venv/bin/python -m controller.store.migrate "$(MSG)"

# README figures (benchmark table, acceptance) regenerated from benchmarks/results/.
readme: setup
	.venv/bin/python scripts/readme_figures.py
