"""docker-compose.yml, the Dockerfiles, Prometheus and Grafana provisioning, checked without a
container engine: Debian's docker-compose parses and normalises the file, and every path,
port and variable it and the Dockerfiles reference is checked against the project."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from agent.cli import _parser as agent_parser
from controller.prometheus import config as prom_config
from controller.prometheus.targets import DEFAULT_METRICS_PORT

REPO = Path(__file__).resolve().parents[2]
SECRETS = {"EDGEFLEET_DB_PASSWORD": "pw", "EDGEFLEET_API_TOKEN": "tok",
           "EDGEFLEET_ALLOWED_HOSTS": "ctl.example",
           "GRAFANA_ADMIN_PASSWORD": "gpw", "EDGEFLEET_SSH_DIR": "/srv/edgefleet/ssh"}
DOCKERFILES = sorted(REPO.glob("deploy/*.Dockerfile"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The file as Compose itself resolves it (interpolation, defaults, absolute paths)."""
    if shutil.which("docker-compose") is None:
        pytest.skip("Debian package docker-compose (scripts/bootstrap.sh installs it)")
    res = subprocess.run(["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, **SECRETS}, cwd=REPO)
    assert res.returncode == 0, res.stderr
    return yaml.safe_load(res.stdout)


def dockerfile(path: Path) -> DockerfileParser:
    parser = DockerfileParser(path=str(path))
    parser.content = path.read_text()
    return parser


def final_stage(path: Path) -> list[dict[str, Any]]:
    instructions = dockerfile(path).structure
    last_from = max(i for i, ins in enumerate(instructions) if ins["instruction"] == "FROM")
    return instructions[last_from:]


def test_missing_secrets_are_refused_by_name() -> None:
    if shutil.which("docker-compose") is None:
        pytest.skip("Debian package docker-compose")
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    res = subprocess.run(["docker-compose", "config"], capture_output=True, text=True,
                         timeout=60, env=env, cwd=REPO)
    assert res.returncode != 0
    assert "set EDGEFLEET_DB_PASSWORD in .env" in res.stderr


def test_services_and_every_bind_mount_exists(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"controller", "postgres", "registry", "prometheus",
                                        "grafana", "alertmanager"}
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(str(REPO)):
                assert Path(source).exists(), f"{name} mounts missing {source}"
            elif source.startswith("/"):
                assert source == SECRETS["EDGEFLEET_SSH_DIR"], f"{name}: unexpected {source}"
            else:
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
        if "build" in svc:
            assert (Path(svc["build"]["context"]) / svc["build"]["dockerfile"]).is_file()


def test_every_copy_source_exists_and_dockerfiles_are_sane() -> None:
    assert {p.name for p in DOCKERFILES} == {"controller.Dockerfile", "agent.Dockerfile"}
    for path in DOCKERFILES:
        parsed = dockerfile(path)
        for ins in parsed.structure:
            if ins["instruction"] == "COPY" and "--from=" not in ins["value"]:
                *sources, _dest = ins["value"].split()
                for src in sources:
                    assert glob.glob(str(REPO / src)), f"{path.name}: COPY {src} missing"
            assert ins["instruction"] != "ADD", f"{path.name}: use COPY, not ADD"
            if ins["instruction"] == "RUN":
                run = ins["value"]
                if "apt-get install" in run:
                    assert "--no-install-recommends" in run and "rm -rf /var/lib/apt/lists" in run
                if "pip install" in run:
                    assert "--no-cache-dir" in run
        for image in re.findall(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", parsed.content, re.M):
            assert ":" in image and not image.endswith(":latest"), f"unpinned base {image}"
        users = [i["value"] for i in final_stage(path) if i["instruction"] == "USER"]
        assert users and users[-1] not in ("root", "0"), f"{path.name} runs as root"


def test_controller_env_is_read_by_the_code_and_ports_match(compose: dict[str, Any]) -> None:
    ctl = compose["services"]["controller"]
    code = "\n".join(p.read_text() for p in (REPO / "controller").rglob("*.py"))
    for var in ctl["environment"]:
        if var.startswith("EDGEFLEET_"):
            assert f'"{var}"' in code, f"compose sets {var}, which the controller never reads"
    parsed = dockerfile(REPO / "deploy" / "controller.Dockerfile")
    entry = json.loads(next(i["value"] for i in parsed.structure
                            if i["instruction"] == "ENTRYPOINT"))
    port = int(entry[entry.index("--port") + 1])
    assert next(i["value"] for i in parsed.structure if i["instruction"] == "EXPOSE") == str(port)
    assert [p["target"] for p in ctl["ports"]] == [port]
    assert "postgresql+psycopg://" in ctl["environment"]["EDGEFLEET_DATABASE_URL"]
    assert "@postgres:5432/" in ctl["environment"]["EDGEFLEET_DATABASE_URL"]


def test_agent_image_serves_the_port_prometheus_scrapes() -> None:
    parsed = dockerfile(REPO / "deploy" / "agent.Dockerfile")
    exposed = next(i["value"] for i in final_stage(REPO / "deploy" / "agent.Dockerfile")
                   if i["instruction"] == "EXPOSE")
    default = agent_parser().parse_args(["run", "--controller", "http://c:1"]).metrics_port
    assert int(exposed) == default == DEFAULT_METRICS_PORT
    assert "--platform=$BUILDPLATFORM" in parsed.content and "TARGETARCH" in parsed.content
    cmd = json.loads(next(i["value"] for i in parsed.structure if i["instruction"] == "CMD"))
    agent_parser().parse_args(cmd)  # the default command line is one the agent accepts


def test_prometheus_shares_the_sd_volume_with_the_controller(compose: dict[str, Any]) -> None:
    def mount(service: str, volume: str) -> str:
        vols = compose["services"][service]["volumes"]
        return next(v.split(":")[1] for v in vols if v.split(":")[0] == volume)

    sd_file = Path(compose["services"]["controller"]["environment"]
                   ["EDGEFLEET_PROMETHEUS_SD_FILE"])
    assert str(sd_file.parent) == mount("controller", "prometheus-sd")
    sd_dir = mount("prometheus", "prometheus-sd")
    deployed = REPO / "deploy" / "prometheus" / "prometheus.yml"
    assert yaml.safe_load(deployed.read_text()) == prom_config.build(
        sd_dir, rules="alerts.yml", alertmanager="alertmanager:9093")
    assert mount("prometheus", str(deployed)) == "/etc/prometheus/prometheus.yml"
    # rule_files resolve beside the config file; alerts go to the alertmanager service.
    assert mount("prometheus", str(deployed.parent / "alerts.yml")) == "/etc/prometheus/alerts.yml"
    am = compose["services"]["alertmanager"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in am["command"]
    assert mount("alertmanager", str(REPO / "deploy" / "alertmanager" / "alertmanager.yml")) == (
        "/etc/alertmanager/alertmanager.yml")
    assert any(p["target"] == 9093 for p in am["ports"])


@pytest.mark.skipif(shutil.which("promtool") is None, reason="Debian package prometheus")
def test_promtool_accepts_the_deployed_config() -> None:
    res = subprocess.run(["promtool", "check", "config",
                          str(REPO / "deploy" / "prometheus" / "prometheus.yml")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_grafana_provisioning_points_at_the_mounted_dashboard(compose: dict[str, Any]) -> None:
    graf = compose["services"]["grafana"]["volumes"]
    targets = {v.split(":")[0]: v.split(":")[1] for v in graf}
    prov = REPO / "deploy" / "grafana" / "provisioning"
    provider = yaml.safe_load((prov / "dashboards" / "edgefleet.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == targets[
        str(REPO / "deploy" / "grafana" / "dashboards")]
    source = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    assert 9090 in [p["target"] for p in compose["services"]["prometheus"]["ports"]]
    dash = json.loads((REPO / "deploy" / "grafana" / "dashboards" / "fleet.json").read_text())
    uids = {p["datasource"]["uid"] for p in dash["panels"]}
    assert uids == {source["uid"]}
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    assert f'job="{prom_config.AGENTS_JOB}"' in exprs
    assert "edgeagent_cpu_usage_ratio" in exprs
