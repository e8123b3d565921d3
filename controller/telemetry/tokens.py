"""Per-device bearer tokens: issued once, stored only as a SHA-256, never shown again.

A token is 256 random bits (`secrets.token_urlsafe(32)`), so a plain SHA-256 is enough (no
salt or slow hash needed: there is nothing to brute-force). The first authenticated push
binds the token to the pushing device's id (controller/telemetry/writer.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from controller.store import Store
from controller.store.telemetry import DeviceToken
from controller.telemetry.errors import Conflict, InvalidPayload, NotFound, Unauthorized

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the token or its hash."""

    name: str
    device_id: str | None
    created_at: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_hash(authorization: str | None) -> str:
    """The hash of the bearer token in an Authorization header; Unauthorized if there is none."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not _TOKEN_RE.match(token.strip()):
        raise Unauthorized("missing or malformed device token (Authorization: Bearer <token>)")
    return hash_token(token.strip())


def matches(stored_hash: str, given_hash: str) -> bool:
    return hmac.compare_digest(stored_hash.encode(), given_hash.encode())


def _check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InvalidPayload(f"{name!r} is not a valid device name (letters, digits, . _ -)")
    return name


def create(store: Store, name: str, *, rotate: bool = False) -> str:
    """Issue a token for `name` and return it (the only time it is ever visible).

    An existing token is replaced only with `rotate` (the device must then get the new one).
    """
    _check_name(name)
    token = secrets.token_urlsafe(32)
    with store.session() as s:
        existing = s.get(DeviceToken, name)
        if existing is not None and not rotate:
            raise Conflict(f"device {name!r} already has a token (revoke it or rotate)")
        if existing is not None:
            s.delete(existing)
            s.flush()
        s.add(DeviceToken(name=name, token_hash=hash_token(token)))
    return token


def ensure(store: Store, names: Iterable[str]) -> dict[str, str]:
    """Create tokens for the names that have none; returns only the new ones (name -> token).

    For the agent-install flow: hosts that already have a token keep it (their agent has it).
    """
    wanted = sorted({_check_name(n) for n in names})
    with store.session() as s:
        have = set(s.scalars(select(DeviceToken.name).where(DeviceToken.name.in_(wanted))))
        issued = {name: secrets.token_urlsafe(32) for name in wanted if name not in have}
        s.add_all(DeviceToken(name=n, token_hash=hash_token(t)) for n, t in issued.items())
    return issued


def revoke(store: Store, name: str) -> None:
    """Delete the token: the device's next push is a 401. Its stored data stays."""
    with store.session() as s:
        if s.execute(delete(DeviceToken).where(DeviceToken.name == name)).rowcount == 0:
            raise NotFound(f"device {name!r} has no token")


def list_tokens(store: Store) -> list[TokenInfo]:
    with store.session() as s:
        rows = s.scalars(select(DeviceToken).order_by(DeviceToken.name))
        return [TokenInfo(r.name, r.device_id, r.created_at) for r in rows]


def lookup(store: Store, token_hash: str) -> TokenInfo:
    """The token's owner; Unauthorized when the token is unknown or revoked."""
    with store.session() as s:
        row = s.scalars(select(DeviceToken).where(DeviceToken.token_hash == token_hash)).first()
        if row is None or not matches(row.token_hash, token_hash):
            raise Unauthorized("unknown or revoked device token")
        return TokenInfo(row.name, row.device_id, row.created_at)
