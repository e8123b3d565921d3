"""Schema migrations (Alembic): bring a database to head on start, report drift, add revisions.

Why not `create_all`: a deployed PostgreSQL store outlives releases, and `create_all` never
changes a table that exists. Every start runs `upgrade head` instead (a no-op at head).
Two processes starting at once on one database serialise on a lock: an advisory lock on
PostgreSQL, an flock beside the SQLite file.

A store created before migrations existed (tables, no `alembic_version`) is stamped at the
baseline revision, whose schema is exactly what `create_all` made, then upgraded.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
_PG_LOCK_KEY = 0x6566_6D69  # "efmi": any constant shared by every controller process


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.attributes["connection"] = connection
    return cfg


@cache
def head() -> str:
    """The newest revision shipped with this code (read once per process)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads {heads}: merge them "
                           "(alembic merge heads) before starting the controller")
    return heads[0]


def current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to head; cheap when it is already there (one SELECT)."""
    with _migration_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        if current(conn) == head():
            return
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" not in tables and "jobs" in tables:
            command.stamp(alembic_config(conn), BASELINE)
        command.upgrade(alembic_config(conn), "head")


def drift(engine: Engine) -> list[Any]:
    """Differences between the models and a database at head ([] = migrations are complete)."""
    from controller.store.schema import metadata

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def new_revision(message: str) -> Path:
    """Autogenerate a revision for model changes, diffing against a scratch SQLite at head."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/scratch.db")
        upgrade(engine)
        with engine.begin() as conn:
            script = command.revision(alembic_config(conn), message=message, autogenerate=True)
        engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic made no single revision")
    return Path(script.path)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    db = engine.url.database if engine.dialect.name == "sqlite" else None
    if not db or db == ":memory:":
        yield
        return
    fd = os.open(f"{db}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def main() -> None:
    """`python -m controller.store.migrate "message"`: what `make migration` runs."""
    if len(sys.argv) != 2 or not sys.argv[1].strip():
        sys.exit('usage: python -m controller.store.migrate "what the revision changes"')
    print(new_revision(sys.argv[1].strip()))


if __name__ == "__main__":
    main()
