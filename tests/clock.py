"""The one fake clock of the suite: time that a test sets and moves by hand.

Code under test takes a `clock` (or `monotonic`) callable; tests pass a `Clock` so nothing
depends on today's date or on how long the suite has been running.
"""

from __future__ import annotations

# A fixed "now" for tests that need an epoch: 2026-09-21 12:53:20 UTC.
T0 = 1_790_000_000.0


class Clock:
    """Returns `t` until the test moves it."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def tick(self, dt: float) -> None:
        self.t += dt
