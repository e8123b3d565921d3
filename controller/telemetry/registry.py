"""Device registry views: telemetry devices joined with tokens and the Ansible host view.

A device is listed once it has pushed, or once it is known by name from a token or from the
inventory's host view (then with `status: "never_seen"`). Online means the last push is at
most `offline_after_s` old, by the controller's clock. Tokens and their hashes never appear.

The list (polled by the Fleet page every few seconds) shows at most MAX_LATEST_LISTED key
series per device, picked in SQL, so its cost and size do not grow with a device's series;
`GET /api/devices/{id}` shows every series (at most the per-device series limit).
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from controller.jobs.views import host_dict
from controller.store import Host
from controller.store.telemetry import Device, DeviceToken, Sample, Series
from controller.telemetry.errors import NotFound
from controller.telemetry.settings import TelemetrySettings

_ANSIBLE_SUMMARY = ("address", "groups", "last_status", "last_job_id", "updated_at", "results")
# Key series per device in the list: a real device has a few dozen (a 64-core one about 90).
MAX_LATEST_LISTED = 200
_GLOB_PART = re.compile(r"\[[^]]*\]|[*?%_\\]|[^*?%_\\[]+|\[")


def _like(pattern: str) -> str:
    """The SQL LIKE form of an fnmatch pattern (`[...]` widened to any one character; the
    caller still checks fnmatchcase), `\\` escaping."""
    out = []
    for part in _GLOB_PART.findall(pattern):
        if part == "*":
            out.append("%")
        elif part == "?" or (part.startswith("[") and part.endswith("]") and len(part) > 1):
            out.append("_")
        elif part in ("%", "_", "\\"):
            out.append("\\" + part)
        else:
            out.append(part)
    return "".join(out)


def _named(table: Any, patterns: tuple[str, ...] | None) -> list[Any]:
    if patterns is None:
        return []
    return [or_(*(table.name.like(_like(p), escape="\\") for p in patterns))]


def _series_rows(s: Session, pks: list[int], patterns: tuple[str, ...] | None,
                 per_device: int | None) -> list[Any]:
    """Series of these devices ordered by device, name, labels: with `patterns` only names
    matching one, with `per_device` only the first that many of each device. Those are
    picked per device by a correlated `IN (... ORDER BY name, labels LIMIT n)`: an index
    range scan that stops after n rows, however many series the device has."""
    if not pks or patterns == ():
        return []
    columns = (Series.id, Series.device_pk, Series.name, Series.labels, Series.unit,
               Series.source)
    if per_device is None:
        stmt = select(*columns).where(Series.device_pk.in_(pks), *_named(Series, patterns))
    else:
        other = aliased(Series)
        first = (select(other.id).where(other.device_pk == Device.pk, *_named(other, patterns))
                 .order_by(other.name, other.labels).limit(per_device).correlate(Device))
        stmt = (select(*columns).select_from(Device).join(Series, Series.id.in_(first))
                .where(Device.pk.in_(pks)))
    rows = s.execute(stmt.order_by(Series.device_pk, Series.name, Series.labels)).all()
    if patterns is not None:  # LIKE ignores case on SQLite and widens [...]
        rows = [r for r in rows if any(fnmatchcase(r.name, p) for p in patterns)]
    return rows


def _latest(s: Session, pks: list[int], patterns: tuple[str, ...] | None,
            per_device: int | None = None) -> dict[int, list[dict[str, Any]]]:
    """Newest raw sample of each series of these devices (only names matching `patterns`,
    at most `per_device` series each)."""
    rows = _series_rows(s, pks, patterns, per_device)
    # Two index probes per series (backwards on (series_id, ts_ms), one row each). A
    # `(series_id, ts_ms) IN (pairs)` lookup here made SQLite scan every raw sample.
    newest = (select(Sample.ts_ms, Sample.value).where(Sample.series_id == Series.id)
              .order_by(Sample.ts_ms.desc()).limit(1))
    found = s.execute(
        select(Series.id, newest.with_only_columns(Sample.ts_ms).scalar_subquery(),
               newest.with_only_columns(Sample.value).scalar_subquery())
        .where(Series.id.in_([r.id for r in rows]))
    ).all() if rows else []
    values = {sid: (ts, v) for sid, ts, v in found if ts is not None}
    out: dict[int, list[dict[str, Any]]] = {pk: [] for pk in pks}
    for r in rows:
        if r.id in values:
            ts, value = values[r.id]
            out[r.device_pk].append({
                "name": r.name, "labels": json.loads(r.labels), "value": value,
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
    latest = _latest(s, [d.pk for d in devices], settings.key_metrics, MAX_LATEST_LISTED)
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
