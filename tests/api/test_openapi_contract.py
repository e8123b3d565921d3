"""The OpenAPI document is the contract: schemathesis (every check) against a real server.

`edgefleet controller serve` on loopback with an operator token, on the small test project
(real ansible-playbook, local connection), so jobs the fuzzer starts really run. Sized to stay
bounded: few examples per operation, a fixed seed, no example database. What a check is
told to expect beyond its default is in tests/api/schemathesis.toml, each with its reason;
no operation and no check is excluded.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import stop_processes

VENV_BIN = Path(sys.executable).parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 10
SEED = 14


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, operator token) of a real server; 127.0.0.1, one of HostGuard's names."""
    home = tmp_path_factory.mktemp("contract-home")
    token = secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEFLEET_")}
    env.update(EDGEFLEET_HOME=str(home), EDGEFLEET_API_TOKEN=token,
               EDGEFLEET_PROJECT_DIR=str(project))
    with (home / "server.log").open("w") as log:
        proc = subprocess.Popen(
            [str(VENV_BIN / "edgefleet"), "controller", "serve", "--host", "127.0.0.1",
             "--port", url.rsplit(":", 1)[1], "--inventory", str(project / "inventory.ini")],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("controller did not start: " + (home / "server.log").read_text())
            time.sleep(0.2)
        yield url, token
    finally:
        stop_processes(proc)


@pytest.mark.timeout(300)
def test_server_conforms_to_its_openapi_document(
    served: tuple[str, str], tmp_path: Path
) -> None:
    url, token = served
    cmd = [
        str(VENV_BIN / "schemathesis"), "--config-file", str(CONFIG), "--no-color",
        "run", f"{url}/openapi.json", "--checks", "all",
        "--header", f"Authorization: Bearer {token}",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1",
        "--generation-database", "none", "--request-timeout", "20",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=280, cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-20000:]
    assert "passed" in out and "Selected: " in out, out[-2000:]  # it ran, not just exited
