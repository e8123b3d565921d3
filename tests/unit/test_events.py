"""events.compact and events.Fold on event streams captured from real ansible-runner runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from controller.jobs.events import Fold, compact

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"


def captured(name: str) -> list[dict[str, Any]]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def fold(raw: list[dict[str, Any]]) -> Fold:
    f = Fold()
    for event in raw:
        f.apply(compact(event))
    return f


def statuses(f: Fold) -> dict[str, str]:
    return {name: h.status for name, h in f.hosts.items()}


def test_ping_ok_hosts_carry_their_result_and_unreachable_host_its_ssh_error() -> None:
    f = fold(captured("ping"))
    assert statuses(f) == {"local-a": "ok", "local-b": "ok", "unreach": "unreachable"}
    assert f.hosts["local-a"].result["hostname"] == "local-a"
    assert f.hosts["local-b"].result["hostname"] == "local-b"
    assert "python" in f.hosts["local-a"].result["python"]["executable"]
    assert f.hosts["unreach"].result is None
    assert "Connection refused" in f.hosts["unreach"].msg
    assert (f.hosts["unreach"].unreachable, f.hosts["unreach"].ok) == (1, 0)
    assert f.hosts["local-a"].ok == 2  # ping, set_fact


def test_one_failed_host_does_not_taint_the_others() -> None:
    f = fold(captured("fail_one"))
    assert statuses(f) == {"local-a": "ok", "local-b": "failed", "unreach": "unreachable"}
    assert f.hosts["local-b"].msg == "Fail on local-b only: local-b is broken on purpose"
    assert f.hosts["local-b"].result is None
    assert f.hosts["local-a"].result == {"host": "local-a", "done": True}
    assert (f.hosts["local-a"].failures, f.hosts["local-b"].failures) == (0, 1)


def test_ignored_failure_is_never_counted_as_a_failure() -> None:
    raw = captured("ignore")
    ignored = [e for e in raw if e["event"] == "runner_on_failed" and e["event_data"].get(
        "ignore_errors")]
    assert {e["event_data"]["host"] for e in ignored} == {"local-a", "local-b"}
    f = Fold()
    for event in raw[: raw.index(ignored[-1]) + 1]:
        f.apply(compact(event))
    assert statuses(f) == {"local-a": "ok", "local-b": "ok", "unreach": "unreachable"}
    assert f.hosts["local-a"].failures == 0


def test_final_stats_clear_a_rescued_failure() -> None:
    raw = captured("ignore")
    stats_at = next(i for i, e in enumerate(raw) if e["event"] == "playbook_on_stats")
    before = fold(raw[:stats_at])
    # The rescued task emits a plain runner_on_failed: only the stats say it was rescued.
    assert before.hosts["local-a"].status == "failed"
    after = fold(raw)
    assert statuses(after) == {"local-a": "ok", "local-b": "ok", "unreach": "unreachable"}
    assert after.hosts["local-a"].failures == 0
    assert after.hosts["local-a"].msg is None
    assert after.hosts["local-a"].skipped == 1
    assert after.hosts["local-a"].result == {"survived": True}


def test_host_that_skipped_everything_is_skipped_and_hosts_outside_the_play_are_absent() -> None:
    f = fold(captured("skip"))
    assert statuses(f) == {"local-a": "ok", "local-b": "skipped"}
    assert all(h.seen for h in f.hosts.values())


def test_apply_reports_which_host_changed() -> None:
    raw = captured("fail_one")
    f = Fold()
    changed = {e["event"]: f.apply(compact(e)) for e in raw}
    assert changed["runner_on_failed"] == "local-b"
    assert changed["runner_on_unreachable"] == "unreach"
    assert changed["runner_on_start"] is None
    assert changed["playbook_on_task_start"] is None
    assert changed["playbook_on_stats"] is None


def test_compact_keeps_what_the_stream_needs_and_drops_module_arguments() -> None:
    raw = captured("ignore")
    failed = next(e for e in raw if e["event"] == "runner_on_failed")
    assert "invocation" in failed["event_data"]["res"]  # the real event echoes module args
    ev = compact(failed)
    assert ev["seq"] == failed["counter"]
    assert (ev["event"], ev["task"], ev["ignore_errors"]) == (
        "runner_on_failed", "Fails, ignored", True
    )
    assert "invocation" not in ev["res"]
    assert ev["res"]["rc"] == 1
    stats = compact(next(e for e in raw if e["event"] == "playbook_on_stats"))["stats"]
    assert stats["dark"] == {"unreach": 1}
    assert stats["rescued"] == {"local-a": 1, "local-b": 1}
    assert stats["failures"] == {}


@pytest.mark.parametrize("field", ["stdout", "msg"])
def test_compact_caps_big_outputs(field: str) -> None:
    event = copy.deepcopy(next(e for e in captured("ping") if e["event"] == "runner_on_ok"))
    huge = "x" * 200_000
    if field == "stdout":
        event["stdout"] = huge
    else:
        event["event_data"]["res"]["msg"] = huge
    ev = compact(event)
    assert len(json.dumps(ev)) < 50_000
    if field == "msg":
        assert ev["res"]["truncated"] is True
