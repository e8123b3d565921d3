"""`edgefleet bench-fleet MODEL... --controller URL`: benchmark on the devices themselves.

The controller runs playbooks/bench.yml in the runtime image on each targeted device (POST
/api/benchmarks/run) and stores every host's rows; this command starts that job, shows its
progress, and prints what was stored per device. Measuring here instead is `edgefleet bench`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from controller.cli import remote, runtime
from controller.cli.runtime import EXIT_FAILED, errors_as_exit

out = runtime.out
err = runtime.err
ACTIVE = ("queued", "running")


def _extra_vars(models: list[str], iterations: int, variants: list[str] | None,
                input_size: int | None, warmup: int) -> dict[str, Any]:
    extra: dict[str, Any] = {"edgefleet_bench_models": models,
                             "edgefleet_bench_iterations": iterations,
                             "edgefleet_bench_extra_args": ["--warmup", str(warmup)]}
    if variants:
        extra["edgefleet_bench_variants"] = variants
    if input_size:
        extra["edgefleet_bench_extra_args"] += ["--input-size", str(input_size)]
    return extra


def _results_table(url: str, job: dict[str, Any]) -> Table:
    table = Table(title=f"stored by job {job['id']}")
    for col in ("device", "status", "model", "variant", "p50 ms", "e2e p50 ms", "emulated"):
        table.add_column(col)
    for host in job["hosts"]:
        rows = remote.get(url, f"/api/benchmarks?device={host['host']}&limit=5000")
        mine = [r for r in rows if r.get("job_id") == job["id"]]
        if not mine or host["status"] not in ("ok", "changed"):
            table.add_row(host["host"], host["status"], "-", "-", "-", "-",
                          host.get("msg") or "")
            continue
        for r in mine:
            table.add_row(host["host"], host["status"], r["model"], r["variant"],
                          f"{r['latency_ms']['p50']:.1f}", f"{r['e2e_latency_ms']['p50']:.1f}",
                          "yes" if r.get("emulated") else "no")
    return table


def bench_fleet(
    models: Annotated[list[str], typer.Argument(help="Zoo models, e.g. resnet18 mobilenet_v2.")],
    controller: Annotated[str, typer.Option(help="The controller (http://HOST:8080; token "
                                                 "from EDGEFLEET_API_TOKEN).")],
    limit: Annotated[str | None, typer.Option(help="Ansible host pattern (default all).")] = None,
    iterations: Annotated[int, typer.Option(help="Timed iterations per row.")] = 100,
    warmup: Annotated[int, typer.Option(help="Untimed warm-up iterations.")] = 5,
    variant: Annotated[list[str] | None, typer.Option(help="Variant (repeat; default all "
                                                           "each device supports).")] = None,
    input_size: Annotated[int | None, typer.Option(help="Override the card's input size.")]
    = None,
    timeout_s: Annotated[int, typer.Option(help="Give up waiting after this long.")] = 3600,
) -> None:
    """Benchmark zoo models on the devices (in the runtime image) and store the results."""
    with errors_as_exit():
        url = remote.check_url(controller)
        body = {"limit": limit, "timeout_s": timeout_s,
                "extra_vars": _extra_vars(models, iterations, variant, input_size, warmup)}
        job = remote.post(url, "/api/benchmarks/run", body)
        with err.status(f"bench job {job['id']} queued") as status:
            def show(j: dict[str, Any]) -> None:
                done = sum(h["status"] not in ACTIVE for h in j["hosts"])
                status.update(f"bench job {j['id']} {j['status']}: {done}/{len(j['hosts'])} "
                              "host(s) finished")
            job = remote.follow(url, f"/api/jobs/{job['id']}", lambda j: j["status"] in ACTIVE,
                                timeout_s, show, f"bench job {job['id']}")
        # The controller stores each host's rows when the job ends (a moment after).
        collected = remote.post(url, f"/api/benchmarks/jobs/{job['id']}/collect", {})
    out.print(_results_table(url, job))
    out.print(f"bench job {job['id']} · {job['status']} · stored "
              f"{collected.get('stored', 0)} result(s)", highlight=False)
    if job["status"] != "successful":
        raise typer.Exit(EXIT_FAILED)
