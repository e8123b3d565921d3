"""A real controller (`edgefleet controller serve`) on loopback with operator and read-only
tokens, running real ansible-playbook on the small test project, and a headless Chromium."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser.chromium import PageErrors, chromium
from tests.lab.conftest import Controller, free_port


@dataclass
class LocalController(Controller):
    read_token: str = ""
    project: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return dict(super().env(), EDGEFLEET_API_READ_TOKEN=self.read_token,
                    EDGEFLEET_PROJECT_DIR=str(self.project), **self.extra_env)


def local_controller(project: Path, home: Path, **extra_env: str) -> LocalController:
    """On loopback with both tokens; `extra_env` e.g. the registry URL it is to use."""
    return LocalController("127.0.0.1", free_port(), home, project / "inventory.ini",
                           secrets.token_urlsafe(24), read_token=secrets.token_urlsafe(24),
                           project=project, extra_env=extra_env)


@pytest.fixture(scope="module")
def served(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalController]:
    with local_controller(project, tmp_path_factory.mktemp("dashboard-home")) as ctl:
        yield ctl


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Per module, not per session: while Playwright's sync API is open, the main thread has
    a running asyncio loop, which breaks every later sync asyncio user in the session
    (zeroconf's sync API, a second Playwright in the lab tests)."""
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def new_page(browser: object) -> Iterator[Callable[[], tuple[object, PageErrors]]]:
    """Fresh tabs (each its own sessionStorage, so each starts logged out)."""
    pages = []

    def make() -> tuple[object, PageErrors]:
        page = browser.new_page()
        page.set_default_timeout(30_000)
        pages.append(page)
        return page, PageErrors(page)

    yield make
    for page in pages:
        page.close()
