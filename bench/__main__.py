"""`python -m bench MODEL... --json`: the device-side entry (playbooks/bench.yml runs it).

A device has Python, torch and this package (plus `agent` for power/thermal readers), but
not the controller's Typer/Rich, so this is plain argparse printing the same JSON list as
`edgefleet bench --json`. Bad input exits 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.errors import BenchError
from bench.runner import BenchConfig, Runner


def parse(argv: list[str]) -> BenchConfig:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("models", nargs="+")
    p.add_argument("--iterations", type=int, default=300)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--batch", type=int, action="append")
    p.add_argument("--threads", type=int, action="append")
    p.add_argument("--device", default="cpu")
    p.add_argument("--variant", action="append")
    p.add_argument("--weights", type=Path)
    p.add_argument("--e2e-iterations", type=int)
    p.add_argument("--throughput-batch", type=int, default=8)
    p.add_argument("--input-size", type=int)
    p.add_argument("--eval-dir", type=Path,
                   help="labelled images, one sub-directory per class: measure top-1/top-5")
    p.add_argument("--eval-limit", type=int, help="at most this many --eval-dir images")
    p.add_argument("--json", action="store_true", help="accepted for symmetry; always JSON")
    a = p.parse_args(argv)
    config = BenchConfig(models=a.models, iterations=a.iterations, warmup=a.warmup,
                         batches=a.batch or [1], device=a.device, variants=a.variant,
                         weights=a.weights, e2e_iterations=a.e2e_iterations,
                         throughput_batch=a.throughput_batch, input_size=a.input_size,
                         eval_dir=a.eval_dir, eval_limit=a.eval_limit)
    if a.threads:
        config.threads = a.threads
    return config


def main(argv: list[str] | None = None) -> int:
    try:
        rows = Runner(parse(sys.argv[1:] if argv is None else argv)).run()
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
