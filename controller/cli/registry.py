"""`edgefleet registry ls|verify|build`: model images by architecture and task.

Exit codes: 0 found/done, 1 no matching image (the build plan is printed), 2 any error
(registry down, auth refused, bad arguments) with a one-line reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from controller.cli import runtime
from controller.cli.runtime import EXIT_FAILED, errors_as_exit
from controller.images.runtime import ARCHES, build_runtime
from controller.lab.config import DEFAULT_CACHE_DIR
from controller.registry_service import service
from controller.registry_service.settings import RegistrySettings

app = typer.Typer(help="Model images in an OCI registry: list, verify, build.",
                  no_args_is_help=True)
out = runtime.out

Url = Annotated[str | None, typer.Option(help="Registry URL (default $EDGEFLEET_REGISTRY_URL).")]
User = Annotated[str | None, typer.Option(
    "--username", help="Registry user (password from $EDGEFLEET_REGISTRY_PASSWORD).")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _settings(url: str | None, username: str | None) -> RegistrySettings:
    return RegistrySettings.from_env(url=url, username=username)


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


@app.command("ls")
def ls(url: Url = None, username: User = None, as_json: Json = False) -> None:
    """Repositories and tags with their platforms and model metadata."""
    with errors_as_exit(), _settings(url, username).client() as client:
        rows = service.list_images(client)
    if as_json:
        _dump(rows)
        return
    table = Table(title=f"{client.host} · {len(rows)} image(s)")
    for col in ("repository", "tag", "platforms", "task", "model", "version", "accel", "digest"):
        table.add_column(col, overflow="fold")  # folded, never cut: the digest is the point
    for r in rows:
        table.add_row(r["repo"], r["tag"], ", ".join(r["platforms"]), r["task"] or "-",
                      r["model"] or "-", r["version"] or "-", r["accelerator"] or "-",
                      r["digest"])
    out.print(table)


@app.command("verify")
def verify(
    arch: Annotated[str, typer.Option(help="Device arch: uname -m or OCI (arm64, arm/v7).")],
    task: Annotated[str, typer.Option(help="Task, matched exactly (e.g. image-classification).")],
    model: Annotated[str | None, typer.Option(help="Model (default: any for the task).")] = None,
    version: Annotated[str | None, typer.Option(help="Version tag (default: highest).")] = None,
    url: Url = None,
    username: User = None,
    as_json: Json = False,
) -> None:
    """Exit 0 with a digest-pinned pull reference, or 1 with the build plan."""
    with errors_as_exit(), _settings(url, username).client() as client:
        result = service.verify(client, arch, task, model, version)
    if as_json:
        _dump(result.as_dict())
    elif result.found:
        f = result.found
        out.print(f"[green]found[/] {f.repo}:{f.tag} for {f.platform}")
        print(f.pinned)
    else:
        plan = result.plan or {}
        out.print(f"[yellow]no image[/] for task {task} on {result.platform}")
        for miss in plan.get("reasons", []):
            out.print(f"  {miss['reason']}: {miss['detail']}", highlight=False)
        if plan.get("action") == "build":
            out.print(f"plan: build {plan['repo']}:{plan['tag'] or '<version>'} for "
                      f"{plan['platform']} (edgefleet registry build ...)", highlight=False)
        else:
            out.print("plan: choose a model name (--model) and build it", highlight=False)
    if not result.found:
        raise typer.Exit(EXIT_FAILED)


@app.command("build")
def build(
    arch: Annotated[str, typer.Option(help="Target platform (arm64, amd64, arm/v7, aarch64...).")],
    task: Annotated[str, typer.Option(help="Task label (zoo models: image-classification).")],
    model: Annotated[str, typer.Option(help="Zoo model (repository models/<task>/<model>).")],
    weights: Annotated[Path | None, typer.Option(
        help="state_dict file to package (default: seeded random weights).")] = None,
    version: Annotated[str, typer.Option(help="Version tag.")] = "1.0",
    variant: Annotated[str, typer.Option(help="fp32, int8-dynamic, bf16 or fp16.")] = "fp32",
    input_size: Annotated[int | None, typer.Option(
        help="Crop fed to the network (default: the model card's).")] = None,
    base: Annotated[str | None, typer.Option(
        help="Multi-arch runtime base REPO:TAG in the same registry "
             "(default $EDGEFLEET_REGISTRY_BASE).")] = None,
    accelerator: Annotated[str, typer.Option(help="cpu, cuda or tensorrt (a label).")] = "cpu",
    url: Url = None,
    username: User = None,
    as_json: Json = False,
) -> None:
    """Package a zoo model on the runtime base for ARCH (no daemon) and push it, keeping
    other platforms; the image's default command serves the model."""
    settings = _settings(url, username)
    with errors_as_exit(), settings.client() as client, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=Console(stderr=True), transient=as_json,
    ) as progress:
        step = progress.add_task("building", total=None)
        result = service.build(
            client, arch=arch, task=task, model=model, version=version, weights=weights,
            base=base or settings.base, accelerator=accelerator, variant=variant,
            input_size=input_size,
            progress=lambda msg: progress.update(step, description=msg),
        )
    if as_json:
        _dump(result)
        return
    out.print(f"[green]pushed[/] {result['repo']}:{result['tag']} ({result['platform']}), "
              f"also tagged {result['platform_tag']}")
    print(result["pinned"])


@app.command("runtime")
def runtime(
    arch: Annotated[list[str] | None, typer.Option(
        help=f"Platform to build, repeatable (default: {', '.join(ARCHES)}).")] = None,
    cache_dir: Annotated[Path, typer.Option(
        help="Where the rootfs and site-packages caches live.")] = DEFAULT_CACHE_DIR,
    url: Url = None,
    username: User = None,
    as_json: Json = False,
) -> None:
    """Build and push the runtime base (Debian, PyTorch CPU, device packages) per arch.

    Needs root; the first build per arch takes minutes (debootstrap, pip), later ones seconds."""
    with errors_as_exit(), _settings(url, username).client() as client, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=Console(stderr=True), transient=as_json,
    ) as progress:
        step = progress.add_task("checking", total=None)
        results = build_runtime(client, arch or ARCHES, cache_dir,
                                lambda msg: progress.update(step, description=msg))
    if as_json:
        _dump([r.as_dict() for r in results])
        return
    for r in results:
        uploaded = sum(layer.size for layer in r.layers if layer.uploaded)
        out.print(f"[green]pushed[/] {r.ref} ({r.platform}, torch {r.torch}, python {r.python}), "
                  f"{r.image_size / 1e6:.0f} MB, {uploaded / 1e6:.0f} MB uploaded, "
                  f"also tagged {r.platform_tag}", highlight=False)
        if r.missing_packages:
            out.print(f"  [yellow]without[/] {', '.join(r.missing_packages)} "
                      "(not in this checkout)", highlight=False)
        print(r.pinned)
