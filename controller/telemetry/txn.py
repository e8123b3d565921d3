"""Write transactions and the two places where SQLite and PostgreSQL need different SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import ColumnElement


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that owns the write lock from its first statement.

    On SQLite a deferred transaction that reads first and writes later fails with
    "database is locked" if another connection wrote in between (WAL snapshot); BEGIN
    IMMEDIATE takes the lock up front (waiting up to busy_timeout). PostgreSQL needs nothing:
    the writers lock the rows they read with SELECT ... FOR UPDATE.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def insert_for(table: Table, dialect: str) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (both SQLite and PostgreSQL do)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def smaller(dialect: str, a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    """Two-argument min: scalar min() on SQLite, LEAST on PostgreSQL."""
    return func.least(a, b) if dialect == "postgresql" else func.min(a, b)


def larger(dialect: str, a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.greatest(a, b) if dialect == "postgresql" else func.max(a, b)
