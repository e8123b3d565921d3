"""Fixtures for the collector tests: a context on fake trees, a fake clock; no GPU."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.collectors.base import CollectorContext
from tests.clock import Clock
from tests.unit.agent.fake_pynvml import FakeNvml
from tests.unit.agent.helpers import Commands

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """These are unit tests: the tight unit timeout (tests/conftest.py keys it on the dir name)."""
    for item in items:
        if item.path.is_relative_to(_HERE) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(60))


@pytest.fixture
def clock() -> Clock:
    return Clock(1000.0)


@pytest.fixture
def make_ctx(tmp_path: Path, clock: Clock) -> Callable[..., CollectorContext]:
    """A context on empty proc/sys/etc trees unless told otherwise; no vcgencmd, no GPU."""

    def make(**kw: object) -> CollectorContext:
        for key in ("proc_root", "sys_root", "etc_root"):
            if key not in kw:
                path = tmp_path / ("empty_" + key)
                path.mkdir(exist_ok=True)
                kw[key] = path
        kw.setdefault("which", lambda _name: None)
        kw.setdefault("run", Commands({}))
        kw.setdefault("monotonic", clock)
        kw.setdefault("machine", "x86_64")
        kw.setdefault("hostname", "dev-01")
        kw.setdefault("agent_version", "0.1.0")
        kw.setdefault("pynvml", FakeNvml(library=False))
        return CollectorContext(**kw)  # type: ignore[arg-type]

    return make
