"""`edgefleet experiment`: the seed experiment on a running controller's fleet.

Starts it (POST /api/experiments, operator token from EDGEFLEET_API_TOKEN), follows it with
a live progress line, then prints the table per phase (normal, under load), the summary
with pass/fail and whether the advanced choice adapted to the load; --json prints the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from controller.cli import remote, runtime
from controller.cli.runtime import EXIT_FAILED, errors_as_exit

out = runtime.out
POLL_S = 2.0


class Mode(StrEnum):
    points = "points"
    relative = "relative"


class Objective(StrEnum):
    latency = "latency"
    energy = "energy"
    accuracy = "accuracy"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _choice(c: dict[str, Any] | None) -> str:
    if c is None:
        return "none fits"
    kind = "measured" if c["accuracy_kind"] == "measured" else "card"
    return f"{c['label']} · {c['accuracy_top1']:.2f}% ({kind})"


def _drop(r: dict[str, Any], mode: str) -> str:
    d = r["accuracy_drop"]
    if d is None:
        return "-"
    return f"{d:.2f} pt" if mode == "points" else f"{d:.1%}"


def phase_table(phase: dict[str, Any], mode: str) -> Table:
    """One phase as the seed's table: t in ms, the device's own median e2e latency."""
    load = phase.get("load")
    title = phase["name"] + (f" (load: {load['workers']} workers on {load['device']})"
                             if load else "")
    t = Table(title=title, title_justify="left")
    for col in ("device", "greedy", "t_b ms", "advanced", "t_a ms", "saving", "acc. drop",
                "slowdown"):
        t.add_column(col)
    for r in phase["rows"]:
        t.add_row(r["device"], _choice(r["greedy"]), _ms(r["t_b_ms"]),
                  _choice(r["advanced"]), _ms(r["t_a_ms"]), _pct(r["saving"]), _drop(r, mode),
                  f"x{r['status']['load_slowdown']:.2f}")
    return t


def summary_line(summary: dict[str, Any] | None) -> Text:
    if not summary:
        return Text("no device measured yet", style="dim")
    verdict = "PASS" if summary["passed"] else "FAIL"
    drop = summary["accuracy_drop"]
    limit = summary["max_acc_drop"]
    unit = "points" if summary["acc_drop_mode"] == "points" else "of greedy's accuracy"
    shown = "-" if drop is None else (f"{drop:.2f}" if unit == "points" else f"{drop:.1%}")
    bound = f"{limit:g}" if unit == "points" else f"{limit:.0%}"
    return Text.assemble(
        f"saving rate {_pct(summary['saving_rate'])} (>= {summary['min_saving']:.0%}) · "
        f"largest accuracy drop {shown} {unit} (<= {bound}) · ",
        (verdict, "bold green" if summary["passed"] else "bold red"))


def render(record: dict[str, Any]) -> Group:
    mode = record["request"]["mode"]
    parts: list[Any] = []
    for phase in record["phases"]:
        parts += [phase_table(phase, mode), summary_line(phase["summary"])]
        parts += [Text(f"{r['device']}: {r['error'] or r['reason']}", style="yellow")
                  for r in phase["rows"] if r["error"] or r["reason"]]
    if a := record.get("adaptation"):
        ok = a["advanced_changed"] and a["greedy_unchanged"]
        parts.append(Text(
            f"under load on {a['device']}: advanced {a['advanced'][0]} -> {a['advanced'][1]},"
            f" greedy {a['greedy'][0]} -> {a['greedy'][1]}: "
            + ("adapted" if ok else "did not adapt"), style="green" if ok else "red"))
    if record["error"]:
        parts.append(Text(f"failed: {record['error']}", style="red"))
    return Group(*parts)


def follow(url: str, exp_id: str, timeout_s: float,
           on_update: Callable[[dict], None]) -> dict[str, Any]:
    """Poll the record until it finishes (bounded by timeout_s)."""
    return remote.follow(url, f"/api/experiments/{exp_id}", lambda r: r["status"] == "running",
                         timeout_s, on_update, f"experiment {exp_id}", poll_s=POLL_S)


def experiment(
    budget_ms: Annotated[float, typer.Option("--budget-ms", help="p90 latency budget.")],
    max_acc_drop: Annotated[float, typer.Option(
        "--max-acc-drop", help="Accuracy tolerance: points (0-100) or a fraction (0-1).")],
    controller: Annotated[str, typer.Option("--controller", help="http://HOST:PORT")],
    mode: Annotated[Mode, typer.Option("--acc-drop-mode")] = Mode.relative,
    objective: Annotated[Objective, typer.Option(
        "--objective", help="Advanced rank: lowest latency, energy, or most accurate.")
    ] = Objective.latency,
    limit: Annotated[str | None, typer.Option("--limit", help="Hosts or group.")] = None,
    images: Annotated[int, typer.Option("--images", help="Requests per model.")] = 10,
    load_device: Annotated[str | None, typer.Option(
        "--load-device", help="Repeat under a background CPU load on this host.")] = None,
    load_workers: Annotated[int | None, typer.Option(
        "--load-workers", help="Busy workers (default 4 per core).")] = None,
    timeout_s: Annotated[float, typer.Option("--timeout-s", help="Stop following after.")
                         ] = 3600,
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
) -> None:
    """Greedy vs advanced, deployed and measured on each device with its live status."""
    body = {"budget_ms": budget_ms, "max_acc_drop": max_acc_drop, "acc_drop_mode": mode.value,
            "objective": objective.value, "limit": limit, "images": images,
            "load_device": load_device, "load_workers": load_workers}
    with errors_as_exit():
        started = remote.post(controller, "/api/experiments", body)
        if as_json:
            record = follow(controller, started["id"], timeout_s, lambda _r: None)
        else:
            with Live(console=out, transient=True) as live:
                record = follow(controller, started["id"], timeout_s,
                                lambda r: live.update(Group(render(r), Text(r["step"],
                                                                              style="cyan"))))
    if as_json:
        print(json.dumps(record, indent=2))
    else:
        out.print(render(record))
    if record["status"] != "succeeded":
        raise typer.Exit(EXIT_FAILED)
