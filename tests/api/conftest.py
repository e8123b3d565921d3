"""API fixtures: the real app (store, job manager, lifespan) behind Starlette's TestClient."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.config import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def sse(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Minimal Server-Sent Events reader: yields {id?, event, data} per message, as it arrives."""
    msg: dict[str, Any] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in msg:
                msg["data"] = json.loads(msg["data"])
                yield msg
            msg = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(":")
            msg[key] = value.removeprefix(" ")


def launch(c: TestClient, **body: Any) -> dict[str, Any]:
    res = c.post("/api/jobs", json=body)
    assert res.status_code == 201, res.text
    return res.json()


def wait_job(c: TestClient, job_id: str, timeout: float = 45.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = c.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        time.sleep(0.2)
