"""Optional bearer-token check: required whenever the API listens beyond loopback."""

import hmac

from fastapi import HTTPException, Request


def require_token(request: Request) -> None:
    token: str | None = request.app.state.api_token
    if not token:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
