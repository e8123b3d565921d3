"""DNS-rebinding guard: every request must name this server in `Host`, and a change (any
method but GET/HEAD/OPTIONS) that carries an `Origin` must come from one of those names.

Why: a web page on any site can make a browser send requests to 127.0.0.1 through a DNS name
that it rebinds there; the browser then sends `Host: attacker.example`. A token-less
controller on loopback would otherwise run whatever that page posts. Starlette's
TrustedHostMiddleware does the Host half but splits `[::1]:8080` at the first colon, so this
small middleware parses both headers itself.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import psutil
from starlette.types import ASGIApp, Receive, Scope, Send

from controller.api.auth import READ_METHODS

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ALLOWED_HOSTS_ENV = "EDGEFLEET_ALLOWED_HOSTS"


def host_of(value: str) -> str | None:
    """The host name of a Host header value (`name`, `name:port`, `[v6]:port`), lowercased."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 1 else None
    name, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


def _is_wildcard(listen: str) -> bool:
    try:
        return ipaddress.ip_address(listen).is_unspecified
    except ValueError:
        return False


def _local_addresses() -> set[str]:
    return {a.address.split("%")[0].lower() for addrs in psutil.net_if_addrs().values()
            for a in addrs if a.family in (socket.AF_INET, socket.AF_INET6)}


def allowed_hosts(listen: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The names a server listening on `listen` answers to.

    A specific address answers to itself (and loopback names for a loopback address); a
    wildcard (0.0.0.0, ::) to this machine's names and interface addresses. `extra` (from
    EDGEFLEET_ALLOWED_HOSTS) adds the DNS names clients use, e.g. behind a proxy or compose.
    """
    names = {listen.lower()}
    if is_loopback(listen):
        names |= LOOPBACK_NAMES
    if _is_wildcard(listen):
        names |= LOOPBACK_NAMES | _local_addresses()
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    names |= {n.strip().lower() for n in extra if n.strip()}
    return frozenset(names)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_from_env(listen: str) -> frozenset[str]:
    return allowed_hosts(listen, os.environ.get(ALLOWED_HOSTS_ENV, "").split(","))


class HostGuard:
    """ASGI middleware: 400 for a Host not in `allowed`, 403 for a foreign Origin on a change."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_of(headers.get("host", ""))
        if host not in self.allowed:
            await _refuse(send, 400, f"Host {headers.get('host', '')!r} is not a name this "
                          f"controller serves (its operator adds names with {ALLOWED_HOSTS_ENV})")
            return
        origin = headers.get("origin")
        if origin is not None and scope.get("method", "GET") not in READ_METHODS:
            origin_host = urlsplit(origin).hostname if origin != "null" else None
            if origin_host is None or origin_host.lower() not in self.allowed:
                await _refuse(send, 403, f"cross-origin change refused: Origin {origin!r} is "
                              "not this controller")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
