"""`POST /api/telemetry` (agents push batches with their own device token, not the admin one)
and the controller's `/metrics` (its ingest counters, behind the admin API's token).

The order matters against stalled and unauthenticated uploads: the token is checked from
the headers before a byte of the body is read (401 at once), the declared size next (413),
then the body is read with a hard cap and a total deadline (408). Those early answers close
the connection, so the rest of a body never arrives and nothing waits on it. A client that
goes away mid-body is counted, not logged: each abort used to log a 64-line traceback.
The accepted answer is built by hand: it is on the hot path.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from agent.protocol import MAX_BODY_BYTES
from controller.api.auth import require_token
from controller.telemetry.errors import BodyTimeout, PayloadTooLarge, TelemetryError
from controller.telemetry.metrics import CONTENT_TYPE
from controller.telemetry.service import TelemetryService

router = APIRouter()
log = logging.getLogger("edgefleet.telemetry")
_TOO_LARGE = f"body larger than {MAX_BODY_BYTES} bytes; send smaller batches"
_MAX_LENGTH_DIGITS = len(str(MAX_BODY_BYTES))


async def _read_capped(request: Request, limit: int, deadline_s: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or len(declared) > _MAX_LENGTH_DIGITS
                                 or int(declared) > limit):
        raise PayloadTooLarge(_TOO_LARGE)
    chunks, size = [], 0
    try:
        async with asyncio.timeout(deadline_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(_TOO_LARGE)
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTimeout(f"body not received within {deadline_s:g} s; "
                          "send it in one go, or smaller batches") from None
    return b"".join(chunks)


def _refuse_and_close(exc: TelemetryError) -> Response:
    """The error answer, closing the connection: the body was not (fully) read, and on a
    kept-alive connection the server would otherwise wait for the rest of it."""
    headers = {"connection": "close"}
    if exc.http_status == 401:
        headers["www-authenticate"] = "Bearer"
    return JSONResponse({"detail": str(exc)}, status_code=exc.http_status, headers=headers)


@router.post("/api/telemetry")
async def push(request: Request) -> Response:
    service: TelemetryService = request.app.state.telemetry
    try:
        token_hash = await service.authenticate(request.headers.get("authorization"))
        body = await _read_capped(request, MAX_BODY_BYTES, service.settings.body_timeout_s)
    except TelemetryError as exc:
        service.counters.count(exc.outcome)
        return _refuse_and_close(exc)
    except ClientDisconnect:
        service.counters.count("aborted")
        log.debug("a push was aborted by its client mid-body")
        return Response(status_code=400)  # never sent: the client is gone
    try:
        result = await service.push(
            token_hash, body,
            # The socket peer, never X-Forwarded-For: a header any client can write.
            request.client.host if request.client else None,
        )
    except TelemetryError as exc:
        service.counters.count(exc.outcome)
        raise
    service.counters.count("stored")
    return Response(
        b'{"accepted":%d,"duplicates":%d}' % (result.accepted, result.duplicates),
        media_type="application/json",
    )


@router.get("/metrics", dependencies=[Depends(require_token)])
def metrics(request: Request) -> Response:
    """Prometheus text format; with EDGEFLEET_API_TOKEN set, scrape with the read-only token."""
    return Response(request.app.state.telemetry.counters.exposition(), media_type=CONTENT_TYPE)
