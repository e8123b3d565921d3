"""The shipped alerting rules and Alertmanager config: promtool's unit tests for every alert
(and proof that they catch a changed threshold), the deploy files equal to what the code
renders, and a real Prometheus sending real alerts to Debian's Alertmanager on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from controller.cli.main import app
from controller.prometheus import alerts
from controller.prometheus import config as prom_config
from tests.conftest import wait_for
from tests.lab.conftest import free_port
from tests.processes import stop_processes

REPO = Path(__file__).resolve().parents[2]
PROM = REPO / "deploy" / "prometheus"
AM_CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
needs = pytest.mark.skipif(
    not all(shutil.which(b) for b in ("promtool", "prometheus", "prometheus-alertmanager")),
    reason="Debian packages prometheus and prometheus-alertmanager (scripts/bootstrap.sh)")


def promtool_test(rules_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", "test", "rules", str(rules_dir / "alerts_test.yml")],
                          capture_output=True, text=True, timeout=120)


def test_deployed_rules_are_what_the_code_renders() -> None:
    assert yaml.safe_load((PROM / "alerts.yml").read_text()) == alerts.build()


@needs
def test_promtool_unit_tests_cover_every_alert() -> None:
    res = promtool_test(PROM)
    assert res.returncode == 0, res.stdout + res.stderr
    tested = {case["alertname"] for t in yaml.safe_load((PROM / "alerts_test.yml").read_text())
              ["tests"] for case in t["alert_rule_test"]}
    assert tested == {r["alert"] for r in alerts.build()["groups"][0]["rules"]}


@needs
@pytest.mark.parametrize("changed", [{"hot_celsius": 90.0}, {"budget_s": 0.5},
                                     {"disk_free_ratio": 0.01}, {"down_for": "10m"}])
def test_the_unit_tests_fail_when_a_threshold_moves(tmp_path: Path, changed: dict) -> None:
    (tmp_path / "alerts.yml").write_text(alerts.render(replace(alerts.Thresholds(), **changed)))
    shutil.copy(PROM / "alerts_test.yml", tmp_path)
    assert promtool_test(tmp_path).returncode != 0


def test_bad_budgets_are_refused() -> None:
    with pytest.raises(ValueError, match="not a model name"):
        alerts.Thresholds(budgets_s={'x"} or vector(1) #': 1.0})
    with pytest.raises(ValueError, match="out of range"):
        alerts.Thresholds(budgets_s={"resnet18": 0})


@contextmanager
def metrics_server(text: str) -> Iterator[int]:
    """A loopback /metrics in the agent's exposition format (what a hot Pi would show)."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = text.replace("NOW", f"{time.time():.3f}").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def process(argv: list[str], log: Path) -> Iterator[None]:
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        stop_processes(proc)


@needs
def test_prometheus_sends_the_fleets_alerts_to_alertmanager(tmp_path: Path) -> None:
    am_port, prom_port, closed = free_port(), free_port(), free_port()
    hot = ("# TYPE edgeagent_soc_temperature_celsius gauge\n"
           "edgeagent_soc_temperature_celsius 91.5\n"
           "# TYPE edgeagent_agent_heartbeat gauge\nedgeagent_agent_heartbeat NOW\n")
    with metrics_server(hot) as hot_port:
        sd = tmp_path / "file_sd"
        sd.mkdir()
        (sd / "edgefleet-agents.json").write_text(json.dumps([
            {"targets": [f"127.0.0.1:{closed}"], "labels": {"device": "rpi-01"}},
            {"targets": [f"127.0.0.1:{hot_port}"], "labels": {"device": "rpi-02"}}]))
        # The shipped rules, with no waiting, so the test need not sit out `for:` windows.
        (tmp_path / "alerts.yml").write_text(alerts.render(alerts.Thresholds(
            down_for="0s", hot_for="0s")))
        (tmp_path / "prometheus.yml").write_text(prom_config.render(
            sd, "1s", "1s", rules="alerts.yml", alertmanager=f"127.0.0.1:{am_port}")
            )
        am = [
            "prometheus-alertmanager", f"--config.file={AM_CONFIG}",
            f"--storage.path={tmp_path / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address="]
        prom = ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}"]
        with process(am, tmp_path / "am.log"), process(prom, tmp_path / "prom.log"):
            def firing() -> set[tuple[str, str]]:
                try:
                    res = httpx.get(f"http://127.0.0.1:{am_port}/api/v2/alerts", timeout=5)
                except httpx.TransportError:
                    return set()
                return {(a["labels"]["alertname"], a["labels"]["instance"])
                        for a in res.json() if a["status"]["state"] == "active"}

            wanted = {("EdgeDeviceDown", "rpi-01"), ("EdgeDeviceHot", "rpi-02")}
            wait_for(lambda: wanted <= firing(), timeout=60)
            got = firing()
    assert ("EdgeDeviceDown", "rpi-02") not in got and ("EdgeDeviceHot", "rpi-01") not in got


def test_the_rules_command_renders_budgets_and_refuses_bad_ones() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["prometheus", "rules", "--budget-ms", "150",
                              "--model-budget", "resnet18=50"])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load(res.stdout) == alerts.build(alerts.Thresholds(
        budget_s=0.15, budgets_s={"resnet18": 0.05}))
    for bad, reason in (("resnet18=x", "give MODEL=MS"), ("resnet18", "give MODEL=MS"),
                        ("Bad Model=5", "not a model name"), ("resnet18=0", "out of range")):
        res = runner.invoke(app, ["prometheus", "rules", "--model-budget", bad])
        assert res.exit_code == 2 and reason in res.stderr, (bad, res.output)
