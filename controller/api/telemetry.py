"""`POST /api/telemetry`: agents push batches with their own device token (not the admin one).

The body is read here with a hard cap (Content-Length is checked first, then the bytes
actually received), then handed to the telemetry service as raw bytes: pydantic parses and
validates it in one pass. The answer is built by hand: it is on the hot path.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from agent.protocol import MAX_BODY_BYTES
from controller.telemetry.errors import PayloadTooLarge

router = APIRouter(prefix="/api")
_TOO_LARGE = f"body larger than {MAX_BODY_BYTES} bytes; send smaller batches"


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise PayloadTooLarge(_TOO_LARGE)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(_TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/telemetry")
async def push(request: Request) -> Response:
    body = await _read_capped(request, MAX_BODY_BYTES)
    result = await request.app.state.telemetry.push(
        request.headers.get("authorization"),
        body,
        # The socket peer, never X-Forwarded-For: a header any client can write.
        request.client.host if request.client else None,
    )
    return Response(
        b'{"accepted":%d,"duplicates":%d}' % (result.accepted, result.duplicates),
        media_type="application/json",
    )
