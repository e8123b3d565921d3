"""Benchmark runs, stored results with carbon, and selection through the REST API.

The run goes through the real JobManager and real ansible-playbook (local connection) with a
stand-in bench.yml that returns contract-shaped results (fixtures, not measurements); the
runtime image it would run in is pinned from a real registry (an empty index stands in for
runtime/torch:1); carbon comes from a loopback HTTP server answering like Electricity Maps.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.carbon import CarbonIntensity
from controller.config import Settings
from controller.images.runtime import RUNTIME_REPO, RUNTIME_TAG
from controller.jobs.views import iso
from controller.registry_service.settings import RegistrySettings
from registry.client import OCI_INDEX, RegistryClient
from tests.api.conftest import wait_job
from tests.conftest import FIXTURES, wait_for
from tests.fake_electricitymaps import TOKEN, FakeElectricityMaps, fake_api  # noqa: F401
from tests.registry.server import running_registry
from tests.unit.selection.builders import resnets

INTENSITY = 302.0
NOW = datetime(2026, 12, 2, 2, 20, tzinfo=UTC)  # the controller's pinned "now"


@pytest.fixture
def bench_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", project)
    shutil.copy(FIXTURES / "bench_project" / "bench.yml", project / "playbooks" / "bench.yml")
    shutil.copy(FIXTURES / "bench_project" / "inventory.ini", project / "bench_inventory.ini")
    (project / "bench_results").mkdir()
    return project


def write_results(project: Path, host: str, body: object) -> None:
    (project / "bench_results" / f"{host}.json").write_text(json.dumps(body))


@pytest.fixture(scope="module")
def runtime_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(registry URL, index digest of runtime/torch:1) in a real registry."""
    with running_registry(tmp_path_factory.mktemp("bench-registry")) as server:
        raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()
        with RegistryClient(server.url) as client:
            digest = client.put_manifest(RUNTIME_REPO, RUNTIME_TAG, raw, OCI_INDEX)
        yield server.url, digest


@pytest.fixture
def bench_client(
    tmp_path: Path,
    bench_project: Path,
    fake_api: FakeElectricityMaps,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    runtime_registry: tuple[str, str],
) -> Iterator[TestClient]:
    hour = NOW.replace(minute=0)
    latest = {
        "zone": "DE", "carbonIntensity": INTENSITY, "datetime": iso(hour),
        "emissionFactorType": "lifecycle", "isEstimated": False, "estimationMethod": None,
    }
    (tmp_path / "latest_DE.json").write_text(json.dumps(latest))
    fake_api.serve("/v3/carbon-intensity/latest", "DE", 200, str(tmp_path / "latest_DE.json"))
    monkeypatch.setenv("EDGEFLEET_ELECTRICITYMAPS_TOKEN", TOKEN)
    monkeypatch.setenv("EDGEFLEET_ELECTRICITYMAPS_URL", fake_api.url)
    settings = Settings(
        home=tmp_path / "home",
        project_dir=bench_project,
        inventory=bench_project / "bench_inventory.ini",
    )
    app = create_app(settings, carbon=CarbonIntensity(now=lambda: NOW),
                     registry=RegistrySettings(url=runtime_registry[0]))
    with TestClient(app, base_url="http://localhost") as c:
        yield c


def run_and_wait(c: TestClient, expected_rows: int) -> dict:
    res = c.post("/api/benchmarks/run", json={"limit": "edge", "timeout_s": 120})
    assert res.status_code == 201, res.text
    job = wait_job(c, res.json()["id"], timeout=90)
    wait_for(lambda: len(c.get("/api/benchmarks").json()) >= expected_rows, timeout=30)
    return job


