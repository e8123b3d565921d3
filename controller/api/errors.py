"""Every error leaves the API as `{"detail": "<one line>"}` with a fitting status code."""

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from controller.api.openapi import allowed_methods
from controller.errors import ControllerError


def _one_line(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ControllerError)
    async def controller_error(_req: Request, exc: ControllerError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        return JSONResponse({"detail": str(exc)}, status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _one_line(exc)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(req: Request, exc: HTTPException) -> Response:
        """405s name every documented method of the path (see openapi.allowed_methods)."""
        if exc.status_code == 405 and (methods := allowed_methods(app, req.url.path)):
            headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
            return JSONResponse({"detail": exc.detail}, status_code=405, headers=headers)
        return await http_exception_handler(req, exc)
