"""`edgefleet select`: greedy vs advanced model per device, from a results file or the store."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from controller.benchmarks.repository import BenchmarkRepository
from controller.benchmarks.schema import BenchResult, InvalidResults, results_by_device
from controller.benchmarks.service import NoResults
from controller.carbon import CarbonIntensity, CarbonSettings
from controller.cli import runtime
from controller.cli.runtime import errors_as_exit
from controller.config import Settings
from controller.selection import Policy, select_fleet
from controller.store import Store

out = runtime.out


class Mode(StrEnum):
    points = "points"
    relative = "relative"


class Objective(StrEnum):
    latency = "latency"
    energy = "energy"


def _from_file(path: Path, device: str | None) -> dict[str, list[BenchResult]]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InvalidResults(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidResults(f"{path} is not JSON: {exc}") from None
    grouped = results_by_device(data, str(path))
    if device is not None:
        if device not in grouped:
            raise NoResults(f"{path} has no results for device {device!r}: {', '.join(grouped)}")
        grouped = {device: grouped[device]}
    return grouped


def _from_store(device: str | None) -> dict[str, list[BenchResult]]:
    store = Store(Settings.from_env().db_url)
    try:
        # Reading prices nothing: a carbon client without a token never calls out.
        repo = BenchmarkRepository(store, CarbonIntensity(CarbonSettings(token=None)))
        grouped = repo.by_device(device)
    finally:
        store.dispose()
    if not grouped:
        where = f"device {device!r}" if device else "any device"
        raise NoResults(f"no benchmark results stored for {where} (run `POST /api/benchmarks/run`)")
    return grouped


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _choice(c: dict[str, Any] | None) -> str:
    if c is None:
        return "-"
    energy = _fmt(c["energy_j"], "{:.3g} J") + (" (est.)" if c["energy_estimated"] else "")
    return f"{c['label']} · {c['accuracy_top1']:.2f}% · p90 {c['p90_ms']:.1f} ms · {energy}"


def render(report: dict[str, Any]) -> None:
    mode, unit = report["acc_drop_mode"], report["acc_drop_unit"]
    t = Table(
        title=f"model selection · p90 budget {report['budget_ms']:g} ms · max accuracy drop "
        f"{report['max_acc_drop']:g} ({mode}: {unit}) · objective {report['objective']}"
    )
    for col in ("device", "greedy (most accurate)", "advanced", "latency saving", "acc. drop"):
        t.add_column(col)
    for d in report["devices"]:
        drop = d["accuracy_drop"]
        shown = _fmt(drop, "{:.2f} pp") if mode == "points" else _fmt(drop, "{:.1%}")
        t.add_row(
            d["device"],
            _choice(d["greedy"]),
            _choice(d["advanced"]) if d["advanced"] else "[red]none fits (see below)[/]",
            _fmt(d["latency_saving"], "{:.1%}"),
            shown,
        )
    out.print(t)
    rate, drop = report["latency_saving_rate"], report["accuracy_drop"]
    out.print(
        f"latency saving rate (mean over {report['devices_selected']} device(s)): "
        f"{_fmt(rate, '{:.1%}')} · largest accuracy drop: {_fmt(drop, '{:.4g}')} ({unit})"
    )
    for d in report["devices"]:
        if d["reason"]:
            out.print(f"[red]{d['device']}: {d['reason']}[/]")
        pareto = d["pareto"]
        out.print(
            f"[dim]{d['device']} Pareto · accuracy vs p90: "
            f"{', '.join(pareto['accuracy_vs_p90']) or '-'} · accuracy vs energy: "
            f"{', '.join(pareto['accuracy_vs_energy']) or '-'}[/]"
        )
        for w in d["warnings"]:
            out.print(f"[yellow]{d['device']}: {w}[/]")


def select(
    budget_ms: Annotated[float, typer.Option("--budget-ms", help="p90 latency budget (ms).")],
    max_acc_drop: Annotated[
        float,
        typer.Option(
            "--max-acc-drop", help="Accuracy tolerance: points (0-100) or a fraction (0-1)."
        ),
    ],
    results: Annotated[
        Path | None,
        typer.Option("--results", help="Results JSON (bench --json or bench.yml per host)."),
    ] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="Only this device (default: all).")
    ] = None,
    mode: Annotated[Mode, typer.Option("--acc-drop-mode")] = Mode.relative,
    objective: Annotated[Objective, typer.Option("--objective")] = Objective.latency,
    memory_mb: Annotated[
        float | None, typer.Option("--memory-mb", help="Device memory available (MB).")
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="Only these variants, e.g. fp32 (repeat; default all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Pick a model per device: the most accurate (greedy) vs the best within budget and
    tolerance (advanced). Reads --results FILE, else the controller's stored results."""
    with errors_as_exit():
        policy = Policy(budget_ms, max_acc_drop, mode.value, objective.value, memory_mb)
        grouped = _from_file(results, device) if results else _from_store(device)
        report = select_fleet(grouped, policy, variants=variant or None)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        render(report)
