"""Giving freed memory back to the system between the stages of a long run.

Python and numpy free their objects into the C allocator, which keeps the pages for reuse:
after simulating or loading a log, hundreds of megabytes of freed small objects stay in the
process (its RSS) though nothing uses them. :func:`release` collects cycles and asks glibc to
return free pages (``malloc_trim``); elsewhere it only collects.

>>> release() >= 0
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from typing import Any


@functools.cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.malloc_trim  # noqa: B018 (glibc only)
    except (OSError, AttributeError):
        return None
    return lib


def release() -> int:
    """Collect garbage cycles and return the allocator's free pages to the system; the
    number of objects collected."""
    n = gc.collect()
    lib = _libc()
    if lib is not None:
        lib.malloc_trim(0)
    return n
