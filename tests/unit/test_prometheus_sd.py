"""Prometheus file_sd targets from the inventory and the device registry, written atomically
and kept current as devices come and go; the rendered config passes real `promtool`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.config import Settings
from controller.prometheus import config, file_sd, targets
from controller.store import Store
from tests.conftest import wait_for
from tests.unit.fleet_fixture import INVENTORY, add_device, write_inventory


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = Store(settings.db_url)
    yield s
    s.dispose()


@pytest.mark.backends
def test_targets_from_inventory_and_registry(store: Store, tmp_path: Path) -> None:
    inv = write_inventory(tmp_path / "hosts.yml")
    add_device(store, "gpu-01", "amd64", "10.217.9.21")
    add_device(store, "jetson-07", "arm64", "10.217.9.77")  # pushes, not in the inventory
    found = targets.collect(inv, store)
    out = tmp_path / "sd" / "agents.json"
    assert file_sd.write(out, found) is True
    assert json.loads(out.read_text()) == [
        {"targets": ["10.217.9.21:9101"],
         "labels": {"device": "gpu-01", "group": "gpu", "arch": "amd64"}},
        {"targets": ["10.217.9.77:9101"],
         "labels": {"device": "jetson-07", "group": "unlisted", "arch": "arm64"}},
        {"targets": ["10.217.9.11:9101"],
         "labels": {"device": "rpi-01", "group": "rpi", "arch": "arm64"}},
        {"targets": ["10.217.9.12:9200"],
         "labels": {"device": "rpi-02", "group": "rpi", "arch": "arm64"}},
    ]
    assert out.stat().st_mode & 0o777 == 0o644
    assert file_sd.write(out, found) is False, "unchanged targets are not rewritten"
    assert [p.name for p in out.parent.iterdir()] == ["agents.json"], "no temp file left"


def test_writer_follows_devices_and_keeps_the_last_good_file(store: Store,
                                                             tmp_path: Path) -> None:
    inv = write_inventory(tmp_path / "hosts.yml")
    out = tmp_path / "agents.json"
    writer = file_sd.SdWriter(out, lambda: targets.collect(inv, store), interval_s=3600)

    def devices() -> list[str]:
        return [g["labels"]["device"] for g in json.loads(out.read_text())]

    assert writer.refresh() and devices() == ["gpu-01", "rpi-01", "rpi-02"]
    add_device(store, "edge-99", "amd64", "10.217.9.99")  # a device comes
    assert writer.refresh() and devices() == ["edge-99", "gpu-01", "rpi-01", "rpi-02"]
    write_inventory(inv, INVENTORY.replace("        rpi-01: {ansible_host: 10.217.9.11}\n", ""))
    assert writer.refresh() and devices() == ["edge-99", "gpu-01", "rpi-02"]  # one goes
    inv.write_text("all: [unclosed\n")  # mid-edit: invalid
    assert writer.refresh() is False
    assert devices() == ["edge-99", "gpu-01", "rpi-02"], "last good targets kept"


def test_the_server_writes_targets_when_configured(settings: Settings, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "sd" / "agents.json"
    monkeypatch.setenv("EDGEFLEET_PROMETHEUS_SD_FILE", str(out))
    monkeypatch.setenv("EDGEFLEET_PROMETHEUS_SD_INTERVAL", "1")
    inv = write_inventory(tmp_path / "hosts.yml")
    with TestClient(create_app(Settings(home=settings.home, database_url=settings.database_url,
                                        inventory=inv)), base_url="http://localhost"):
        wait_for(out.exists, timeout=30)
    assert len(json.loads(out.read_text())) == 3


def test_the_inventory_is_parsed_again_only_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = write_inventory(tmp_path / "hosts.yml")
    calls: list[Path] = []
    real = targets.ansible_inventory.load

    def counting(path: Path, cfg: Path | None = None) -> dict:
        calls.append(path)
        return real(path, cfg)

    monkeypatch.setattr(targets.ansible_inventory, "load", counting)
    first = [t.device for t in targets.collect(inv, None)]
    assert [t.device for t in targets.collect(inv, None)] == first
    assert len(calls) == 1
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "gpu.yml").write_text("edgefleet_agent_metrics_port: 9300\n")
    ports = {t.device: t.port for t in targets.collect(inv, None)}
    assert len(calls) == 2 and ports["gpu-01"] == 9300  # group_vars count as the inventory


@pytest.mark.parametrize(("name", "value"), [("EDGEFLEET_PROMETHEUS_SD_INTERVAL", "soon"),
                                             ("EDGEFLEET_AGENT_METRICS_PORT", "70000")])
def test_bad_sd_settings_are_one_clear_error(monkeypatch: pytest.MonkeyPatch, name: str,
                                             value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(file_sd.ControllerError, match="EDGEFLEET_|bad Prometheus"):
        file_sd.SdSettings.from_env()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="Debian package prometheus")
def test_promtool_accepts_the_generated_config_and_targets(tmp_path: Path) -> None:
    sd_dir = tmp_path / "file_sd"
    file_sd.write(sd_dir / config.SD_FILE_NAME,
                  targets.from_inventory(
                      {"_meta": {"hostvars": {"a": {"ansible_host": "10.217.9.1"}}}}, {}))
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(config.render(sd_dir))
    res = subprocess.run(["promtool", "check", "config", str(cfg)], capture_output=True,
                         text=True, timeout=60, env=dict(os.environ, NO_COLOR="1"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout + res.stderr
