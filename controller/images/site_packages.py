"""The runtime's Python packages per arch: a pinned `pip install --target`, cached.

Every requirement is pinned and installed with --no-deps, so the set is exactly the list
below (same site dir for the same key) and pip can't pull a CUDA torch: for amd64 the CPU
wheel (`+cpu`, from this machine's find-links), for arm64 PyPI's CPU aarch64 wheel. --no-deps
also matters for a foreign arch: pip evaluates torch's `platform_machine == "x86_64"` CUDA
markers against this machine, not the target."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from controller.images.errors import ImageBuildError
from controller.lab import rootfs
from controller.lab.proc import run

SITE_DIR = "/opt/edgefleet/site"  # where the layer puts it in the image
PYTHON = "3.11"  # Debian bookworm's python3; the wheels must be cp311
# Bump when the install recipe (flags, post-processing) changes.
RECIPE = 1

# Pure-Python deps of torch, image decoding and numeric arrays, and the agent's own deps.
COMMON = (
    "filelock==4.3.2", "typing-extensions==4.16.0", "sympy==1.14.0", "mpmath==1.3.0",
    "networkx==3.6.1", "jinja2==3.1.6", "MarkupSafe==3.0.4", "fsspec==2026.9.0",
    "numpy==2.4.6", "pillow==13.0.0",
    "prometheus_client==0.26.0", "nvidia-ml-py==13.615.71", "zeroconf==0.152.1",
    "ifaddr==0.2.0",
)


@dataclass(frozen=True)
class Recipe:
    """What to install for one arch: torch's exact version and the wheel platform tags."""

    torch: str
    platforms: tuple[str, ...]

    def requirements(self) -> tuple[str, ...]:
        return (f"torch=={self.torch}", *COMMON)

    def key(self) -> str:
        """Cache key: changes with any pin, tag, the target Python or the recipe."""
        compiled = sys.version_info[:2] == _python_tuple()
        blob = json.dumps([RECIPE, PYTHON, compiled, self.platforms, self.requirements()])
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


RECIPES = {
    # The CPU build in /opt/wheels; an unpinned resolve would pull GBs of CUDA.
    "amd64": Recipe("2.13.0+cpu", ("manylinux_2_28_x86_64", "manylinux2014_x86_64")),
    # The newest CPU aarch64 wheel that installs here (manylinux_2_28, ~104 MB).
    "arm64": Recipe("2.9.1", ("manylinux_2_28_aarch64", "manylinux2014_aarch64")),
}


def _python_tuple() -> tuple[int, int]:
    major, minor = PYTHON.split(".")
    return int(major), int(minor)


def recipe_for(arch: str) -> Recipe:
    try:
        return RECIPES[arch]
    except KeyError:
        raise ImageBuildError(f"no runtime recipe for {arch!r} "
                              f"(supported: {', '.join(sorted(RECIPES))})") from None


def site_name(arch: str) -> str:
    return f"runtime-site-{arch}-{recipe_for(arch).key()}"


def ensure_site(cache_dir: Path, arch: str, progress: rootfs.Progress | None = None) -> Path:
    """The cached site dir for `arch`, pip-installed first when missing (a minute or two)."""
    recipe = recipe_for(arch)
    say = progress or (lambda _msg: None)

    def build(partial: Path, log: Path) -> None:
        say(f"{arch}: pip install torch=={recipe.torch} and {len(COMMON)} more (log {log})")
        argv: list[str | Path] = [
            sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary=:all:",
            "--no-compile", "--target", partial, "--python-version", PYTHON,
            "--implementation", "cp", "--disable-pip-version-check", "--no-input",
        ]
        for tag in recipe.platforms:
            argv += ["--platform", tag]
        run([*argv, *recipe.requirements()], timeout=1800, log=log)
        # Console scripts carry this machine's interpreter in their shebang: useless there.
        shutil.rmtree(partial / "bin", ignore_errors=True)
        if sys.version_info[:2] == _python_tuple():
            say(f"{arch}: compiling bytecode")
            # Hash-based .pyc: reproducible (no mtimes) and valid for the image's python3
            # (same minor version; bytecode does not depend on the CPU). Paths as in the image.
            # Exit 1 only says some file is not 3.11 syntax (torch ships py312-only test
            # helpers): those can't be imported on 3.11 anyway. Anything else is a failure.
            done = run([sys.executable, "-m", "compileall", "-q", "-j", "0",
                        "--invalidation-mode", "checked-hash", "-s", partial, "-p", SITE_DIR,
                        partial], timeout=1800, log=log, check=False)
            if done.returncode not in (0, 1):
                raise ImageBuildError(f"{arch}: compileall failed (exit {done.returncode}, "
                                      f"see {log})")

    return rootfs.cached_dir(cache_dir, site_name(arch), build, progress)


def torch_version(site: Path) -> str:
    """torch's own `__version__` (e.g. 2.9.1+cpu), as `import torch` reports it in the image;
    read from torch/version.py, so no foreign-arch interpreter has to start."""
    path = site / "torch" / "version.py"
    try:
        text = path.read_text()
    except OSError:
        raise ImageBuildError(f"torch is not installed in {site}") from None
    found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    if not found:
        raise ImageBuildError(f"{path}: no __version__")
    return found.group(1)
