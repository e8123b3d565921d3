"""The HTTP face of the service: GET /healthz and POST /predict, JSON in and out.

Standard library only (http.server): the runtime image carries no web framework. HTTP/1.0,
one request per connection, so stopping the server and joining its threads finishes exactly
the requests in flight. A body is checked by its headers (length, type) before a byte of it
is read. Client errors are answered {"error": "..."} and logged as one line; requests that
succeed are not logged.
"""

from __future__ import annotations

import json
import logging
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from serving.model import ImageError
from serving.service import MAX_WAITING, Service

MAX_BODY = 16 * 1024 * 1024
CONTENT_TYPES = ("image/jpeg", "image/png", "application/octet-stream")
REQUEST_TIMEOUT_S = 30.0  # a client that stalls mid-request loses its connection
ROUTES = {"/healthz": "GET", "/predict": "POST"}

log = logging.getLogger("edgefleet.serving")


class ClientError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server: Server
    server_version = "edgefleet-serving"
    timeout = REQUEST_TIMEOUT_S

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
              ) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _route(self) -> str | None:
        """The path's route when the method is its method; otherwise answers 404/405."""
        path = urlsplit(self.path).path
        method = ROUTES.get(path)
        if method is None:
            self._send(404, {"error": f"no such path {path}"})
            return None
        if self.command != method:
            self._send(405, {"error": f"{path} takes {method}"}, {"Allow": method})
            return None
        return path

    def do_GET(self) -> None:
        if self._route() == "/healthz":
            self._send(*self.server.service.health())

    def do_POST(self) -> None:
        if self._route() != "/predict":
            return
        service = self.server.service
        if not service.ready:
            self._send(503, {"error": "model is loading"}, {"Retry-After": "1"})
            return
        if not service.admit():
            log.warning("busy: %d requests already wait, answered 503", MAX_WAITING)
            self._send(503, {"error": "busy, try again"}, {"Retry-After": "1"})
            return
        try:
            self._send(200, service.predict(self._body()))
        except ClientError as exc:
            log.warning("predict from %s: %d %s", self.client_address[0], exc.status, exc)
            self._send(exc.status, {"error": str(exc)})
        except ImageError as exc:
            log.warning("predict from %s: 400 %s", self.client_address[0], exc)
            self._send(400, {"error": str(exc)})
        except Exception as exc:  # a bug, not the client's: one line, and keep serving
            log.error("predict failed: %s: %s", type(exc).__name__, exc)
            self._send(500, {"error": "internal error"})
        finally:
            service.release()

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _route  # 404 or 405

    def _body(self) -> bytes:
        """The request body, after its headers passed the checks (ClientError otherwise)."""
        if urlsplit(self.path).query:
            raise ClientError(HTTPStatus.BAD_REQUEST, "/predict takes no query parameters")
        ctype = (self.headers.get("Content-Type") or CONTENT_TYPES[-1]).split(";")[0]
        if ctype.strip().lower() not in CONTENT_TYPES:
            raise ClientError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                              f"Content-Type {ctype} is not one of {', '.join(CONTENT_TYPES)}")
        if self.headers.get("Transfer-Encoding"):
            raise ClientError(HTTPStatus.BAD_REQUEST, "send the image with a Content-Length")
        raw = self.headers.get("Content-Length", "")
        if not raw.isdigit():
            raise ClientError(HTTPStatus.BAD_REQUEST, "an encoded image body is required "
                              "(with its Content-Length)")
        length = int(raw)
        if length == 0:
            raise ClientError(HTTPStatus.BAD_REQUEST, "the body is empty: send an image")
        if length > MAX_BODY:
            raise ClientError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"body of {length} bytes is over {MAX_BODY}")
        data = self.rfile.read(length)
        if len(data) != length:
            raise ClientError(HTTPStatus.BAD_REQUEST,
                              f"body ended after {len(data)} of {length} bytes")
        return data

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Silent per request; errors are logged where they are answered."""

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        log.warning("http from %s: %s", self.client_address[0], format % args)


class Server(ThreadingHTTPServer):
    """Joins its request threads on close, so the requests in flight are answered."""

    daemon_threads = False
    block_on_close = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        self.service = service
        super().__init__(address, Handler)

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """One line (a client that hung up mid-answer, mostly), not the base's traceback."""
        log.warning("connection from %s: %s", client_address[0], sys.exc_info()[1])