def test_run_stores_results_per_device_with_carbon_and_selects(
    bench_client: TestClient, bench_project: Path, fake_api: FakeElectricityMaps,  # noqa: F811
    runtime_registry: tuple[str, str],
) -> None:
    now = NOW.isoformat()
    write_results(bench_project, "local-a", {"results": resnets("ignored", timestamp=now)})
    write_results(bench_project, "local-b", {"results": resnets("x", scale=2.0, timestamp=now)})
    job = run_and_wait(bench_client, 10)
    assert job["status"] == "successful" and job["playbook"] == "bench"
    url, digest = runtime_registry
    assert {k: v for k, v in job["extra_vars"].items() if k.startswith("edgefleet_bench_")} == {
        "edgefleet_bench_image": f"{url.removeprefix('http://')}/{RUNTIME_REPO}",
        "edgefleet_bench_digest": digest, "edgefleet_bench_insecure": True}

    rows = bench_client.get("/api/benchmarks", params={"device": "local-a"}).json()
    assert len(rows) == 5 and {r["device"] for r in rows} == {"local-a"}
    r18 = next(r for r in rows if r["model"] == "resnet18")
    assert r18["job_id"] == job["id"]
    assert r18["carbon_g"] == pytest.approx(1.1 / 3.6e6 * INTENSITY)
    intensity = r18["carbon"]["intensity"]
    assert (intensity["source"], intensity["zone"], intensity["fallback"]) == ("api", "DE", False)
    assert fake_api.calls("/v3/carbon-intensity/latest") == 1  # cached across the five rows

    b = bench_client.get("/api/benchmarks", params={"device": "local-b", "model": "resnet50"})
    [r50] = b.json()
    assert r50["carbon_g"] is None
    assert r50["carbon"]["note"] == "device has no edgefleet_carbon_zone in the inventory"

    sel = bench_client.get(
        "/api/selection", params={"budget_ms": 500, "max_acc_drop": 10, "mode": "points"}
    ).json()
    assert [d["advanced"]["model"] for d in sel["devices"]] == ["resnet18", "resnet18"]
    assert sel["latency_saving_rate"] == pytest.approx((200.7 - 53.9) / 200.7)
    assert sel["accuracy_drop"] == pytest.approx(78.312 - 69.758)
    assert sel["acc_drop_unit"] == "percentage points"
    strict = bench_client.get(
        "/api/selection",
        params={"budget_ms": 500, "max_acc_drop": 0.1, "device": "local-a", "variant": "fp32"},
    ).json()
    assert strict["variants"] == ["fp32"]
    assert strict["acc_drop_mode"] == "relative"
    assert [d["advanced"]["model"] for d in strict["devices"]] == ["resnet34"]

    again = bench_client.post(f"/api/benchmarks/jobs/{job['id']}/collect").json()
    assert (again["stored"], sorted(again["devices"])) == (10, ["local-a", "local-b"])
    assert len(bench_client.get("/api/benchmarks").json()) == 10  # replaced, not doubled


def test_bad_results_from_one_host_lose_nothing_from_the_other(
    bench_client: TestClient, bench_project: Path
) -> None:
    write_results(bench_project, "local-a", {"results": resnets("a")})
    write_results(bench_project, "local-b", {"results": [{"model": "resnet18"}]})
    job = run_and_wait(bench_client, 5)
    summary = bench_client.post(f"/api/benchmarks/jobs/{job['id']}/collect").json()
    assert summary["devices"] == ["local-a"]
    assert summary["problems"] == {"local-b": "local-b results[0].latency_ms: Field required"}
    assert {r["device"] for r in bench_client.get("/api/benchmarks").json()} == {"local-a"}


def test_results_over_the_job_record_cap_come_from_the_fact_cache(
    bench_client: TestClient, bench_project: Path
) -> None:
    """The job record drops a host result over 32 KB; bench.yml's cached fact keeps it."""
    rows = [r for i in range(12) for r in resnets("a", variant=f"v{i}", notes="x" * 400)]
    assert len(json.dumps(rows)) > 32_000
    write_results(bench_project, "local-a", {"results": rows})
    write_results(bench_project, "local-b", {"results": resnets("b")})
    job = run_and_wait(bench_client, 65)
    [a] = [h for h in bench_client.get(f"/api/jobs/{job['id']}").json()["hosts"]
           if h["host"] == "local-a"]
    assert a["result"] is None  # what the job record kept
    stored = bench_client.get("/api/benchmarks", params={"device": "local-a"}).json()
    assert len(stored) == 60 and stored[0]["notes"] == "x" * 400


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"max_acc_drop": 0.1}, 422, "budget_ms"),
        ({"budget_ms": -1, "max_acc_drop": 0.1}, 422, "budget_ms"),
        ({"budget_ms": 100, "max_acc_drop": 0.1, "mode": "pct"}, 422, "mode"),
        ({"budget_ms": 100, "max_acc_drop": 0.1, "objective": "cost"}, 422, "objective"),
        ({"budget_ms": 100, "max_acc_drop": 5}, 422, "must be a fraction between 0 and 1"),
        ({"budget_ms": 100, "max_acc_drop": 0.1}, 404, "no benchmark results stored"),
    ],
)
def test_selection_errors_are_one_line(
    bench_client: TestClient, params: dict, status: int, reason: str
) -> None:
    res = bench_client.get("/api/selection", params=params)
    assert res.status_code == status
    detail = res.json()["detail"]
    assert isinstance(detail, str) and reason in detail and "\n" not in detail


