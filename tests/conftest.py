"""Shared fixtures: a throwaway controller home and a small real Ansible project.

The project (tests/fixtures/project) runs real ansible-playbook through ansible-runner against
`local-a`/`local-b` (local connection) and `unreach` (SSH to a closed loopback port): no root,
no network, no mocks of Ansible.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine

from controller.config import Settings
from controller.jobs.manager import JobManager
from controller.store import Store
from controller.store.models import Base

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_FAST_DIRS = ("unit", "api")
_FAST_TIMEOUT_S = 60


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit and API tests each get a tight timeout (the ini default is sized for the lab)."""
    for item in items:
        if item.path.parent.name in _FAST_DIRS and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(_FAST_TIMEOUT_S))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test, never from the developer's shell."""
    for name in (
        "EDGEFLEET_HOME",
        "EDGEFLEET_DATABASE_URL",
        "EDGEFLEET_PROJECT_DIR",
        "EDGEFLEET_INVENTORY",
        "EDGEFLEET_API_TOKEN",
        "EDGEFLEET_ELECTRICITYMAPS_TOKEN",
        "EDGEFLEET_ELECTRICITYMAPS_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the test project, so runs never write into the repository."""
    dest = tmp_path_factory.mktemp("project") / "project"
    shutil.copytree(FIXTURES / "project", dest)
    return dest


@pytest.fixture
def inventory(project: Path) -> Path:
    return project / "inventory.ini"


@pytest.fixture
def settings(tmp_path: Path, project: Path, inventory: Path) -> Settings:
    """SQLite under a fresh home; EDGEFLEET_TEST_DATABASE_URL runs on another database
    (e.g. PostgreSQL), emptied before each test."""
    url = os.environ.get("EDGEFLEET_TEST_DATABASE_URL")
    if url:
        engine = create_engine(url)
        Base.metadata.drop_all(engine)
        engine.dispose()
    return Settings(
        home=tmp_path / "home", project_dir=project, inventory=inventory, database_url=url
    )


@pytest.fixture
def manager(settings: Settings) -> Iterator[JobManager]:
    store = Store(settings.db_url)
    mgr = JobManager(settings, store)
    yield mgr
    mgr.shutdown()
    store.dispose()


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.1) -> None:
    """Poll until `predicate()` is truthy; fail the test (not hang) when it never is."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


def job_processes(job_id: str) -> list[str]:
    """Names of the live processes of one job: ansible-playbook, its workers, module children.

    Runner puts the job's artifact dir in AWX_ISOLATED_DATA_DIR, inherited by every child.
    """
    found = []
    for proc in psutil.process_iter(["name", "status", "environ"]):
        info = proc.info
        if info["status"] == psutil.STATUS_ZOMBIE or not info["environ"]:
            continue
        if job_id in info["environ"].get("AWX_ISOLATED_DATA_DIR", ""):
            found.append(info["name"])
    return found
