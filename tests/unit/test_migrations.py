"""Alembic migrations: head matches the models on SQLite and PostgreSQL, the CLI works from
the repository, pre-migration databases are adopted, concurrent starts don't collide."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Column, Integer, Table, create_engine, inspect, text

from controller.config import Settings
from controller.store import Job, Store, migrate
from controller.store.schema import metadata

REPO = Path(__file__).resolve().parents[2]
ALEMBIC = Path(sys.executable).parent / "alembic"

pytestmark = pytest.mark.backends


def test_head_matches_the_models(settings: Settings) -> None:
    """Fails when a table or column is added without a revision: run `make migration`."""
    store = Store(settings.db_url)
    with store.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
    assert migrate.drift(store.engine) == []
    store.dispose()


def test_drift_is_reported_for_a_table_without_a_revision(settings: Settings) -> None:
    store = Store(settings.db_url)
    extra = Table("not_migrated_yet", metadata, Column("id", Integer, primary_key=True))
    try:
        diffs = migrate.drift(store.engine)
    finally:
        metadata.remove(extra)
    assert [d[0] for d in diffs] == ["add_table"]
    assert diffs[0][1].name == "not_migrated_yet"
    store.dispose()


def test_downgrade_to_base_and_back(settings: Settings) -> None:
    store = Store(settings.db_url)
    with store.engine.begin() as conn:
        from alembic import command

        command.downgrade(migrate.alembic_config(conn), "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(store.engine)
    assert migrate.drift(store.engine) == []
    store.dispose()


def test_alembic_command_line_uses_edgefleet_database_url(settings: Settings) -> None:
    env = dict(os.environ, EDGEFLEET_DATABASE_URL=settings.db_url,
               EDGEFLEET_HOME=str(settings.home))
    for args in (["upgrade", "head"], ["check"], ["current"]):
        res = subprocess.run([str(ALEMBIC), *args], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
    assert migrate.head() in res.stdout  # `current` names the head revision


def test_a_database_made_before_migrations_is_adopted_with_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    # What the store's create_all made before migrations existed: the baseline's schema
    # (later revisions add tables and columns), with no alembic_version table.
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), migrate.BASELINE)
        conn.execute(text("DROP TABLE alembic_version"))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO jobs (id, playbook, inventory, extra_vars, targets,"
                          " requested_by, status, timeout_s, created_at) VALUES ('j1', 'ping',"
                          " 'x', '{}', '[]', 't', 'successful', 1, '2026-01-01')"))
    engine.dispose()
    store = Store(url)
    with store.session() as s:
        assert s.get(Job, "j1").status == "successful"
    with store.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
    store.dispose()


def test_concurrent_first_starts_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/race.db"
    errors: list[BaseException] = []

    def start() -> None:
        try:
            Store(url).dispose()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
