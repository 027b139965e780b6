"""Having the memory that large requests used go back to the operating system, on glibc (a no-op
elsewhere).

A 40,000-message batch passes through buffers of several MB each (the body, its text, the answer). glibc
maps such a buffer on its own and unmaps it when it is freed, until the first one is freed: it then
raises its ``mmap`` threshold to that size, so later buffers come from the heap, and a heap only shrinks
from its top. Measured on the integration reference (``bench/reference_memory.py``), the freed space
left in the heap grew run after run (by about 25 MB in 15 runs). :func:`keep_large_buffers_mapped`
fixes the threshold at glibc's own starting value (128 KiB), which also stops the raising; the heap then
stayed flat. With that, ``malloc_trim`` found next to nothing left to give back, so it is not called.
What still grows a little is Python's own small-object arenas, which only its allocator can free.

This changes only how freed memory is kept, never what a program sees, and does nothing where the C
library has no such call (musl, macOS, Windows).
"""

from __future__ import annotations

import ctypes
import sys
import threading
from functools import cache
from typing import Any

#: ``M_MMAP_THRESHOLD`` in glibc's ``<malloc.h>``
_M_MMAP_THRESHOLD = -3
#: glibc's default threshold: allocations at least this large get a mapping of their own
MMAP_THRESHOLD_BYTES = 128 * 1024

_lock = threading.Lock()
_threshold_fixed = False


@cache
def _glibc() -> Any | None:
    """The running process's C library when it is glibc, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):  # not glibc
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return libc


def keep_large_buffers_mapped() -> bool:
    """Fix glibc's ``mmap`` threshold (once per process); True when it is fixed."""
    global _threshold_fixed
    libc = _glibc()
    if libc is None:
        return False
    with _lock:
        if not _threshold_fixed:
            _threshold_fixed = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
        return _threshold_fixed
