"""The spool: ordered, numbered, durable across restarts, bounded with counted drops."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.protocol import Sample
from agent.spool import Spool


def samples(n: int, name: str = "cpu_usage_ratio") -> list[Sample]:
    return [Sample(name, i / 10, "ratio", 1000.0 + i, "procfs") for i in range(n)]


def test_samples_are_numbered_contiguously_and_peeked_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    spool.append(samples(3))
    spool.append(samples(2))
    pending = spool.peek()
    assert (pending.first_seq, pending.last_seq) == (1, 5)
    assert [s["seq"] for s in pending.samples] == [1, 2, 3, 4, 5]
    assert spool.pending_samples == 5
    spool.ack(pending)
    assert spool.peek() is None and spool.pending_samples == 0


def test_peek_merges_whole_batches_up_to_the_limit(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    for _ in range(4):
        spool.append(samples(3))
    first = spool.peek(max_samples=7)
    assert (first.first_seq, first.last_seq) == (1, 6), "never splits a batch"
    spool.ack(first)
    rest = spool.peek(max_samples=7)
    assert (rest.first_seq, rest.last_seq) == (7, 12)


def test_restart_keeps_stream_numbering_and_pending_samples(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    spool.append(samples(4))
    stream = spool.stream
    spool.close()
    again = Spool(tmp_path / "s.db")
    assert again.stream == stream
    assert again.pending_samples == 4
    again.append(samples(1))
    assert again.peek().last_seq == 5, "numbering continues, never restarts at 1"


def test_new_spool_file_is_a_new_stream(tmp_path: Path) -> None:
    assert Spool(tmp_path / "a.db").stream != Spool(tmp_path / "b.db").stream


def test_bound_drops_oldest_batches_and_counts_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_samples=10)
    assert [spool.append(samples(4)) for _ in range(3)] == [0, 0, 4]
    assert spool.pending_samples == 8
    assert spool.dropped == 4
    pending = spool.peek()
    assert pending.first_seq == 5, "the oldest batch went first"
    spool.close()
    assert Spool(tmp_path / "s.db", max_samples=10).dropped == 4, "the count survives restarts"


def test_discarded_batch_counts_as_dropped(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    spool.append(samples(3))
    spool.discard(spool.peek())
    assert spool.dropped == 3 and spool.peek() is None


def test_ack_after_concurrent_trim_keeps_count_right(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_samples=6)
    spool.append(samples(3))
    spool.append(samples(3))
    pending = spool.peek()  # rows 1-2 in flight
    spool.append(samples(3))  # trims row 1 while the push is in flight
    spool.ack(pending)
    assert spool.pending_samples == 3
    assert spool.peek().first_seq == 7


def test_invalid_bound_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Spool(tmp_path / "s.db", max_samples=0)
