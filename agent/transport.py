"""Push one body to `POST /api/telemetry` and classify the answer; nothing else.

Why http.client and not httpx: on a Raspberry Pi the agent's resident memory matters more
than HTTP/2 or pools for one small POST every few seconds, and http.client is already loaded
(prometheus_client needs it). One keep-alive connection is reused between pushes and
reopened after any error. The token travels only in the Authorization header, never logged.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit


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
        url = urlsplit(controller_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"controller URL must be http(s)://HOST[:PORT]: {controller_url}")
        if not token or any(c.isspace() for c in token):
            raise ValueError("the device token is empty or contains whitespace")
        self._scheme, self._host, self._port = url.scheme, url.hostname, url.port
        self.path = url.path.rstrip("/") + "/api/telemetry"
        self._token = token
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (http.client.HTTPSConnection if self._scheme == "https"
                   else http.client.HTTPConnection)
            self._conn = cls(self._host, self._port, timeout=self.timeout_s)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def push(self, data: bytes) -> PushResult:
        """POST one JSON body (already encoded: the spool keeps samples as JSON text)."""
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self._token}"}
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                conn = self._connection()
                conn.request("POST", self.path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                # A kept-alive connection the server closed while idle: one fresh try (a
                # double delivery is harmless, the controller dedupes by seq).
                if not (reused and attempt == 1):
                    return PushResult(Outcome.RETRY, None, f"controller unreachable: {exc}")
        if response.will_close:
            self.close()
        if response.status != 200:
            return self._classify(response.status, _detail(raw, response.reason))
        try:
            answer = json.loads(raw or b"{}")
            return PushResult(Outcome.STORED, 200, "ok", int(answer.get("accepted", 0)),
                              int(answer.get("duplicates", 0)))
        except (ValueError, AttributeError) as exc:
            return PushResult(Outcome.RETRY, 200, f"unreadable answer: {exc}")

    @staticmethod
    def _classify(status: int, detail: str) -> PushResult:
        if status in (401, 403):
            return PushResult(Outcome.UNAUTHORIZED, status, detail)
        if status in (413, 422):
            return PushResult(Outcome.REJECTED, status, detail)
        return PushResult(Outcome.RETRY, status, detail)


def _detail(raw: bytes, reason: str) -> str:
    """The controller's one-line `detail`, or the HTTP reason."""
    try:
        return str(json.loads(raw).get("detail") or reason)[:300]
    except (ValueError, AttributeError):
        return str(reason)[:300]
