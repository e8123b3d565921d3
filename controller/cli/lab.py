"""`edgefleet lab up|status|down`: a real SSH fleet on this machine for demos and tests."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from controller.cli import runtime
from controller.lab import fleet
from controller.lab.config import LabConfig
from controller.lab.errors import LabError

app = typer.Typer(
    help="Build and tear down a lab fleet of real SSH hosts on this machine.",
    no_args_is_help=True,
)
out = runtime.out

StateDir = Annotated[
    Path | None,
    typer.Option("--state-dir", help="Where the lab keeps its state (default $EDGEFLEET_LAB_DIR)."),
]


def _config(state_dir: Path | None, **kw: object) -> LabConfig:
    values = {k: v for k, v in kw.items() if v is not None}
    if state_dir is not None:
        values["state_dir"] = state_dir
    return LabConfig(**values)  # type: ignore[arg-type]


def _fail(exc: LabError) -> typer.Exit:
    runtime.err.print(f"[red]error:[/] {exc}", highlight=False)
    return typer.Exit(runtime.EXIT_BAD_INPUT)


@app.command()
def up(
    rpi: Annotated[int, typer.Option(help="Raspberry Pi hosts (arm64 under qemu).")] = 2,
    gpu: Annotated[int, typer.Option(help="GPU edge boxes (amd64).")] = 1,
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="Where to write the inventory.")
    ] = None,
    subnet: Annotated[str | None, typer.Option(help="Private IPv4 subnet for the bridge.")] = None,
    bridge: Annotated[str | None, typer.Option(help="Bridge interface name.")] = None,
    prefix: Annotated[str | None, typer.Option(
        help="Prefix of the hosts' network namespaces and links (two labs need two).")] = None,
    state_dir: StateDir = None,
) -> None:
    """Build the hosts, the bridge and the services they need; write an Ansible inventory."""
    cfg = _config(state_dir, subnet=subnet, bridge=bridge, prefix=prefix)
    with out.status("building lab…") as spinner:

        def say(msg: str) -> None:
            spinner.update(msg)
            out.log(msg, highlight=False)

        try:
            state = fleet.up(cfg, rpi, gpu, inventory, say)
        except LabError as exc:
            raise _fail(exc) from None
    out.print(f"[green]lab up:[/] {len(state.hosts)} hosts; inventory {state.inventory}")
    if state.arch_note:
        out.print(f"[bold red]WARNING:[/] {state.arch_note}")


@app.command()
def status(
    state_dir: StateDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Hosts, addresses, architectures and whether each is running. Exit 1 if any is down."""
    cfg = _config(state_dir)
    state, hosts, svcs = fleet.status(cfg)
    if state is None:
        out.print("no lab is up")
        raise typer.Exit(1)
    healthy = all(h.running and h.netns for h in hosts) and all(svcs.values())
    if as_json:
        doc = {
            "bridge": state.bridge,
            "subnet": state.subnet,
            "controller_address": state.bridge_address,
            "inventory": state.inventory,
            "arch_note": state.arch_note,
            "hosts": [asdict(h) for h in hosts],
            "services": svcs,
            "healthy": healthy,
        }
        print(json.dumps(doc, indent=2))
    else:
        table = Table(title=f"lab on {state.bridge} ({state.subnet})")
        for col in ("host", "group", "arch", "address", "state"):
            table.add_column(col)
        for h in hosts:
            ok = h.running and h.netns
            table.add_row(h.name, h.group, h.arch, h.address,
                          "[green]running[/]" if ok else "[red]down[/]")
        out.print(table)
        out.print("services: " + ", ".join(
            f"{n} [{'green' if a else 'red'}]{'up' if a else 'down'}[/]" for n, a in svcs.items()
        ))
        out.print(f"inventory: {state.inventory}")
        if state.arch_note:
            out.print(f"[bold red]WARNING:[/] {state.arch_note}")
    if not healthy:
        raise typer.Exit(1)


@app.command()
def down(state_dir: StateDir = None) -> None:
    """Remove every namespace, mount, process, link and file the lab made."""
    cfg = _config(state_dir)
    try:
        removed = fleet.down(cfg, say=lambda m: out.log(m, highlight=False))
    except LabError as exc:
        raise _fail(exc) from None
    out.print(f"lab down: removed {len(removed)} item(s)" if removed else "no lab was up")
