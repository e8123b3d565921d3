"""The device-token check made from the request headers, before a byte of the body is read.

Why: reading (up to 1 MiB) first let anyone without a token hold memory and a connection per
upload. This check is a gate, not the authority: the group writer checks the token again
inside the transaction that stores the batch (controller/telemetry/writer.py), so a token
revoked while it sits in this cache is still refused there, only after its body was read.

Tokens that passed are remembered for `ttl_s` so the hot path costs a dict lookup, not a
query per push; unknown ones are never cached (any string can be tried, the cache would
grow without bound).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from controller.store import Store
from controller.telemetry import tokens

_PRUNE_AT = 10_000  # entries: a fleet this size re-checks expired ones in one sweep


class TokenGate:
    def __init__(self, store: Store, ttl_s: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._passed: dict[str, float] = {}  # token hash -> monotonic time it expires

    async def check(self, authorization: str | None) -> str:
        """The token's hash; Unauthorized when it is missing, malformed, unknown or revoked."""
        token_hash = tokens.bearer_hash(authorization)
        now = self._monotonic()
        if self._passed.get(token_hash, 0.0) > now:
            return token_hash
        await asyncio.to_thread(tokens.lookup, self._store, token_hash)
        if len(self._passed) >= _PRUNE_AT:
            self._passed = {h: t for h, t in self._passed.items() if t > now}
        self._passed[token_hash] = now + self._ttl_s
        return token_hash
