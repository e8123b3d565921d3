"""Model-registry benchmarks against a real distribution 2.8 registry on loopback.

1. Verify 200 (model, arch, task) combinations: our client (one connection, full Accept,
   index -> platform manifest -> config labels) vs a loop of `skopeo inspect` processes
   (the usual scripted way). Target: at least 10x.
2. Build + push one model image for a platform: our daemonless builder (model layer on the
   per-arch base already in the registry, cross-repo mount) vs buildah from scratch + copy +
   commit + push (vfs), on the same content.

Both sides run in the same process run; compare the ratios (the machine is shared):
    .venv/bin/python benchmarks/registry.py [--combos 200] [--weights-mb 20]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.build import Builder, BuildRequest  # noqa: E402
from registry.client import RegistryClient  # noqa: E402
from registry.platforms import parse  # noqa: E402
from registry.verify import Verifier  # noqa: E402
from tests.registry.conftest import push_busybox_bases  # noqa: E402
from tests.registry.images import BASE_REF, WEIGHTS, busybox_for, busybox_rootfs  # noqa: E402
from tests.registry.server import running_registry  # noqa: E402

out = Console()
TASKS = ["image-classification", "object-detection", "segmentation", "pose", "ocr"]
ARCHES = ["arm64", "amd64"]


def combos(n: int) -> list[tuple[str, str, str]]:
    models = [f"m{i:02d}" for i in range(max(1, n // (len(TASKS) * len(ARCHES))))]
    return list(itertools.islice(itertools.product(models, ARCHES, TASKS), n))


def seed(url: str, work: Path, wanted: list[tuple[str, str, str]]) -> None:
    weights = work / "w.txt"
    weights.write_text(WEIGHTS)
    with RegistryClient(url) as client, Progress(console=out, transient=True) as bar:
        push_busybox_bases(client, work)
        step = bar.add_task("seeding model images", total=len(wanted))
        for model, arch, task in wanted:
            Builder(client).build(BuildRequest(task, model, "1.0", parse(arch), weights, BASE_REF))
            bar.advance(step)


def bench_verify(url: str, host: str, wanted: list[tuple[str, str, str]]) -> tuple[float, float]:
    start = time.perf_counter()
    with RegistryClient(url) as client:
        results = Verifier(client).verify_many(
            (task, parse(arch), model, "1.0") for model, arch, task in wanted)
        assert all(r.found for r in results)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    for model, arch, task in wanted:
        raw = subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", "--override-os", "linux",
             "--override-arch", arch, f"docker://{host}/models/{task}/{model}:1.0"],
            check=True, capture_output=True, text=True).stdout
        info = json.loads(raw)
        assert info["Architecture"] == arch and info["Labels"]["io.edgefleet.task"] == task
    return ours, time.perf_counter() - start


def bench_build(url: str, host: str, work: Path, mb: int) -> tuple[float, float]:
    weights = work / "model.bin"
    weights.write_bytes(os.urandom(mb * 1024 * 1024))
    platform = parse("arm64")
    start = time.perf_counter()
    with RegistryClient(url) as client:
        Builder(client).build(BuildRequest("bench", "ours", "1.0", platform, weights, BASE_REF))
    ours = time.perf_counter() - start

    rootfs = busybox_rootfs(work / "buildah-rootfs", busybox_for(platform))
    store = work / "buildah"
    b = ["buildah", "--storage-driver", "vfs", "--root", str(store / "root"),
         "--runroot", str(store / "run")]
    start = time.perf_counter()
    ctr = subprocess.run([*b, "from", "scratch"], check=True, capture_output=True,
                         text=True).stdout.strip()
    subprocess.run([*b, "copy", ctr, f"{rootfs}/", "/"], check=True, capture_output=True)
    subprocess.run([*b, "copy", ctr, str(weights), "/models/theirs/1.0/model.bin"], check=True,
                   capture_output=True)
    subprocess.run([*b, "config", "--arch", "arm64", "--os", "linux",
                    "--label", "io.edgefleet.task=bench", "--label", "io.edgefleet.model=theirs",
                    "--env", "MODEL_PATH=/models/theirs/1.0/model.bin", ctr],
                   check=True, capture_output=True)
    image = subprocess.run([*b, "commit", ctr], check=True, capture_output=True,
                           text=True).stdout.strip().splitlines()[-1]
    subprocess.run([*b, "push", "--tls-verify=false", image,
                    f"docker://{host}/models/bench/theirs:1.0-linux-arm64"],
                   check=True, capture_output=True)
    theirs = time.perf_counter() - start
    subprocess.run([*b, "rm", ctr], capture_output=True)
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--combos", type=int, default=200)
    parser.add_argument("--weights-mb", type=int, default=20)
    args = parser.parse_args()
    for tool in ("docker-registry", "skopeo", "buildah"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not installed (scripts/bootstrap.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with running_registry(work / "registry") as server:
            wanted = combos(args.combos)
            seed(server.url, work, wanted)
            out.print(f"verifying {len(wanted)} combinations…")
            v_ours, v_skopeo = bench_verify(server.url, server.netloc, wanted)
            out.print(f"building one {args.weights_mb} MiB model image…")
            b_ours, b_buildah = bench_build(server.url, server.netloc, work, args.weights_mb)
    table = Table(title="model registry (distribution 2.8 on loopback, same run)")
    for col in ("benchmark", "ours", "baseline", "ratio"):
        table.add_column(col)
    table.add_row(f"verify {len(wanted)} combos", f"{v_ours:.2f} s",
                  f"{v_skopeo:.2f} s (skopeo inspect loop)", f"{v_skopeo / v_ours:.1f}x")
    table.add_row(f"build+push {args.weights_mb} MiB arm64", f"{b_ours:.2f} s",
                  f"{b_buildah:.2f} s (buildah vfs)", f"{b_buildah / b_ours:.1f}x")
    out.print(table)


if __name__ == "__main__":
    main()
