"""Push one body to `POST /api/telemetry` and classify the answer; nothing else.

Why urllib and not httpx: on a Raspberry Pi the agent's resident memory matters more than
HTTP/2 or connection pools for one small POST every few seconds, and urllib costs nothing
to import. The token travels only in the Authorization header and is never logged.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Outcome(Enum):
    STORED = "stored"  # 200: acknowledged (accepted or duplicate)
    RETRY = "retry"  # controller down, 5xx, 429, timeout: keep the batch, back off
    REJECTED = "rejected"  # 413/422: this batch will never be accepted
    UNAUTHORIZED = "unauthorized"  # 401/403: keep the batch, tell the operator


@dataclass(frozen=True)
class PushResult:
    outcome: Outcome
    status: int | None
    detail: str
    accepted: int = 0
    duplicates: int = 0


class Transport:
    def __init__(self, controller_url: str, token: str, timeout_s: float = 5.0) -> None:
        if not controller_url.startswith(("http://", "https://")):
            raise ValueError(f"controller URL must be http:// or https://: {controller_url}")
        if not token or any(c.isspace() for c in token):
            raise ValueError("the device token is empty or contains whitespace")
        self.url = controller_url.rstrip("/") + "/api/telemetry"
        self._token = token
        self.timeout_s = timeout_s

    def push(self, body: dict[str, Any]) -> PushResult:
        data = json.dumps(body, separators=(",", ":")).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {self._token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
                return PushResult(Outcome.STORED, response.status, "ok",
                                  int(answer.get("accepted", 0)), int(answer.get("duplicates", 0)))
        except urllib.error.HTTPError as exc:
            return self._classify(exc.code, _detail(exc))
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return PushResult(Outcome.RETRY, None, f"controller unreachable: {reason}")
        except ValueError as exc:
            return PushResult(Outcome.RETRY, None, f"unreadable answer: {exc}")

    @staticmethod
    def _classify(status: int, detail: str) -> PushResult:
        if status in (401, 403):
            return PushResult(Outcome.UNAUTHORIZED, status, detail)
        if status in (413, 422):
            return PushResult(Outcome.REJECTED, status, detail)
        return PushResult(Outcome.RETRY, status, detail)


def _detail(exc: urllib.error.HTTPError) -> str:
    """The controller's one-line `detail`, or the HTTP reason."""
    try:
        return str(json.loads(exc.read()).get("detail") or exc.reason)[:300]
    except (ValueError, OSError, AttributeError):
        return str(exc.reason)[:300]
