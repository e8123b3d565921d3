"""Transport: each controller answer maps to the right outcome; the token stays in the header.

The peer is a real HTTP server on loopback that answers with the status a test asks for
(the real controller's answers are covered by the telemetry API and lab tests).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.transport import Outcome, Transport


class Peer:
    def __init__(self) -> None:
        self.status = 200
        self.answer: dict = {"accepted": 3, "duplicates": 1}
        self.seen: list[tuple[dict, dict]] = []


@pytest.fixture
def peer() -> Iterator[tuple[Peer, str]]:
    state = Peer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.seen.append((dict(self.headers), body))
            payload = json.dumps(state.answer if state.status == 200
                                 else {"detail": f"status {state.status} for you"}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_stored_carries_counts_and_bearer_token(peer: tuple[Peer, str]) -> None:
    state, url = peer
    result = Transport(url, "tok-123").push(b'{"samples":[1,2]}')
    assert (result.outcome, result.status, result.accepted, result.duplicates) == (
        Outcome.STORED, 200, 3, 1)
    headers, body = state.seen[0]
    assert headers["Authorization"] == "Bearer tok-123"
    assert body == {"samples": [1, 2]}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(401, Outcome.UNAUTHORIZED), (403, Outcome.UNAUTHORIZED), (413, Outcome.REJECTED),
     (422, Outcome.REJECTED), (429, Outcome.RETRY), (500, Outcome.RETRY), (503, Outcome.RETRY)],
)
def test_error_statuses_are_classified(peer: tuple[Peer, str], status: int,
                                       outcome: Outcome) -> None:
    state, url = peer
    state.status = status
    result = Transport(url, "t").push(b"{}")
    assert (result.outcome, result.status) == (outcome, status)
    assert result.detail == f"status {status} for you"


def test_unreachable_controller_is_retry() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens
    result = Transport(f"http://127.0.0.1:{port}", "t", timeout_s=2).push(b"{}")
    assert result.outcome is Outcome.RETRY and result.status is None
    assert "unreachable" in result.detail


@pytest.mark.parametrize(("url", "token"), [("ftp://x", "t"), ("file:///etc/passwd", "t"),
                                            ("http://x", ""), ("http://x", "a b")])
def test_bad_configuration_is_refused(url: str, token: str) -> None:
    with pytest.raises(ValueError):
        Transport(url, token)


def test_a_keep_alive_connection_closed_by_the_server_is_retried_once_fresh() -> None:
    """The server answers as HTTP/1.1 keep-alive, then silently drops the idle connection
    (as uvicorn does after its keep-alive timeout): the next push must still be stored."""
    connections: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            connections.append(id(self.connection))
            payload = b'{"accepted": 1, "duplicates": 0}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.close_connection = True  # closes without saying "Connection: close"

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        transport = Transport(f"http://127.0.0.1:{server.server_port}", "t")
        assert transport.push(b"{}").outcome is Outcome.STORED
        second = transport.push(b"{}")
        assert second.outcome is Outcome.STORED, second.detail
        assert len(connections) == 2
    finally:
        server.shutdown()
