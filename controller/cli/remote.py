"""The CLI as a client of a running controller: its URL, the operator token, typed errors.

The token comes from EDGEFLEET_API_TOKEN (never a flag: flags land in shell history and `ps`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import typer

from controller.errors import ControllerError

TOKEN_ENV = "EDGEFLEET_API_TOKEN"  # noqa: S105 - the name of the variable, not a secret
URL_ENV = "EDGEFLEET_CONTROLLER_URL"
URL_HELP = f"The controller, e.g. http://HOST:8080 (default ${URL_ENV}; token from ${TOKEN_ENV})."
# The `--controller` option of every command that can talk to a running controller.
ControllerOpt = Annotated[str | None, typer.Option("--controller", envvar=URL_ENV,
                                                   show_envvar=False, help=URL_HELP)]


class ControllerRequestError(ControllerError):
    """The controller was unreachable or refused the request; the message is its answer."""


def check_url(url: str) -> str:
    """`http(s)://host[:port]`, without a path: a bare `host:port` is refused, not guessed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ControllerRequestError(f"--controller {url!r}: give a URL like http://HOST:8080")
    return url.rstrip("/")


def post(url: str, path: str, body: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """POST JSON to the controller; any non-2xx becomes one line with the server's detail."""
    return _call("POST", url, path, body, timeout)


def get(url: str, path: str, timeout: float = 60.0) -> Any:
    """GET from the controller; errors as for `post`."""
    return _call("GET", url, path, None, timeout)


def auth_headers() -> dict[str, str]:
    """The operator's bearer token from the environment, if set."""
    token = os.environ.get(TOKEN_ENV)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _call(method: str, url: str, path: str, body: dict[str, Any] | None, timeout: float) -> Any:
    base = check_url(url)
    try:
        res = httpx.request(method, f"{base}{path}", json=body, headers=auth_headers(),
                            timeout=timeout)
    except httpx.HTTPError as exc:
        raise ControllerRequestError(f"controller {base} unreachable: {exc}") from None
    raise_for_answer(res, base, path)
    return res.json()


def raise_for_answer(res: httpx.Response, base: str, path: str) -> None:
    """A non-2xx answer as one line with the server's own detail (and the token hint)."""
    if res.is_success:
        return
    try:
        detail = res.json().get("detail", res.text)
    except ValueError:
        detail = res.text[:200]
    hint = f" (set {TOKEN_ENV})" if res.status_code == 401 and TOKEN_ENV not in os.environ else ""
    raise ControllerRequestError(f"controller {base}{path}: {res.status_code} {detail}{hint}")


def follow(url: str, path: str, running: Callable[[dict[str, Any]], bool], timeout_s: float,
           on_update: Callable[[dict[str, Any]], None], what: str,
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep, poll_s: float = 1.0) -> dict[str, Any]:
    """Poll GET `path` until `running(record)` is false, bounded by timeout_s; the work goes
    on on the controller after a timeout, and the message says where to look."""
    deadline = clock() + timeout_s
    while True:
        record = get(url, path)
        on_update(record)
        if not running(record):
            return record
        if clock() >= deadline:
            raise ControllerRequestError(f"{what} still running after {timeout_s:g} s (it goes "
                                         f"on on the controller: GET {path})")
        sleep(poll_s)
