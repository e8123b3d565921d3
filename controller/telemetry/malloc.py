"""Give freed heap pages back to the OS after a burst (glibc's malloc_trim).

Why: uvicorn reads each upload into buffers of up to 256 KiB before the app sees the
request. A burst of rejected uploads (benchmarks/attacks.py: 1,500 at once) frees them all
within milliseconds, but glibc keeps the freed pages in its heap, so the controller stayed
20-60 MB larger for good. One trim per maintenance pass (a few ms, once a minute by
default) returns them: 5-7 MB above the start after the same burst.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
try:
    _trim = ctypes.CDLL(None).malloc_trim
    _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
    _trim = None


def trim() -> bool:
    """True when memory was released to the OS."""
    return bool(_trim is not None and _trim(0))
