"""Shared fixtures: a throwaway controller home and a small real Ansible project.

The project (tests/fixtures/project) runs real ansible-playbook through ansible-runner against
`local-a`/`local-b` (local connection) and `unreach` (SSH to a closed loopback port): no root,
no network, no mocks of Ansible.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text

from controller.config import Settings
from controller.jobs.manager import JobManager
from controller.store import Store
from tests import postgres

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_FAST_DIRS = ("unit", "api")
_FAST_TIMEOUT_S = 60


def pytest_report_header(config: pytest.Config) -> str:
    """Free disk up front: a full run peaks at several GB of registries, vfs stores and lab
    root filesystems (each removed when its module ends, tests/scratch.py)."""
    free = shutil.disk_usage(tempfile.gettempdir()).free
    return f"edgefleet: {free / 2**30:.1f} GiB free in {tempfile.gettempdir()}"


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


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `backends` that use the store run once per database backend."""
    if "database_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "backends"
    ):
        metafunc.parametrize("database_url", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.Cluster]:
    """One real PostgreSQL server for the session, started only if a test asks for it."""
    bindir = postgres.binaries()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not installed (scripts/bootstrap.sh installs them)")
    cluster = postgres.Cluster(bindir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None = SQLite under the test's home. PostgreSQL: an empty database of the test's own.

    EDGEFLEET_TEST_DATABASE_URL runs every store test on that (external) database instead,
    emptied before each test."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("pg_cluster").fresh_database()
    url = os.environ.get("EDGEFLEET_TEST_DATABASE_URL")
    if url:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    return url


@pytest.fixture
def settings(
    tmp_path: Path, project: Path, inventory: Path, database_url: str | None
) -> Settings:
    return Settings(
        home=tmp_path / "home", project_dir=project, inventory=inventory,
        database_url=database_url,
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
