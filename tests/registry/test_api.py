"""REST: /api/registry/images|verify|build and /api/deployments against the real registry."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.registry_service.settings import RegistrySettings
from tests.registry.images import BASE_REF
from tests.registry.server import free_port


@pytest.fixture
def api(settings, with_bases):
    app = create_app(settings, registry=RegistrySettings(url=with_bases.url, base=BASE_REF))
    with TestClient(app, base_url="http://localhost") as client:
        yield client


def test_build_verify_list_over_http(api, with_bases):
    query = {"arch": "aarch64", "task": "image-classification", "model": "resnet18"}
    missing = api.get("/api/registry/verify", params=query)
    assert missing.status_code == 200
    assert missing.json()["found"] is None and missing.json()["plan"]["action"] == "build"

    built = api.post("/api/registry/build", json={**query, "version": "0.1",
                                                  "input_size": 64})
    assert built.status_code == 201, built.text
    digest = built.json()["manifest_digest"]

    found = api.get("/api/registry/verify", params={**query, "arch": "arm64/v8"}).json()
    assert found["found"]["manifest_digest"] == digest
    assert found["found"]["pinned"].endswith(f"/models/image-classification/resnet18@{digest}")

    rows = api.get("/api/registry/images").json()
    row = next(r for r in rows if r["repo"] == "models/image-classification/resnet18")
    assert row["platforms"] == ["linux/arm64"] and row["task"] == "image-classification"
    unknown = api.post("/api/registry/build", json={**query, "model": "resnet19"})
    assert unknown.status_code == 422 and "unknown model 'resnet19'" in unknown.json()["detail"]


def test_bad_input_and_missing_image_and_registry_down(api, settings):
    assert api.get("/api/registry/verify", params={"arch": "arm64", "task": "Bad Task"}
                   ).status_code == 422
    unknown_arch = api.get("/api/registry/verify", params={"arch": "x86", "task": "car"})
    assert unknown_arch.status_code == 400 and "unknown architecture" in unknown_arch.json()[
        "detail"]
    extra = api.post("/api/registry/build", json={"arch": "arm64", "task": "t", "model": "m",
                                                  "weights": "/x", "url": "http://evil"})
    assert extra.status_code == 422  # the registry URL is server configuration, not input
    no_image = api.post("/api/deployments", json={"arch": "arm64", "task": "nothing-here",
                                                  "model": "m", "limit": "all"})
    assert no_image.status_code == 409 and "no image" in no_image.json()["detail"]
    assert api.get("/api/jobs").json() == []  # nothing launched

    api.app.state.registry_settings = RegistrySettings(url=f"http://127.0.0.1:{free_port()}")
    down = api.get("/api/registry/images")
    assert down.status_code == 503 and "unreachable" in down.json()["detail"]


def test_a_controller_without_a_registry_says_it_is_server_configuration(
    settings, monkeypatch,
) -> None:
    """Not the client's 400, and no "--url" a browser user could not pass."""
    monkeypatch.delenv("EDGEFLEET_REGISTRY_URL", raising=False)
    with TestClient(create_app(settings), base_url="http://localhost") as api:
        for res in (api.get("/api/registry/images"),
                    api.get("/api/registry/verify", params={"arch": "arm64", "task": "t"}),
                    api.post("/api/deployments", json={"arch": "arm64", "task": "t"})):
            assert res.status_code == 503, res.text
            detail = res.json()["detail"]
            assert "this controller has no registry configured" in detail
            assert "--registry-url" in detail and "pass --url" not in detail
        assert api.get("/api/jobs").json() == []
