"""Per-arch runnable base images made here (nothing can be pulled): a static busybox rootfs.

The amd64 busybox is the installed busybox-static package's; the arm64 one is the
busybox-static:arm64 binary scripts/bootstrap.sh fetched into a cache."""

from __future__ import annotations

import shutil
from pathlib import Path

from registry.platforms import Platform, parse

BUSYBOX = {parse("amd64"): Path("/bin/busybox"),
           parse("arm64"): Path("/var/cache/edgefleet/busybox-arm64/busybox")}
BASE_REF = "runtime/busybox:1"

PREDICT = """#!/bin/sh
# Test "runtime": a linear classifier in awk over the model file at $MODEL_PATH.
# Input: numbers on the command line (default: 1 2 3). Output: one JSON line.
set -eu
[ -r "${MODEL_PATH:-}" ] || { echo '{"error":"no model"}'; exit 3; }
exec awk -v input="${*:-1 2 3}" -v arch="$(uname -m)" '
  BEGIN { n = split(input, x, " ") }
  /^[a-z]/ { label = $1; s = 0; for (i = 2; i <= NF && i - 1 <= n; i++) s += $i * x[i - 1];
             if (best == "" || s > bestv) { best = label; bestv = s } }
  END { if (best == "") exit 4;
        printf "{\\"label\\":\\"%s\\",\\"score\\":%s,\\"arch\\":\\"%s\\"}\\n", best, bestv, arch }
' "$MODEL_PATH"
"""


def busybox_rootfs(dest: Path, busybox: Path) -> Path:
    """A minimal runnable rootfs: static busybox + sh/awk/uname links + the predict script."""
    (dest / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    for applet in ("sh", "awk", "uname", "cat", "sha256sum", "echo", "ls"):
        (dest / "bin" / applet).symlink_to("busybox")
    (dest / "usr" / "local" / "bin").mkdir(parents=True, exist_ok=True)
    script = dest / "usr" / "local" / "bin" / "predict"
    script.write_text(PREDICT)
    script.chmod(0o755)
    (dest / "tmp").mkdir(exist_ok=True)
    return dest


WEIGHTS = "cat 1 0 0\ndog 0 1 0\nbird 0 0 1\n"


def busybox_for(platform: Platform) -> Path:
    path = BUSYBOX[platform]
    assert path.is_file(), f"{path} missing: run scripts/bootstrap.sh as root"
    return path
