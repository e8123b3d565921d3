"""A real Prometheus (Debian's package) scrapes the lab's agents through the controller's
file-based service discovery, and follows the fleet when a device leaves the inventory."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.lab.conftest import OFFLINE_HOST, VENV_BIN, Controller, Lab, free_port
from tests.lab.test_agents_on_lab import agents  # noqa: F401 - module-scoped install fixture
from tests.processes import stop_processes

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="Debian package prometheus"),
]


def edgefleet(controller: Controller, *args: str) -> str:
    res = subprocess.run([str(VENV_BIN / "edgefleet"), *args], capture_output=True, text=True,
                         timeout=180, env=controller.env())
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict]:
        res = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        assert res.status_code == 200, res.text
        return res.json()["data"]["result"]

    def active_instances(self) -> set[str]:
        res = httpx.get(f"{self.url}/api/v1/targets", params={"state": "active"}, timeout=10)
        return {t["labels"]["instance"] for t in res.json()["data"]["activeTargets"]
                if t["labels"]["job"] == "edgefleet-agents"}


@pytest.fixture(scope="module")
def sd_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prometheus") / "file_sd" / "edgefleet-agents.json"


@pytest.fixture(scope="module")
def prometheus(agents: Lab, controller: Controller, sd_file: Path) -> Iterator[Prometheus]:  # noqa: F811
    root = sd_file.parent.parent
    edgefleet(controller, "prometheus", "targets", "--out", str(sd_file),
              "--inventory", str(controller.inventory))
    cfg = root / "prometheus.yml"
    cfg.write_text(edgefleet(controller, "prometheus", "config", "--sd-dir", str(sd_file.parent),
                             "--scrape-interval", "2s", "--scrape-timeout", "2s"))
    check = subprocess.run(["promtool", "check", "config", str(cfg)], capture_output=True,
                           text=True, timeout=60, env=dict(os.environ, NO_COLOR="1"))
    assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    log = (root / "prometheus.log").open("w")
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={root / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        yield Prometheus(f"http://127.0.0.1:{port}")
    finally:
        stop_processes(proc)


def eventually(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(1)
    raise AssertionError(f"not within {timeout:.0f}s: {what} (last: {last})")


def test_prometheus_scrapes_every_lab_agent(prometheus: Prometheus, agents: Lab) -> None:  # noqa: F811
    def all_up() -> dict[str, dict] | None:
        found = {r["metric"]["instance"]: r for r in prometheus.query('up{job="edgefleet-agents"}')}
        every_agent = all(found.get(n, {}).get("value", [0, "0"])[1] == "1"
                          for n in agents.hosts)
        return found if every_agent and OFFLINE_HOST in found else None

    found = eventually(all_up, 90, "up == 1 for every lab agent, and the offline one scraped")
    for name in agents.hosts:
        labels = found[name]["metric"]
        assert labels["device"] == name
        assert labels["group"] == name.split("-")[0]
        assert labels["arch"] == ("arm64" if name.startswith("rpi") else "amd64")
    # The inventory's offline device is a target too, and Prometheus sees it down.
    assert found[OFFLINE_HOST]["value"][1] == "0"
    cpu = prometheus.query('edgeagent_cpu_usage_ratio{job="edgefleet-agents"}')
    assert {r["metric"]["instance"] for r in cpu} >= set(agents.hosts)


def test_prometheus_follows_a_device_leaving_the_inventory(
    prometheus: Prometheus, agents: Lab, controller: Controller, sd_file: Path,  # noqa: F811
) -> None:
    eventually(lambda: OFFLINE_HOST in prometheus.active_instances(), 60,
               f"{OFFLINE_HOST} a target")
    edgefleet(controller, "prometheus", "targets", "--out", str(sd_file),
              "--inventory", str(agents.inventory))  # the inventory without the offline host
    eventually(lambda: OFFLINE_HOST not in prometheus.active_instances(), 90,
               f"{OFFLINE_HOST} dropped")
    assert prometheus.active_instances() >= set(agents.hosts)
