"""Bearer tokens with two roles: `operator` may change the fleet, `read` may only look.

Auth is on once an operator token is configured (it must be, beyond loopback). Any method
other than GET/HEAD/OPTIONS is a change, so a new POST or DELETE endpoint is guarded without
anyone remembering to mark it. Without an operator token (loopback only) everyone operates.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from controller.api.schemas import WhoAmI
from controller.errors import ControllerError

Role = Literal["operator", "read"]
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_TOKEN_CHARS = 16


class Unauthorized(ControllerError):
    http_status = 401


class Forbidden(ControllerError):
    http_status = 403


class TokenConfigError(ControllerError):
    """A token set-up that would silently weaken or break auth."""


@dataclass(frozen=True)
class ApiTokens:
    """The configured tokens; `read` alone is refused (it would guard nothing)."""

    operator: str | None = None
    read: str | None = None

    def __post_init__(self) -> None:
        if self.read and not self.operator:
            raise TokenConfigError(
                "EDGEFLEET_API_READ_TOKEN is set without EDGEFLEET_API_TOKEN: set the operator"
                " token too, or the read-only token would guard nothing")
        if self.read and hmac.compare_digest(self.read.encode(), (self.operator or "").encode()):
            raise TokenConfigError("the read-only and operator tokens must differ")
        for name, value in (("EDGEFLEET_API_TOKEN", self.operator),
                            ("EDGEFLEET_API_READ_TOKEN", self.read)):
            if value is not None and len(value) < MIN_TOKEN_CHARS:
                raise TokenConfigError(f"{name} must be at least {MIN_TOKEN_CHARS} characters "
                                       "(e.g. python3 -c 'import secrets; "
                                       "print(secrets.token_urlsafe(24))')")

    @property
    def enabled(self) -> bool:
        return bool(self.operator)

    def role_of(self, authorization: str | None) -> Role | None:
        """The role a `Bearer <token>` header grants; None for no or an unknown token."""
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return None
        # Compare against every token (no early exit), so timing tells nothing about which.
        is_operator = hmac.compare_digest(given.encode(), (self.operator or "").encode())
        is_read = bool(self.read) and hmac.compare_digest(given.encode(),
                                                          (self.read or "").encode())
        return "operator" if is_operator else "read" if is_read else None


# Declares the scheme in the OpenAPI document (every guarded operation lists it); the check
# itself stays below, so a missing header is our 401 with our body, not FastAPI's 403.
bearer = HTTPBearer(auto_error=False, scheme_name="bearerAuth",
                    description="EDGEFLEET_API_TOKEN (operator) or EDGEFLEET_API_READ_TOKEN.")


def require_token(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Router dependency: 401 without a known token, 403 when a read token tries a change."""
    tokens: ApiTokens = request.app.state.api_tokens
    if not tokens.enabled:
        request.state.role = "operator"
        return
    role = tokens.role_of(request.headers.get("authorization"))
    if role is None:
        raise Unauthorized("missing or wrong bearer token")
    if role != "operator" and request.method not in READ_METHODS:
        raise Forbidden(f"this token is read-only: {request.method} {request.url.path} needs"
                        " the operator token")
    request.state.role = role


router = APIRouter(prefix="/api/auth")


# Not openapi.answer(): openapi.py imports this module.
@router.get("/whoami", response_model=None, responses={200: {"model": WhoAmI, "description": "OK"}})
def whoami(request: Request) -> dict[str, object]:
    """What this token may do: the dashboard asks once at login and hides what it can't."""
    tokens: ApiTokens = request.app.state.api_tokens
    return {"auth_required": tokens.enabled, "role": request.state.role,
            "can_operate": request.state.role == "operator"}
