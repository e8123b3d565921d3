"""A real HTTP server on loopback that answers like Electricity Maps v3 from fixture files
(shared by the carbon unit tests and the benchmark API tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "electricitymaps"
TOKEN = "test-token-5f1c"  # a made-up token, only ever sent to 127.0.0.1


@dataclass
class Route:
    status: int
    fixture: str
    delay_s: float = 0.0


@dataclass
class FakeElectricityMaps:
    """Routes keyed by (path, zone); records each request's path, query and auth header."""

    url: str = ""
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)

    def serve(self, path: str, zone: str, status: int, fixture: str, delay_s: float = 0.0):
        self.routes[(path, zone)] = Route(status, fixture, delay_s)

    def calls(self, path: str) -> int:
        return sum(1 for r in self.requests if r["path"] == path)


def _handler(api: FakeElectricityMaps) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            api.requests.append(
                {"path": url.path, "auth": self.headers.get("auth-token", ""), **query}
            )
            route = api.routes.get((url.path, query.get("zone", "")))
            if route is None:
                route = Route(404, "error_401.json")
            time.sleep(route.delay_s)
            body = (FIXTURES / route.fixture).read_bytes()  # an absolute path stays as it is
            try:
                self.send_response(route.status)
                kind = "application/json" if route.fixture.endswith(".json") else "text/html"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@pytest.fixture
def fake_api() -> Iterator[FakeElectricityMaps]:
    api = FakeElectricityMaps()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()
    thread.join(5)
