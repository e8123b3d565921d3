"""README figures generated from the committed results files, never copied by hand.

`python scripts/readme_figures.py` rewrites each block between
`<!-- figures:NAME -->` and `<!-- /figures:NAME -->` in README.md; `--check` exits 1 when a
block differs from what the files say (tests/unit/selection/test_readme_figures.py runs it).
Blocks: `zoo` (the per-model latency table) and `acceptance` (greedy vs advanced on the
ResNets, in both tolerance modes, and over the whole zoo).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from controller.benchmarks.schema import BenchResult, results_by_device
from controller.selection import Policy, select_fleet

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results" / "amd64-cpu-2threads-batch1.json"
RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
TABLE_VARIANTS = ("fp32", "bf16")
# A row whose p99 is this many times its p50 was disturbed by other load on the machine.
DISTURBED_RATIO = 3.0
SAVING_TARGET, POINTS_TARGET = 0.20, 10.0
ZOO_BUDGET_MS = 200.0


def _rows(path: Path) -> list[BenchResult]:
    grouped = results_by_device(json.loads(path.read_text()), path.name)
    if len(grouped) != 1:
        raise SystemExit(f"{path.name}: expected one device's results, got {sorted(grouped)}")
    return next(iter(grouped.values()))


def _ms(value: float | None, disturbed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" + (" (disturbed)" if disturbed else "")


def zoo_block(path: Path = RESULTS) -> str:
    """The fp32 and bf16 rows, batch 1, in the file's order."""
    lines = ["| model | variant | p50 ms | p90 ms | p99 ms | e2e p50 ms | img/s at batch 8 "
             "| size MB |", "|---|---|---|---|---|---|---|---|"]
    for r in _rows(path):
        if r.variant not in TABLE_VARIANTS or r.batch != 1:
            continue
        lat = r.latency_ms
        p99 = lat.p99 if lat.p99 is not None else lat.p90
        disturbed = p99 > DISTURBED_RATIO * lat.p50
        batch8 = (getattr(r, "throughput_by_batch", None) or {}).get("8")
        e2e = r.e2e_latency_ms.p50 if r.e2e_latency_ms else None
        lines.append(f"| {r.model} | {r.variant} | {_ms(lat.p50)} | {_ms(lat.p90)} | "
                     f"{_ms(lat.p99, disturbed)} | {_ms(e2e)} | "
                     f"{'-' if batch8 is None else f'{batch8:.1f}'} | {_ms(r.size_mb)} |")
    lines.append("")
    lines.append(f"A p99 over {DISTURBED_RATIO:g}x its p50 is marked disturbed (other load on the "
                 "shared machine during that run).")
    return "\n".join(lines)


def _verdict(report: dict) -> str:
    ok = report["latency_saving_rate"] >= SAVING_TARGET
    if report["acc_drop_mode"] == "points":
        ok = ok and report["accuracy_drop"] <= POINTS_TARGET
    else:
        ok = ok and report["accuracy_drop"] <= 0.10
    return "pass" if ok else "fail"


def _drop(report: dict) -> str:
    if report["acc_drop_mode"] == "points":
        return f"{report['accuracy_drop']:.2f} points"
    return f"{report['accuracy_drop']:.3f} ({report['accuracy_drop']:.1%} of greedy's)"


def _choice(c: dict) -> str:
    return f"{c['model']} (p90 {c['p90_ms']:.1f} ms, {c['accuracy_top1']:.2f} %)"


def acceptance_block(path: Path = RESULTS) -> str:
    """What `edgefleet select` picks on the committed file, as the acceptance test asks it."""
    rows = _rows(path)
    resnets = [r for r in rows if r.model in RESNETS]
    budget = max(r.latency_ms.p90 for r in resnets if r.variant == "fp32" and r.batch == 1)
    lines = [f"On `{path.name}`, fp32, batch 1, the five ResNets, budget = the slowest p90 "
             f"({budget:.1f} ms, so every model fits):", "",
             "| mode | greedy | advanced | latency saving rate | accuracy drop | "
             "≥ 20 % and ≤ 10 % |", "|---|---|---|---|---|---|"]
    for label, policy in (("points, 10", Policy(budget, 10, "points")),
                          ("relative, 10 %", Policy(budget, 0.10, "relative"))):
        report = select_fleet({"d": resnets}, policy, variants=["fp32"])
        [dev] = report["devices"]
        lines.append(f"| {label} | {_choice(dev['greedy'])} | {_choice(dev['advanced'])} | "
                     f"{report['latency_saving_rate']:.1%} | {_drop(report)} | "
                     f"{_verdict(report)} |")
    zoo = select_fleet({"d": rows}, Policy(ZOO_BUDGET_MS, 10, "points"), variants=["fp32"])
    [dev] = zoo["devices"]
    lines += ["", f"Over the whole zoo (`--variant fp32 --budget-ms {ZOO_BUDGET_MS:g} "
              f"--max-acc-drop 10 --acc-drop-mode points`) the advanced choice is "
              f"{_choice(dev['advanced'])}: {zoo['latency_saving_rate']:.1%} saving for "
              f"{zoo['accuracy_drop']:.2f} points."]
    return "\n".join(lines)


BLOCKS: dict[str, Callable[[], str]] = {"zoo": zoo_block, "acceptance": acceptance_block}


def render(text: str) -> str:
    """`text` with every figures block regenerated; a missing block is an error."""
    for name, make in BLOCKS.items():
        pattern = re.compile(rf"(<!-- figures:{name} -->\n)(?:.*?\n)?(<!-- /figures:{name} -->)",
                             re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- figures:{name} --> block")
        body = make()
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    current = README.read_text()
    wanted = render(current)
    if "--check" in argv:
        if wanted != current:
            print("README.md figures differ from benchmarks/results: run "
                  "`python scripts/readme_figures.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
