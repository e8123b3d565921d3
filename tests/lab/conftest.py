"""A real lab fleet for the whole session: 2 arm64 `rpi` + 2 amd64 `gpu` hosts over real SSH.

The test lab uses its own bridge, subnet, namespace prefix and state dir, so it can run
beside an operator's lab. An extra inventory adds one host at a lab address where nothing
listens: the unreachable device.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from controller.lab import fleet
from controller.lab.config import LabConfig
from controller.lab.state import LabState
from tests.scratch import remove_tree

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# Several checkouts may run lab tests at once (parallel work trees): each picks a slot,
# which gives it its own bridge, subnet and namespace prefix. Slot 0 is CI's.
SLOT = int(os.environ.get("EDGEFLEET_TEST_LAB_SLOT", "0"))
if not 0 <= SLOT <= 9:
    raise RuntimeError("EDGEFLEET_TEST_LAB_SLOT must be 0..9")
SUBNET_OCTET = 214 if SLOT == 0 else 230 + SLOT
OFFLINE_HOST, OFFLINE_ADDRESS = "rpi-09", f"10.{SUBNET_OCTET}.0.250"
ARTIFACTS = REPO / "artifacts" / "tests"

pytestmark = pytest.mark.lab


@dataclass
class Lab:
    cfg: LabConfig
    state: LabState
    inventory: Path
    inventory_with_offline: Path

    @property
    def hosts(self) -> list[str]:
        return [h.name for h in self.state.hosts]

    def address(self, name: str) -> str:
        return next(h.address for h in self.state.hosts if h.name == name)

    def ssh(self, name: str, command: str) -> str:
        """Run a fixed command on a lab host over real SSH (test-only, constant strings)."""
        res = subprocess.run(
            ["ssh", "-i", str(self.cfg.key_path),
             "-o", f"UserKnownHostsFile={self.cfg.known_hosts}",
             "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
             f"root@{self.address(name)}", command],
            capture_output=True, text=True, timeout=120, check=True,
        )
        return res.stdout


def lab_config(root: Path) -> LabConfig:
    return LabConfig(
        state_dir=root / "lab",
        bridge=f"eftbr{SLOT}",
        subnet=f"10.{SUBNET_OCTET}.0.0/24",
        prefix="eft-" if SLOT == 0 else f"ef{SLOT}-",
        apt_port=8874 + SLOT,
    )


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The lab for tests/lab only: package scope, so its teardown (and the disk it frees)
    comes after the last lab test, not inside whichever test runs last in the session."""
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (network namespaces, mounts)")
    root = tmp_path_factory.mktemp("edgefleet-lab")
    cfg = lab_config(root)
    inventory = root / "inventory.yml"
    state = fleet.up(cfg, rpi=2, gpu=2, inventory_path=inventory, say=print)
    doc = yaml.safe_load(inventory.read_text())
    doc["all"]["children"]["rpi"]["hosts"][OFFLINE_HOST] = {"ansible_host": OFFLINE_ADDRESS}
    with_offline = root / "inventory-offline.yml"
    with_offline.write_text(yaml.safe_dump(doc, sort_keys=False))
    try:
        yield Lab(cfg, state, inventory, with_offline)
    finally:
        fleet.down(cfg, say=print)
        remove_tree(root)


def reset_container_stores(lab: Lab) -> None:
    """Remove every container and image on the lab hosts, for the modules that pulled some.

    Podman's vfs driver (the lab's, see controller/lab/inventory.py) copies each layer in
    full: one module's deploys left 19 GB in four hosts' overlay upper dirs, more than some
    CI machines have free. Run inside each host, never on its upper dir behind the mount."""
    reset = ("command -v podman >/dev/null || exit 0; podman "
             "{{ edgefleet_container_engine_args | default([]) | join(' ') }} "
             "system reset --force")
    subprocess.run([str(VENV_BIN / "ansible"), "all", "-i", str(lab.inventory),
                    "-m", "ansible.builtin.shell", "-a", reset],
                   cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Controller:
    """The real server (`edgefleet controller serve`) on the lab bridge, so agents on lab
    hosts can reach it; beyond loopback it requires the admin token, as in production."""

    host: str
    port: int
    home: Path
    inventory: Path
    token: str
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.token}"})

    def env(self) -> dict[str, str]:
        env = dict(os.environ, EDGEFLEET_HOME=str(self.home), EDGEFLEET_API_TOKEN=self.token,
                   EDGEFLEET_TELEMETRY_OFFLINE_AFTER="12")
        return env

    def start(self) -> None:
        log = (self.home / "server.log").open("a")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "edgefleet"), "controller", "serve", "--host", self.host,
             "--port", str(self.port), "--inventory", str(self.inventory)],
            stdout=log, stderr=subprocess.STDOUT, env=self.env(),
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.process.kill()
        raise AssertionError("controller did not start: " + (self.home / "server.log").read_text())

    def __enter__(self) -> Controller:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kill(self) -> None:
        """SIGKILL: the crash the agents must survive."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(15)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)

    def wait_job(self, job_id: str, timeout: float = 600) -> dict:
        """Bounded poll until the job leaves queued/running."""
        with self.client() as c:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                job = c.get(f"/api/jobs/{job_id}").json()
                if job["status"] not in ("queued", "running"):
                    return job
                time.sleep(0.5)
        raise AssertionError(f"job {job_id} still running after {timeout}s")


@pytest.fixture(scope="package")
def controller(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Controller]:
    home = tmp_path_factory.mktemp("controller-home")
    ctl = Controller(lab.state.bridge_address, free_port(), home, lab.inventory_with_offline,
                     secrets.token_urlsafe(24))
    ctl.start()
    try:
        yield ctl
    finally:
        ctl.stop()


def ansible_playbook(
    inventory: Path, playbook: str, *args: str, fact_dir: Path
) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    """Run `ansible-playbook` exactly as an operator would, from the repo root.

    Per-host results come back through the JSON fact cache (`edgefleet_result` is a
    cacheable fact), so nothing here parses printed output.
    """
    shutil.rmtree(fact_dir, ignore_errors=True)
    env = dict(
        os.environ,
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        ANSIBLE_CACHE_PLUGIN_CONNECTION=str(fact_dir),
        ANSIBLE_NOCOLOR="1",
    )
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), f"playbooks/{playbook}.yml",
         *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    results = {}
    for path in fact_dir.glob("*") if fact_dir.exists() else []:
        facts = json.loads(path.read_text())
        if "edgefleet_result" in facts:
            results[path.name] = facts["edgefleet_result"]
    return proc, results
