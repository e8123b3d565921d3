"""Alembic environment: the store's metadata, and either the connection the controller
hands over (Store start-up) or EDGEFLEET_DATABASE_URL (the `alembic` command line)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from controller.config import Settings
from controller.store.db import make_engine
from controller.store.schema import metadata

config = context.config


def _configure(**kwargs: object) -> None:
    # Batch mode: SQLite can only ALTER a table by copying it; alembic does that for us.
    context.configure(target_metadata=metadata, render_as_batch=True, compare_type=True,
                      **kwargs)


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _configure(url=Settings.from_env().db_url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    engine = make_engine(Settings.from_env().db_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
