"""Device registry views: telemetry devices joined with tokens and the Ansible host view.

A device is listed once it has pushed, or once it is known by name from a token or from the
inventory's host view (then with `status: "never_seen"`). Online means the last push is at
most `offline_after_s` old, by the controller's clock. Tokens and their hashes never appear.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from controller.jobs.views import host_dict
from controller.store import Host
from controller.store.telemetry import Device, DeviceToken, Sample, Series
from controller.telemetry.errors import NotFound
from controller.telemetry.settings import TelemetrySettings

_ANSIBLE_SUMMARY = ("address", "groups", "last_status", "last_job_id", "updated_at", "results")


def _latest(s: Session, pks: list[int], patterns: tuple[str, ...] | None
            ) -> dict[int, list[dict[str, Any]]]:
    """Newest raw sample of each series of these devices (only names matching `patterns`)."""
    rows = s.execute(
        select(Series.id, Series.device_pk, Series.name, Series.labels, Series.unit,
               Series.source).where(Series.device_pk.in_(pks)).order_by(Series.name, Series.labels)
    ).all()
    if patterns is not None:
        rows = [r for r in rows if any(fnmatchcase(r.name, p) for p in patterns)]
    # A correlated max() per series is one index probe each (SQLite's min/max optimisation);
    # GROUP BY over the index would walk every sample of the day.
    newest = select(func.max(Sample.ts_ms)).where(Sample.series_id == Series.id)
    newest_ts = dict(s.execute(
        select(Series.id, newest.scalar_subquery()).where(Series.id.in_([r.id for r in rows]))
    ).all()) if rows else {}
    pairs = [(sid, ts) for sid, ts in newest_ts.items() if ts is not None]
    values = dict(
        ((sid, ts), v) for sid, ts, v in s.execute(
            select(Sample.series_id, Sample.ts_ms, Sample.value)
            .where(tuple_(Sample.series_id, Sample.ts_ms).in_(pairs))
        )
    ) if pairs else {}
    out: dict[int, list[dict[str, Any]]] = {pk: [] for pk in pks}
    for r in rows:
        ts = newest_ts.get(r.id)
        if (r.id, ts) in values:
            out[r.device_pk].append({
                "name": r.name, "labels": json.loads(r.labels), "value": values[(r.id, ts)],
                "unit": r.unit, "source": r.source, "ts": ts / 1000,
            })
    return out


def _view(d: Device | None, name: str | None, has_token: bool, host: Host | None,
          latest: list[dict[str, Any]], now: float, settings: TelemetrySettings,
          full: bool) -> dict[str, Any]:
    ansible = None
    if host is not None:
        hd = host_dict(host)
        ansible = hd if full else {k: hd[k] for k in _ANSIBLE_SUMMARY}
    age = None if d is None else max(0.0, now - d.last_seen)
    online = age is not None and age <= settings.offline_after_s
    return {
        "id": d.id if d else None,
        "name": name,
        "status": "never_seen" if d is None else ("online" if online else "offline"),
        "online": online,
        "last_seen": d.last_seen if d else None,
        "heartbeat_age_s": None if age is None else round(age, 3),
        "hostname": d.hostname if d else None,
        "arch": d.arch if d else None,
        "os": d.os if d else None,
        "agent_version": d.agent_version if d else None,
        "boot_time": d.boot_time if d else None,
        "address": d.address if d else None,
        "first_seen": d.first_seen if d else None,
        "dropped_total": d.dropped_total if d else 0,
        "has_token": has_token,
        "latest": latest,
        "ansible": ansible,
    }


def list_devices(s: Session, settings: TelemetrySettings, now: float) -> list[dict[str, Any]]:
    devices = list(s.scalars(select(Device)))
    token_names = set(s.scalars(select(DeviceToken.name)))
    hosts = {h.name: h for h in s.scalars(select(Host))}
    latest = _latest(s, [d.pk for d in devices], settings.key_metrics)
    named = {d.name for d in devices if d.name}
    views = [
        _view(d, d.name, d.name in token_names, hosts.get(d.name or ""), latest[d.pk], now,
              settings, full=False)
        for d in devices
    ]
    views += [
        _view(None, n, n in token_names, hosts.get(n), [], now, settings, full=False)
        for n in sorted((token_names | set(hosts)) - named)
    ]
    return sorted(views, key=lambda v: (v["name"] is None, v["name"] or "", v["id"] or ""))


def find_device(s: Session, key: str) -> Device | None:
    """By device id first, then by name."""
    return s.scalars(
        select(Device).where(or_(Device.id == key, Device.name == key))
        .order_by((Device.id == key).desc())
    ).first()


def get_device(s: Session, key: str, settings: TelemetrySettings, now: float) -> dict[str, Any]:
    """One device by id or name, with the latest value of every series it has."""
    d = find_device(s, key)
    name = d.name if d else key
    has_token = name is not None and s.get(DeviceToken, name) is not None
    host = s.get(Host, name) if name else None
    if d is None and not has_token and host is None:
        raise NotFound(f"no device with id or name {key!r}")
    latest = _latest(s, [d.pk], None)[d.pk] if d else []
    return _view(d, name, has_token, host, latest, now, settings, full=True)
