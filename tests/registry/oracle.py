"""skopeo as the independent oracle of what is really in the registry."""

from __future__ import annotations

import json
import subprocess


def skopeo(*args: str, creds: str | None = None) -> dict:
    cmd = ["skopeo", "inspect", "--tls-verify=false", *args]
    if creds:
        cmd[2:2] = ["--creds", creds]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)


def raw(ref: str, **kw) -> dict:
    return skopeo("--raw", f"docker://{ref}", **kw)


def config(ref: str, arch: str, **kw) -> dict:
    return skopeo("--config", "--override-os", "linux", "--override-arch", arch,
                  f"docker://{ref}", **kw)


def digest(ref: str, arch: str, **kw) -> str:
    return skopeo("--override-os", "linux", "--override-arch", arch, f"docker://{ref}",
                  **kw)["Digest"]
