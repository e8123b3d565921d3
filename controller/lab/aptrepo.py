"""A tiny real Debian package in two versions, so lab upgrades change something observable."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from controller.lab.proc import run

DEMO_PACKAGE = "edgefleet-demo"
DEMO_VERSIONS = ("1.0", "1.1")

_CONTROL = """Package: {name}
Version: {version}
Architecture: all
Maintainer: edgefleet lab <lab@edgefleet.invalid>
Section: misc
Priority: optional
Description: edgefleet lab demo package
 Exists only so lab hosts have something to upgrade from the lab's own apt repository.
"""


def build_deb(version: str, outdir: Path) -> Path:
    """dpkg-deb an Architecture: all package that ships /usr/share/edgefleet-demo/VERSION."""
    outdir.mkdir(parents=True, exist_ok=True)
    deb = outdir / f"{DEMO_PACKAGE}_{version}_all.deb"
    with tempfile.TemporaryDirectory(prefix="edgefleet-deb-") as tmp:
        root = Path(tmp) / "pkg"
        (root / "DEBIAN").mkdir(parents=True)
        (root / "DEBIAN" / "control").write_text(
            _CONTROL.format(name=DEMO_PACKAGE, version=version)
        )
        share = root / "usr" / "share" / DEMO_PACKAGE
        share.mkdir(parents=True)
        (share / "VERSION").write_text(version + "\n")
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        run(["dpkg-deb", "--root-owner-group", "-b", root, deb])
    return deb


def build_repo(repo_dir: Path) -> Path:
    """A flat apt repository (`deb [trusted=yes] http://HOST:PORT/ ./`) with both versions."""
    if repo_dir.exists():
        shutil.rmtree(repo_dir)
    repo_dir.mkdir(parents=True)
    for version in DEMO_VERSIONS:
        build_deb(version, repo_dir)
    res = run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=repo_dir)
    (repo_dir / "Packages").write_text(res.stdout)
    return repo_dir
