"""Page routes: each renders a shell (layout, nav, empty tables); the page's script fills it
from the REST API with the user's token. Nothing here reads the store, so a page can't show
what the API would refuse, and no page ever holds data or a secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from controller import __version__

_HERE = Path(__file__).resolve().parent
# Jinja2Templates turns autoescape on for .html; scripts and styles come only from /ui/static,
# so the policy forbids inline script and any other origin (a token in sessionStorage is
# only as safe as the page is from injected script).
templates = Jinja2Templates(directory=_HERE / "templates")
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
        " frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Nav entries: (page, label).
NAV = (("fleet", "Fleet"), ("jobs", "Jobs"), ("models", "Models"), ("registry", "Registry"),
       ("experiments", "Experiments"))

router = APIRouter(prefix="/ui", include_in_schema=False)


def _page(request: Request, template: str, page: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, {"page": page, "nav": NAV, "version": __version__, **context},
        headers=_HEADERS,
    )


@router.get("/", response_class=HTMLResponse)
def home() -> RedirectResponse:
    """`/ui/` and `/` open the fleet."""
    return RedirectResponse("/ui/fleet", status_code=307)


@router.get("/login", response_class=HTMLResponse)
def login(request: Request) -> HTMLResponse:
    # Whether a token is needed at all is no secret (the API's 401 says as much).
    return _page(request, "login.html", "login",
                 auth_required=request.app.state.api_tokens.enabled)


@router.get("/fleet", response_class=HTMLResponse)
def fleet(request: Request) -> HTMLResponse:
    return _page(request, "fleet.html", "fleet")


@router.get("/devices/{key}", response_class=HTMLResponse)
def device(request: Request, key: str) -> HTMLResponse:
    return _page(request, "device.html", "fleet", key=key)


@router.get("/jobs", response_class=HTMLResponse)
def jobs(request: Request) -> HTMLResponse:
    return _page(request, "jobs.html", "jobs")


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job(request: Request, job_id: str) -> HTMLResponse:
    return _page(request, "job.html", "jobs", key=job_id)


@router.get("/models", response_class=HTMLResponse)
def models(request: Request) -> HTMLResponse:
    return _page(request, "models.html", "models")


@router.get("/registry", response_class=HTMLResponse)
def registry(request: Request) -> HTMLResponse:
    return _page(request, "registry.html", "registry")


@router.get("/experiments", response_class=HTMLResponse)
def experiments(request: Request) -> HTMLResponse:
    return _page(request, "experiments.html", "experiments")


def install(app: FastAPI) -> None:
    """Mount the pages at /ui, their static files at /ui/static, and send / to the fleet."""
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=_HERE / "static"), name="dashboard-static")
    app.add_api_route("/", home, include_in_schema=False)
