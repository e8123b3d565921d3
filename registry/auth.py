"""Registry authentication: Basic and Bearer-token challenges, credentials lookup, token cache.

Credentials are never logged or put in exception messages; `Credentials.__repr__` hides them."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from registry.errors import Denied, InvalidResponse, Unauthorized

# auth-param = token "=" ( token / quoted-string ); quoted strings may hold commas (scope lists).
_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*(?:,|$)')
_EARLY_REFRESH_S = 5.0


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge:
    """One `WWW-Authenticate` challenge: scheme plus its parameters (quoted values unescaped)."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        raise InvalidResponse("registry sent an empty WWW-Authenticate challenge")
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if not match or match.end() == pos:
            raise InvalidResponse("registry sent a malformed WWW-Authenticate challenge")
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[match.group(1).lower()] = value
        pos = match.end()
    return Challenge(scheme.lower(), params)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def docker_config_credentials(registry_url: str, config: Path | None = None) -> Credentials | None:
    """Credentials for this registry from `~/.docker/config.json` `auths` (no helpers run)."""
    path = config or Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
    try:
        auths = json.loads(path.read_text()).get("auths", {})
    except (OSError, ValueError, AttributeError):
        return None
    host = urlsplit(registry_url).netloc or registry_url
    for key in (host, f"http://{host}", f"https://{host}"):
        entry = auths.get(key) if isinstance(auths, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("auth"), str):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except ValueError:
                return None
            return Credentials(user, password) if user else None
    return None


def scope_for(method: str, path: str) -> str | None:
    """The token scope a request needs, so a cached token can be sent before any challenge."""
    if path.rstrip("/") == "/v2/_catalog":
        return "registry:catalog:*"
    match = re.match(r"^/v2/(.+?)/(?:manifests|blobs|tags)/", path)
    if not match:
        return None
    action = "pull" if method in ("GET", "HEAD") else "pull,push"
    return f"repository:{match.group(1)}:{action}"


class RegistryAuth(httpx.Auth):
    """httpx auth flow: answer one challenge per request, cache Bearer tokens by scope."""

    requires_response_body = True

    def __init__(self, credentials: Credentials | None) -> None:
        self.credentials = credentials
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._bearer: Challenge | None = None  # last Bearer challenge (realm + service)
        self._basic_ok = False
        self._lock = threading.Lock()

    def _cached(self, scope: str | None) -> str | None:
        if not self._bearer or not scope:
            return None
        key = (self._bearer.params.get("realm", ""), self._bearer.params.get("service", ""), scope)
        with self._lock:
            token, expires = self._tokens.get(key, ("", 0.0))
        return token if token and time.monotonic() < expires else None

    def _authorize(self, request: httpx.Request) -> None:
        scope = scope_for(request.method, request.url.path)
        if token := self._cached(scope):
            request.headers["Authorization"] = f"Bearer {token}"
        elif self._basic_ok and self.credentials:
            request.headers["Authorization"] = self.credentials.basic_header()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._authorize(request)
        response = yield request
        if response.status_code != 401:
            return
        header = response.headers.get("WWW-Authenticate", "")
        if not header:
            return
        challenge = parse_challenge(header)
        if challenge.scheme == "basic":
            if not self.credentials:
                raise Unauthorized("registry requires credentials (Basic auth) and none were given")
            request.headers["Authorization"] = self.credentials.basic_header()
            self._basic_ok = True
        elif challenge.scheme == "bearer":
            if challenge.params.get("error") == "insufficient_scope" and "Authorization" in (
                request.headers
            ):
                raise Denied(f"token lacks scope {challenge.params.get('scope', '?')!r}")
            self._bearer = challenge
            token_response = yield self._token_request(challenge)
            token = self._store_token(challenge, token_response)
            request.headers["Authorization"] = f"Bearer {token}"
        else:
            raise Unauthorized(f"unsupported auth scheme {challenge.scheme!r}")
        retry = yield request
        if retry.status_code == 401:
            again = parse_challenge(retry.headers.get("WWW-Authenticate", "x"))
            if again.params.get("error") == "insufficient_scope":
                raise Denied(f"not allowed: scope {again.params.get('scope', '?')!r}")
            raise Unauthorized("registry refused the credentials")

    def _token_request(self, challenge: Challenge) -> httpx.Request:
        realm = challenge.params.get("realm")
        if not realm or urlsplit(realm).scheme not in ("http", "https"):
            raise InvalidResponse("Bearer challenge without a usable realm URL")
        params = [("service", challenge.params["service"])] if "service" in challenge.params else []
        params += [("scope", s) for s in challenge.params.get("scope", "").split(" ") if s]
        headers = {"Authorization": self.credentials.basic_header()} if self.credentials else {}
        return httpx.Request("GET", realm, params=params, headers=headers)

    def _store_token(self, challenge: Challenge, response: httpx.Response) -> str:
        if response.status_code in (401, 403):
            raise Unauthorized("token server refused the credentials")
        if response.status_code != 200:
            raise Unauthorized(f"token server answered HTTP {response.status_code}")
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
            expires_in = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            raise InvalidResponse("token server sent a body that is not a token") from None
        if not isinstance(token, str) or not token:
            raise InvalidResponse("token server sent no token")
        key = (challenge.params.get("realm", ""), challenge.params.get("service", ""),
               challenge.params.get("scope", ""))
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(expires_in - _EARLY_REFRESH_S, 1))
        return token
