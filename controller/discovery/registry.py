"""The pending/approved/rejected queue behind the discovery API, the CLI and the browser.

Trust rules (why each exists):
- A device's `claim_hash` is fixed by its first announcement: a later announcement of the
  same id with another hash (a LAN peer copying the public id) is ignored and logged, so
  the token of an approved device can only be claimed with the first announcer's secret.
- The token is created when the approved device claims it, and answered that once: no raw
  token ever sits in the store waiting for delivery.
- Pending and rejected rows not heard from for `expire_s` are dropped; at most
  `max_pending` rows wait, so a flood of announcements cannot grow the table.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from controller.discovery import inventory
from controller.discovery.announcements import Announcement
from controller.discovery.models import APPROVED, PENDING, REJECTED, STATUSES, DiscoveredDevice
from controller.discovery.settings import DiscoverySettings
from controller.store import Store
from controller.telemetry import tokens
from controller.telemetry.errors import Conflict, Forbidden, InvalidPayload, NotFound, Unauthorized

log = logging.getLogger("edgefleet.discovery")


@dataclass(frozen=True)
class ClaimAnswer:
    status: str  # pending | issued
    token: str | None = None
    name: str | None = None


class Registry:
    """The queue; `clock` (epoch seconds) stamps every decision and drives expiry, so tests
    and replays pin time instead of racing the wall clock."""

    def __init__(self, store: Store, inventory_path: Path | None,
                 settings: DiscoverySettings, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.inventory_path = inventory_path
        self.settings = settings
        self.clock = clock
        # The store creates the tables it imports; this one may be imported after it.
        DiscoveredDevice.__table__.create(store.engine, checkfirst=True)  # type: ignore[attr-defined]

    # ---- from the browser -------------------------------------------------------------
    def record(self, ann: Announcement, address: str) -> str:
        """Store or refresh one announcement; returns what happened (for logs and tests)."""
        now = self.clock()
        with self.store.session() as s:
            row = s.get(DiscoveredDevice, ann.device_id)
            if row is None:
                pending = s.scalar(select(func.count()).select_from(DiscoveredDevice)
                                   .where(DiscoveredDevice.status == PENDING))
                if pending >= self.settings.max_pending:
                    return "full"
                s.add(DiscoveredDevice(
                    device_id=ann.device_id, status=PENDING, first_seen=now,
                    claim_hash=ann.claim_hash, **_fields(ann, address, now)))
                log.info("discovered %s (%s, %s) at %s: pending approval", ann.hostname,
                         ann.device_id, ann.arch, address)
                return "new"
            if not hmac.compare_digest(row.claim_hash, ann.claim_hash):
                return "conflict"
            if row.address != address:
                log.warning("device %s (%s, %s) now announces from %s (was %s)", row.hostname,
                            row.device_id, row.status, address, row.address)
            for key, value in _fields(ann, address, now).items():
                setattr(row, key, value)
            return "refreshed"

    def expire(self) -> int:
        """Forget pending and rejected devices that stopped announcing; approved ones stay."""
        cutoff = self.clock() - self.settings.expire_s
        with self.store.session() as s:
            gone = s.execute(delete(DiscoveredDevice).where(
                DiscoveredDevice.status.in_((PENDING, REJECTED)),
                DiscoveredDevice.last_seen < cutoff)).rowcount
        if gone:
            log.info("forgot %d discovered device(s) not heard from for %.0f s", gone,
                     self.settings.expire_s)
        return gone

    # ---- operator ---------------------------------------------------------------------
    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        """Known devices, oldest first; stale ones are expired first (browser on or off)."""
        if status is not None and status not in STATUSES:
            raise InvalidPayload(f"status must be one of {', '.join(STATUSES)}")
        self.expire()
        query = select(DiscoveredDevice).order_by(DiscoveredDevice.first_seen)
        if status is not None:
            query = query.where(DiscoveredDevice.status == status)
        with self.store.session() as s:
            return [_view(r) for r in s.scalars(query)]

    def get(self, device_id: str) -> dict[str, Any]:
        with self.store.session() as s:
            return _view(self._row(s, device_id))

    def approve(self, device_id: str, by: str, alias: str | None = None) -> dict[str, Any]:
        """Put the device in the inventory group of its arch; its token waits for its claim."""
        with self.store.session() as s:
            row = self._row(s, device_id)
            if row.status == APPROVED:
                return _view(row)
            wanted = alias or inventory.sanitize_alias(row.hostname)
            snapshot = (row.address, row.arch)
        if not tokens.NAME_RE.match(wanted):
            raise InvalidPayload(f"alias {wanted!r} is not a valid host name (letters, digits, "
                                 ". _ -)")
        if self.inventory_path is None:
            raise Conflict("no inventory configured: serve with -i FILE.yml or set "
                           "EDGEFLEET_INVENTORY")
        placed = inventory.add_host(self.inventory_path, wanted, snapshot[0], snapshot[1],
                                    {"edgefleet_device_id": device_id})
        with self.store.session() as s:
            row = self._row(s, device_id)
            row.status, row.alias, row.group = APPROVED, placed.alias, placed.group
            row.decided_at, row.decided_by = self.clock(), by
            log.info("approved %s (%s) as %s in group %s by %s", row.hostname, device_id,
                     placed.alias, placed.group, by)
            return _view(row)

    def reject(self, device_id: str, by: str) -> dict[str, Any]:
        with self.store.session() as s:
            row = self._row(s, device_id)
            if row.status == APPROVED:
                raise Conflict(f"device {device_id} is already approved as {row.alias!r}: "
                               "revoke its token and remove it from the inventory instead")
            row.status, row.decided_by = REJECTED, by
            row.decided_at = self.clock()
            log.info("rejected %s (%s) by %s", row.hostname, device_id, by)
            return _view(row)

    # ---- from the device --------------------------------------------------------------
    def claim(self, device_id: str, secret: str) -> ClaimAnswer:
        """The device's poll: pending, the token (once), or an error saying why not."""
        given = hashlib.sha256(secret.encode()).hexdigest()
        with self.store.session() as s:
            row = s.get(DiscoveredDevice, device_id)
            if row is None:
                raise NotFound(f"device {device_id} is not announced here (or its announcement "
                               "expired)")
            if not hmac.compare_digest(row.claim_hash.encode(), given.encode()):
                raise Unauthorized("claim secret does not match this device's announcement")
            if row.status == REJECTED:
                raise Forbidden(f"device {device_id} was rejected by an operator")
            if row.status == PENDING:
                return ClaimAnswer(PENDING)
            name = row.alias
        assert name is not None  # approved rows always have one
        with self.store.session() as s:  # first claimant wins; the others see it delivered
            won = s.execute(update(DiscoveredDevice).where(
                DiscoveredDevice.device_id == device_id,
                DiscoveredDevice.token_delivered_at.is_(None),
            ).values(token_delivered_at=self.clock())).rowcount
        if not won:
            raise Conflict(f"the token of {name!r} was already delivered; if the device lost "
                           f"it, issue a new one with `edgefleet token create {name} --rotate`")
        try:
            token = tokens.create(self.store, name)
        except Conflict:
            with self.store.session() as s:
                s.execute(update(DiscoveredDevice)
                          .where(DiscoveredDevice.device_id == device_id)
                          .values(token_delivered_at=None))
            raise Conflict(f"device {name!r} already has a token: revoke it (`edgefleet token "
                           f"revoke {name}`) to let this device claim one") from None
        log.info("delivered the token of %s to device %s", name, device_id)
        return ClaimAnswer("issued", token, name)

    @staticmethod
    def _row(s: Any, device_id: str) -> DiscoveredDevice:
        row = s.get(DiscoveredDevice, device_id)
        if row is None:
            raise NotFound(f"no discovered device {device_id!r}")
        return row


def _fields(ann: Announcement, address: str, now: float) -> dict[str, Any]:
    """What every announcement refreshes (the claim hash is fixed at first sight)."""
    return {"instance": ann.instance, "hostname": ann.hostname, "arch": ann.arch,
            "agent_version": ann.agent_version, "metrics_port": ann.metrics_port,
            "addresses": list(ann.addresses), "address": address, "last_seen": now}


def _view(row: DiscoveredDevice) -> dict[str, Any]:
    """The API's shape: everything but the claim hash."""
    return {
        "device_id": row.device_id, "status": row.status, "hostname": row.hostname,
        "instance": row.instance, "arch": row.arch, "agent_version": row.agent_version,
        "metrics_port": row.metrics_port, "address": row.address,
        "addresses": list(row.addresses), "first_seen": row.first_seen,
        "last_seen": row.last_seen, "decided_at": row.decided_at, "decided_by": row.decided_by,
        "alias": row.alias, "group": row.group,
        "token_delivered": row.token_delivered_at is not None,
    }
