"""Client-side helpers shared by the API tests (TestClient) and the lab tests (real server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx


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


def launch(c: httpx.Client, **body: Any) -> dict[str, Any]:
    """POST a job and return it; anything but 201 fails the test with the server's reason."""
    res = c.post("/api/jobs", json=body)
    assert res.status_code == 201, res.text
    return res.json()
