"""The store: SQLite in WAL mode by default, and a schema PostgreSQL accepts too."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from controller.config import Settings
from controller.store import Job, Store
from controller.store.models import Base

# Each test runs on SQLite and on a real PostgreSQL server.
pytestmark = pytest.mark.backends


def test_default_database_is_sqlite_in_wal_mode_under_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    assert settings.db_url == f"sqlite:///{tmp_path}/home/controller.db"
    store = Store(settings.db_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "home" / "controller.db").exists()
    store.dispose()


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEFLEET_DATABASE_URL", "postgresql+psycopg://u@db/edgefleet")
    assert Settings.from_env().db_url == "postgresql+psycopg://u@db/edgefleet"


def test_schema_compiles_for_postgresql() -> None:
    dialect = postgresql.dialect()
    ddl = [str(CreateTable(t).compile(dialect=dialect)) for t in Base.metadata.sorted_tables]
    ddl += [
        str(CreateIndex(i).compile(dialect=dialect))
        for t in Base.metadata.sorted_tables
        for i in t.indexes
    ]
    jobs = next(d for d in ddl if "CREATE TABLE jobs" in d)
    assert '"limit" TEXT' in jobs  # a reserved word, quoted
    assert "TIMESTAMP WITH TIME ZONE" in jobs
    assert "JSON" in next(d for d in ddl if "CREATE TABLE job_events" in d)


def test_a_failed_unit_of_work_leaves_nothing_behind(settings: Settings) -> None:
    store = Store(settings.db_url)
    with pytest.raises(RuntimeError), store.session() as s:
        s.add(Job(id="j1", playbook="ping", inventory="x", requested_by="t",
                  status="queued", timeout_s=1))
        s.flush()
        raise RuntimeError("boom")
    with store.session() as s:
        assert s.get(Job, "j1") is None
    store.dispose()
