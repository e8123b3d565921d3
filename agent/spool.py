"""The agent's durable outbox: every sample is written here first, then pushed in order.

Why always through SQLite: one path for online and offline operation means replay order
and sample numbering can't diverge. The spool owns the sample sequence (`seq`, one per
sample, never reused within a stream) and the stream id, so an agent restart continues the
same numbering and the controller's "drop seq <= highest stored" dedupe stays correct.
It is bounded: past `max_samples` the oldest batches go, and the count of samples dropped
that way is kept and reported to the controller with every push.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.protocol import MAX_SAMPLES_PER_BATCH, Sample

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    samples TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Pending:
    """Oldest spooled samples, contiguous in seq, ready to push as one body.

    `samples_json` is the JSON array text as stored: a push splices it into the body
    instead of decoding and re-encoding every sample (most of a push's CPU on a Pi).
    """

    ids: tuple[int, int]  # first and last batch row id covered
    first_seq: int
    last_seq: int
    samples_json: str

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1

    @property
    def samples(self) -> list[dict[str, Any]]:
        return json.loads(self.samples_json)


class Spool:
    """Thread-safe (one connection, one lock): the sampler appends, the pusher drains."""

    def __init__(self, path: Path, max_samples: int = 500_000) -> None:
        if max_samples < 1:
            raise ValueError("max_samples must be at least 1")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_samples = max_samples
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a power cut may lose the last second, never corrupt the file (SD cards).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self.stream = self._meta("stream") or self._init_stream()
        self._count, newest = self._db.execute(
            "SELECT COALESCE(SUM(last_seq - first_seq + 1), 0), MAX(last_seq) FROM batches"
        ).fetchone()
        # The numbering lives in the rows themselves; `meta.next_seq` only remembers it
        # across the moments the table is empty (saved whenever rows are deleted).
        self._next_seq = max(int(self._meta("next_seq") or 1), (newest or 0) + 1)
        # Read on every cycle and push: kept in memory, written through on change.
        self._dropped = int(self._meta("dropped") or 0)

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set(self, key: str, value: str | int) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )

    def _init_stream(self) -> str:
        stream = uuid.uuid4().hex
        self._set("stream", stream)
        self._set("next_seq", 1)
        self._set("dropped", 0)
        return stream

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._dropped

    @property
    def last_seq(self) -> int:
        """The newest sample number handed out in this stream (0 before the first)."""
        with self._lock:
            return self._next_seq - 1

    @property
    def pending_samples(self) -> int:
        with self._lock:
            return self._count

    def append(self, samples: Sequence[Sample]) -> int:
        """Number and store one cycle's samples (one INSERT, its own transaction); return
        how many were dropped from the oldest end to stay within the bound."""
        if not samples:
            return 0
        with self._lock:
            first = self._next_seq
            wire = [s.wire(first + i) for i, s in enumerate(samples)]
            last = first + len(wire) - 1
            self._db.execute(
                "INSERT INTO batches (first_seq, last_seq, samples) VALUES (?, ?, ?)",
                (first, last, json.dumps(wire, separators=(",", ":"))),
            )
            self._next_seq = last + 1
            self._count += len(wire)
            if self._count <= self.max_samples:
                return 0
            self._db.execute("BEGIN IMMEDIATE")
            try:
                dropped = self._trim()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return dropped

    def _add_dropped(self, n: int) -> None:
        """Count `n` more dropped samples (inside the caller's transaction)."""
        self._dropped += n
        self._set("dropped", self._dropped)

    def _trim(self) -> int:
        """Drop whole oldest batches until within the bound (inside the caller's transaction)."""
        dropped = 0
        while self._count > self.max_samples:
            row = self._db.execute(
                "SELECT id, last_seq - first_seq + 1 FROM batches ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                break
            self._db.execute("DELETE FROM batches WHERE id = ?", (row[0],))
            self._count -= row[1]
            dropped += row[1]
        if dropped:
            self._add_dropped(dropped)
            self._set("next_seq", self._next_seq)
        return dropped

    def peek(self, max_samples: int = MAX_SAMPLES_PER_BATCH) -> Pending | None:
        """The oldest batches, merged up to `max_samples` (at least one batch)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, first_seq, last_seq, samples FROM batches ORDER BY id LIMIT 200"
            ).fetchall()
        if not rows:
            return None
        parts: list[str] = []
        count = 0
        last_row = rows[0]
        for row in rows:
            size = row[2] - row[1] + 1
            if parts and (count + size > max_samples or row[1] != last_row[2] + 1):
                break
            parts.append(row[3][1:-1])  # the stored array without its brackets
            count += size
            last_row = row
        return Pending((rows[0][0], last_row[0]), rows[0][1], last_row[2],
                       "[" + ",".join(parts) + "]")

    def ack(self, pending: Pending) -> None:
        """The controller stored (or already had) these: forget them."""
        with self._lock:
            removed = self._db.execute(
                "SELECT COALESCE(SUM(last_seq - first_seq + 1), 0) FROM batches "
                "WHERE id BETWEEN ? AND ?",
                pending.ids,
            ).fetchone()[0]
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM batches WHERE id BETWEEN ? AND ?", pending.ids)
            self._set("next_seq", self._next_seq)
            self._db.execute("COMMIT")
            self._count -= removed

    def discard(self, pending: Pending) -> None:
        """A batch the controller will never accept (422): drop it, and count it as dropped."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM batches WHERE id BETWEEN ? AND ?", pending.ids)
            self._count -= pending.count
            self._add_dropped(pending.count)
            self._set("next_seq", self._next_seq)
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
