"""Turn ansible-runner events into compact records and fold them into per-host outcomes.

Everything here reads runner's structured `event_data`; nothing parses printed output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

RESULT_FACT = "edgefleet_result"
_MAX_RES_CHARS = 32_000
_MAX_STDOUT_CHARS = 4_000
# Precedence when several events touch one host: the worst outcome wins.
_RANK = {"skipped": 0, "ok": 1, "changed": 2, "failed": 3, "unreachable": 4}
_HOST_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped")


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str))


def _trim_res(res: dict[str, Any]) -> dict[str, Any]:
    """Drop module arguments (may echo secrets); cap size so big outputs can't bloat the store."""
    res = {k: v for k, v in res.items() if k not in ("invocation", "_ansible_no_log")}
    if _size(res) <= _MAX_RES_CHARS:
        return res
    keep = ("msg", "changed", "failed", "unreachable", "rc", "ansible_facts")
    res = {k: res[k] for k in keep if k in res}
    res["truncated"] = True
    if "msg" in res:
        res["msg"] = str(res["msg"])[:_MAX_STDOUT_CHARS]
    if _size(res) > _MAX_RES_CHARS:
        res.pop("ansible_facts", None)
    return res


def compact(event: dict[str, Any]) -> dict[str, Any]:
    """The part of a runner event worth storing and streaming."""
    data = event.get("event_data") or {}
    out: dict[str, Any] = {
        "seq": event.get("counter", 0),
        "event": event.get("event", "unknown"),
        "created": event.get("created"),
        "stdout": (event.get("stdout") or "")[:_MAX_STDOUT_CHARS],
    }
    for key in ("host", "task", "task_action", "play", "duration"):
        if data.get(key) is not None:
            out[key] = data[key]
    if isinstance(data.get("res"), dict):
        out["res"] = _trim_res(data["res"])
    if data.get("ignore_errors"):
        out["ignore_errors"] = True
    if out["event"] == "playbook_on_stats":
        out["stats"] = {
            k: data.get(k) or {}
            for k in ("ok", "changed", "failures", "dark", "skipped", "ignored", "rescued")
        }
    return out


@dataclass
class HostOutcome:
    """Running per-host tally while a job streams."""

    status: str = "skipped"
    ok: int = 0
    changed: int = 0
    failures: int = 0
    unreachable: int = 0
    skipped: int = 0
    result: dict[str, Any] | None = None
    msg: str | None = None
    seen: bool = False

    def raise_to(self, status: str) -> None:
        if not self.seen or _RANK[status] > _RANK[self.status]:
            self.status = status
        self.seen = True


@dataclass
class Fold:
    """Accumulates host outcomes from compact events; reconcile with final stats at the end."""

    hosts: dict[str, HostOutcome] = field(default_factory=dict)
    # True once the final stats arrived: the play ran to its end on every host.
    finished: bool = False
    # ansible-playbook's pid, from the first event carrying one (the run's process record).
    run_pid: int | None = None

    def host(self, name: str) -> HostOutcome:
        return self.hosts.setdefault(name, HostOutcome())

    def apply(self, ev: dict[str, Any]) -> str | None:
        """Fold one event in; return the host it changed, if any."""
        name, kind = ev.get("host"), ev["event"]
        if kind == "playbook_on_stats":
            self._reconcile(ev["stats"])
            self.finished = True
            return None
        if not name or kind not in _HOST_EVENTS:
            return None
        h, res = self.host(name), ev.get("res") or {}
        if kind == "runner_on_ok" or (kind == "runner_on_failed" and ev.get("ignore_errors")):
            # Ansible counts an ignored failure as ok (plus `ignored`), so do we.
            h.ok += 1
            h.changed += bool(res.get("changed"))
            h.raise_to("changed" if res.get("changed") else "ok")
            result = (res.get("ansible_facts") or {}).get(RESULT_FACT)
            if isinstance(result, dict):
                h.result = result
        elif kind == "runner_on_failed":
            h.failures += 1
            h.raise_to("failed")
            h.msg = f"{ev.get('task', 'task')}: {res.get('msg') or res.get('stderr') or 'failed'}"
        elif kind == "runner_on_unreachable":
            h.unreachable += 1
            h.raise_to("unreachable")
            h.msg = str(res.get("msg") or "unreachable")
        else:
            h.skipped += 1
            h.raise_to("skipped")
        return name

    def _reconcile(self, stats: dict[str, dict[str, int]]) -> None:
        """Final stats are authoritative (dark = unreachable; a rescued failure is no failure)."""
        names = set().union(*(s.keys() for s in stats.values())) if stats else set()
        for name in names:
            h = self.host(name)
            h.ok = stats.get("ok", {}).get(name, 0)
            h.changed = stats.get("changed", {}).get(name, 0)
            h.failures = stats.get("failures", {}).get(name, 0)
            h.unreachable = stats.get("dark", {}).get(name, 0)
            h.skipped = stats.get("skipped", {}).get(name, 0)
            h.status = (
                "unreachable" if h.unreachable
                else "failed" if h.failures
                else "changed" if h.changed
                else "ok" if h.ok
                else "skipped"
            )
            h.seen = True
            if h.status not in ("failed", "unreachable"):
                h.msg = None