def test_run_request_validation_and_catalogue(client: TestClient) -> None:
    """`client` serves the plain test project, which has no bench playbook."""
    res = client.post("/api/benchmarks/run", json={"limt": "edge"})
    assert res.status_code == 422 and "limt" in res.json()["detail"]
    res = client.post("/api/benchmarks/run", json={"limit": "edge"})
    assert res.status_code == 422 and "unknown playbook 'bench'" in res.json()["detail"]
    assert client.get("/api/jobs").json() == []
    assert client.get("/api/benchmarks").json() == []


def test_run_needs_the_controller_s_registry_and_its_runtime(
    bench_client: TestClient, client: TestClient, tmp_path: Path, bench_project: Path
) -> None:
    res = bench_client.post("/api/benchmarks/run", json={
        "limit": "edge", "extra_vars": {"edgefleet_bench_digest": "sha256:" + "0" * 64}})
    assert res.status_code == 422
    assert res.json()["detail"] == ("extra var edgefleet_bench_digest is set by the controller "
                                    "from its registry, not by the request")
    settings = Settings(home=tmp_path / "other", project_dir=bench_project,
                        inventory=bench_project / "bench_inventory.ini")
    app = create_app(settings, registry=RegistrySettings(url=None))
    with TestClient(app, base_url="http://localhost") as unconfigured:
        res = unconfigured.post("/api/benchmarks/run", json={"limit": "edge"})
        assert res.status_code == 503
        assert res.json()["detail"].startswith(
            "no registry URL: this controller has no registry configured; its operator sets "
            "EDGEFLEET_REGISTRY_URL")
    with running_registry(tmp_path / "empty") as empty:
        app = create_app(settings, registry=RegistrySettings(url=empty.url))
        with TestClient(app, base_url="http://localhost") as no_runtime:
            res = no_runtime.post("/api/benchmarks/run", json={"limit": "edge"})
            assert res.status_code == 404
            detail = res.json()["detail"]
            assert detail.startswith(f"runtime/torch:1 is not in registry {empty.netloc}")
            assert detail.endswith("push it with `edgefleet registry runtime --arch amd64 "
                                   "--arch arm64`")
            assert no_runtime.get("/api/jobs").json() == []


def test_collect_refuses_other_jobs(bench_client: TestClient) -> None:
    job = bench_client.post("/api/jobs", json={"playbook": "ping", "limit": "local-a"}).json()
    wait_job(bench_client, job["id"])
    res = bench_client.post(f"/api/benchmarks/jobs/{job['id']}/collect")
    assert res.status_code == 422 and "ran 'ping', not 'bench'" in res.json()["detail"]
    assert bench_client.post("/api/benchmarks/jobs/nosuch/collect").status_code == 404


def test_uploaded_results_are_stored_priced_and_selected(bench_client: TestClient) -> None:
    """`POST /api/benchmarks`: results measured outside a job (the demo's, a lab's)."""
    res = bench_client.post("/api/benchmarks", json={
        "device": "controller-1", "zone": "DE",
        "results": resnets("controller-1", timestamp=NOW.isoformat())})
    assert res.status_code == 201, res.text
    assert res.json() == {"device": "controller-1", "stored": 5}
    rows = bench_client.get("/api/benchmarks", params={"device": "controller-1"}).json()
    assert {r["model"] for r in rows} == {"resnet18", "resnet34", "resnet50", "resnet101",
                                          "resnet152"}
    assert all(r["job_id"] is None and r["carbon"]["intensity"]["zone"] == "DE" for r in rows)
    assert next(r for r in rows if r["model"] == "resnet18")["carbon_g"] == pytest.approx(
        1.1 / 3.6e6 * INTENSITY)
    sel = bench_client.get("/api/selection", params={
        "budget_ms": 500, "max_acc_drop": 10, "mode": "points", "device": "controller-1"})
    assert sel.json()["devices"][0]["advanced"]["model"] == "resnet18"


@pytest.mark.parametrize(("body", "detail"), [
    ({"device": "d", "results": [*resnets("d")[:2], {"model": "resnet18"}]},
     "results[2].latency_ms: Field required"),
    ({"device": "d", "zone": "germany", "results": resnets("d")}, "not an Electricity Maps zone"),
    ({"device": "no spaces", "results": resnets("d")}, "device: String should match pattern"),
    ({"device": "d", "results": []}, "results: List should have at least 1 item"),
])
def test_a_bad_upload_is_refused_whole(bench_client: TestClient, body: dict,
                                       detail: str) -> None:
    res = bench_client.post("/api/benchmarks", json=body)
    assert res.status_code == 422 and detail in res.json()["detail"], res.text
    assert bench_client.get("/api/benchmarks").json() == []  # nothing half-stored
