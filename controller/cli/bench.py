"""`edgefleet bench MODEL...`: latency, memory, compute, energy and accuracy (the model card's,
or measured with --eval-dir) of zoo models on this machine, per variant, as a table or
(`--json`) the list that `edgefleet select` and the controller read. torch is imported only
when the command runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from controller.cli import remote, runtime
from controller.cli.runtime import errors_as_exit
from controller.errors import ControllerError

out = runtime.out
err = runtime.err


class BenchInputError(ControllerError):
    """Bad benchmark input (unknown model, weights that don't fit, unsupported variant)."""


def _fmt(v: float | None, pattern: str) -> str:
    return "-" if v is None else pattern.format(v)


def table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="model benchmarks (latency ms; accuracy source below)")
    cols = ("model", "variant", "batch", "thr", "p50", "p90", "p99", "e2e p50", "img/s",
            "size MB", "GMACs", "peak MB", "cpu %", "J/inf", "top-1", "flags")
    for c in cols:
        t.add_column(c, justify="left" if c in ("model", "variant", "flags") else "right")
    for r in rows:
        lat, e2e = r["latency_ms"], r["e2e_latency_ms"]
        flags = []
        if r["throttled"]:
            flags.append(f"throttled×{r['throttled_samples']}")
        if r["energy_estimated"]:
            flags.append("energy est.")
        if lat["n"] < 100:
            flags.append(f"n={lat['n']}<100: p99≈max")
        t.add_row(r["model"], r["variant"], str(r["batch"]), str(r["threads"]),
                  f"{lat['p50']:.1f}", f"{lat['p90']:.1f}", f"{lat['p99']:.1f}",
                  f"{e2e['p50']:.1f}", f"{r['throughput_ips']:.1f}", f"{r['size_mb']:.1f}",
                  f"{r['macs'] / 1e9:.3f}", _fmt(r["peak_memory_mb"], "{:.0f}"),
                  f"{r['cpu_util']:.0f}", _fmt(r["energy_j"], "{:.3g}"),
                  f"{r['accuracy_top1']:.2f}", " ".join(flags))
    return t


def _priced(rows: list[dict[str, Any]], zone: str) -> list[dict[str, Any]]:
    """carbon_g per row, priced at the hour each row was measured (as the controller does)."""
    from controller.benchmarks.repository import priced
    from controller.benchmarks.schema import BenchResult
    from controller.carbon import CarbonIntensity
    from controller.carbon.service import InvalidZone, check_zone

    try:
        check_zone(zone)
    except InvalidZone as exc:
        raise BenchInputError(str(exc)) from None
    carbon = CarbonIntensity()
    try:
        return [{**r, **priced(carbon, BenchResult.model_validate(r), zone)} for r in rows]
    finally:
        carbon.close()


def bench(
    models: Annotated[list[str], typer.Argument(help="Zoo models, e.g. resnet18 resnet50.")],
    iterations: Annotated[int, typer.Option(help="Timed iterations per row.")] = 300,
    warmup: Annotated[int, typer.Option(help="Untimed warm-up iterations.")] = 20,
    batch: Annotated[list[int] | None, typer.Option(help="Batch size (repeat for several).")]
    = None,
    threads: Annotated[list[int] | None, typer.Option(help="torch threads (repeat; default "
                                                          "min(2, CPUs)).")] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    variant: Annotated[list[str] | None, typer.Option(
        help="fp32, int8-dynamic, bf16, fp16 (repeat; default: all the device supports).")]
    = None,
    weights: Annotated[Path | None, typer.Option(help="Local state_dict (.pth) for the one "
                                                      "model; default random weights.")] = None,
    trace: Annotated[Path | None, typer.Option(help="Write a torch profiler Chrome trace.")]
    = None,
    e2e_iterations: Annotated[int | None, typer.Option(help="End-to-end iterations "
                                                            "(default iterations/3).")] = None,
    throughput_batch: Annotated[int, typer.Option(help="Larger batch for throughput "
                                                       "(0 = skip).")] = 8,
    input_size: Annotated[int | None, typer.Option(help="Override the card's input size.")]
    = None,
    eval_dir: Annotated[Path | None, typer.Option(
        help="Labelled images (one sub-directory per class, sorted names = class indices): "
             "measure top-1/top-5 of each variant instead of quoting the model card.")]
    = None,
    eval_limit: Annotated[int | None, typer.Option(help="Score at most this many "
                                                        "--eval-dir images.")] = None,
    zone: Annotated[str | None, typer.Option(help="Grid zone (e.g. DE, KR) to price carbon "
                                                   "per inference; Electricity Maps with "
                                                   "EDGEFLEET_ELECTRICITYMAPS_TOKEN, else the "
                                                   "offline table, marked.")] = None,
    output: Annotated[Path | None, typer.Option(help="Also write the JSON list here.")] = None,
    controller: Annotated[str | None, typer.Option(
        help="Store the results on this controller (http://HOST:8080; token from "
             "EDGEFLEET_API_TOKEN), so the dashboard's Models page and selection see them.")]
    = None,
    device_name: Annotated[str | None, typer.Option(
        "--device-name", help="Device the results are stored under (default: this host's "
                              "name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result list as JSON.")]
    = False,
) -> None:
    """Benchmark zoo models here: latency (p50/p90/p99), e2e, throughput, memory, energy."""
    with errors_as_exit():
        try:
            from bench.errors import BenchError
            from bench.runner import BenchConfig, Runner
        except ImportError as exc:
            raise BenchInputError(f"the benchmark needs torch and Pillow (the project's "
                                  f"bench extra; pip install torch==2.13.0 pillow): {exc}"
                                  ) from None
        config = BenchConfig(models=models, iterations=iterations, warmup=warmup,
                             batches=batch or [1], device=device, variants=variant,
                             weights=weights, trace=trace, e2e_iterations=e2e_iterations,
                             throughput_batch=throughput_batch, input_size=input_size,
                             eval_dir=eval_dir, eval_limit=eval_limit)
        if threads:
            config.threads = threads
        if controller is not None:
            controller = remote.check_url(controller)  # before minutes of measuring, not after
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("starting", total=None)

            def report(what: str, done: int, total: int) -> None:
                progress.update(task, description=what, completed=done, total=total)

            try:
                rows = Runner(config, report).run()
            except BenchError as exc:
                raise BenchInputError(str(exc)) from None
        if zone is not None:
            rows = _priced(rows, zone)
        if controller is not None:
            name = device_name or rows[0]["host"]
            stored = remote.post(controller, "/api/benchmarks",
                                 {"device": name, "zone": zone, "results": rows})
            err.print(f"stored {stored['stored']} result(s) for device {name} on {controller}")
    text = json.dumps(rows, indent=2)
    if output is not None:
        output.write_text(text + "\n")
    if as_json:
        print(text)
    else:
        out.print(table(rows))
        for source in dict.fromkeys(r["accuracy_source"] for r in rows):
            out.print(f"accuracy: {source}")
