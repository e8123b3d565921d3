"""Debian's Chromium, headless, driven by Playwright: one browser per test session.

Never `playwright install`: the browser is the system's /usr/bin/chromium (scripts/bootstrap.sh
installs it), with a fresh profile and everything that would reach the internet turned off.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "tests" / "screenshots"


@contextmanager
def chromium(profile: Path) -> Iterator[object]:
    """A persistent context on a fresh profile dir (Playwright refuses --user-data-dir in args)."""
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip("browser tests need Debian's chromium (scripts/bootstrap.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


class PageErrors:
    """Script errors and console errors (CSP violations included) seen by a page."""

    def __init__(self, page: object) -> None:
        self.seen: list[str] = []
        page.on("pageerror", lambda exc: self.seen.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and self.seen.append(
            f"console: {msg.text}"))

    def unexpected(self, allowed: tuple[str, ...] = ()) -> list[str]:
        """Errors other than the failed requests a test provoked on purpose (by status)."""
        return [e for e in self.seen if not any(a in e for a in allowed)]


def shot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: object, base_url: str, token: str, next_path: str = "/ui/fleet") -> None:
    """Through the login form, as a user would; lands on `next_path` with the role shown."""
    page.goto(f"{base_url}/ui/login?next={quote(next_path)}")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"**{next_path}")
    page.wait_for_selector("#whoami:has-text('role:')")
