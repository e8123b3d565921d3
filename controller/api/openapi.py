"""The OpenAPI document as the contract: our error shape, the auth, and every status we send.

FastAPI documents its own 422 body (`HTTPValidationError`, an array), but errors.py answers
every error as `{"detail": "<one line>"}`; nothing documents 401/403 from `require_token`
or the 400/403 of HostGuard. This module post-processes `app.openapi()` once, so the routers
only declare what is particular to them (`responses=errors(404, 409)`).
tests/api/test_openapi_contract.py checks the server against the result (schemathesis).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from controller.api.auth import READ_METHODS

_DESCRIPTIONS = {
    400: "Bad request (e.g. a Host header that is not one of the server's names).",
    401: "Missing or wrong bearer token.",
    403: "Not allowed: a read-only token on a change, or a foreign Origin on a change.",
    404: "No such resource.",
    408: "The body did not arrive in time.",
    409: "Valid, but the current state forbids it (e.g. hosts busy, job already finished).",
    413: "Body too large.",
    422: "Invalid input: the schema, or a rule the schema cannot express (reason in detail).",
    502: "An upstream service answered with an error.",
    503: "A service this endpoint needs is not configured or not available.",
}
BEARER = "bearerAuth"
DEVICE_AUTH = "deviceAuth"


class ErrorDetail(BaseModel):
    """Every error body: one line an operator can act on (controller/api/errors.py)."""

    detail: str = Field(description="What was wrong, in one line.")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these error statuses, all with the ErrorDetail body."""
    return {code: {"model": ErrorDetail, "description": _DESCRIPTIONS[code]} for code in codes}


def answer(model: Any, *error_codes: int, status: int = 200,
           description: str = "OK") -> dict[int | str, dict[str, Any]]:
    """`responses=` for the success body and these errors. Documented only (pair it with
    `response_model=None`), so the handler's dict goes out exactly as built; the contract test
    checks the two agree."""
    return {status: {"model": model, "description": description}, **errors(*error_codes)}


# Routes whose files belong to the telemetry work (controller/api/telemetry.py, devices.py):
# documented here until their routers declare it themselves (see the issue 14 notes).
_OVERRIDES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/telemetry"): {
        "security": [{DEVICE_AUTH: []}],
        "responses": {
            "200": {"description": "Stored.", "content": {"application/json": {"schema": {
                "type": "object", "required": ["accepted", "duplicates"],
                "properties": {"accepted": {"type": "integer", "minimum": 0},
                               "duplicates": {"type": "integer", "minimum": 0}}}}}},
            **{str(c): {} for c in (400, 401, 403, 408, 409, 413, 422, 503)},
        },
    },
    ("get", "/metrics"): {
        "responses": {"200": {"description": "Prometheus text exposition format.",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}},
    },
    ("get", "/api/devices/{key}"): {"responses": {"404": {}}},
    ("get", "/api/devices/{key}/metrics"): {"responses": {"404": {}}},
}


def allowed_methods(app: FastAPI, path: str) -> list[str] | None:
    """The documented methods of the operation path that `path` is (None: not an API path).

    Starlette's 405 names the methods of the first route whose path matched, so GET+POST on
    one path, split over two routes, answered `Allow: POST`. A literal path wins over a
    template (/api/discovery/claim over /api/discovery/{device_id})."""
    matches = [(template.count("{"), methods) for template, regex, methods in _paths(app)
               if regex.fullmatch(path)]
    if not matches:
        return None
    fewest = min(n for n, _ in matches)
    return sorted({m for n, methods in matches if n == fewest for m in methods})


@cache
def _compiled(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _paths(app: FastAPI) -> list[tuple[str, re.Pattern[str], list[str]]]:
    return [(template, _compiled(template), [m.upper() for m in item])
            for template, item in app.openapi().get("paths", {}).items()]


def install(app: FastAPI) -> None:
    """Replace `app.openapi` with the post-processed document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _error_response(code: str) -> dict[str, Any]:
    return {"description": _DESCRIPTIONS[int(code)], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorDetail"}}}}


def build(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with our error body, security schemes and error statuses."""
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes,
                      description=app.description)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["ErrorDetail"] = ErrorDetail.model_json_schema()
    # bearerAuth comes from require_token's HTTPBearer; the device token is read by hand.
    components.setdefault("securitySchemes", {})[DEVICE_AUTH] = {
        "type": "http", "scheme": "bearer",
        "description": "The device's own token (from enrolment)."}
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            override = _OVERRIDES.get((method, path), {})
            responses: dict[str, Any] = op.setdefault("responses", {})
            for code, value in override.get("responses", {}).items():
                responses[code] = value or _error_response(code)
            if "security" in override:
                op["security"] = override["security"]
            # Every request passes HostGuard: a wrong Host is 400, a foreign Origin on a change 403.
            responses.setdefault("400", _error_response("400"))
            if method.upper() not in READ_METHODS:
                responses.setdefault("403", _error_response("403"))
            if any(BEARER in s or DEVICE_AUTH in s for s in op.get("security", [])):
                responses.setdefault("401", _error_response("401"))
            if "422" in responses or op.get("parameters") or op.get("requestBody"):
                responses["422"] = _error_response("422")
            for code in list(responses):
                if code[0] in "45" and "content" not in responses[code]:
                    responses[code] = _error_response(code)
            op["responses"] = dict(sorted(responses.items()))
    return doc
