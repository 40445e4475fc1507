"""How the C allocator of a recording process holds on to memory (glibc only).

A recorder allocates whole screens over and over: an 8 MB copy of each grab, a 6 MB RGB
frame, and the encoder's work buffers. glibc serves such blocks from mmap at first, but each
time one is freed it raises its mmap threshold to that block's size (up to 32 MB), so from
then on screens come from the thread heaps ("arenas") instead. Freed there, they stay
resident: a block in the middle of a heap cannot go back to the system, and every thread
that touched a frame keeps an arena of its own. Measured with bench/record_workload.py, that
retention was most of the recorder's resident memory: 205 MB after a few minutes, against
about 110 MB with the threshold fixed below.

Fixing the threshold turns off that adjustment: every block of `MMAP_THRESHOLD` or more is
its own mapping and returns to the system when freed. A frame then costs mmap/munmap pairs and
fresh page faults (a few milliseconds per 8 MB on a virtual machine), at one frame a second
or less. Of those the capture thread pays only for mss's copy of the grab; the rest is on the
frame thread (see capture/screen.py, Screenshot).
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

# mallopt() parameters, from glibc's malloc.h.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

# Blocks this large or larger are mapped on their own and unmapped when freed. Small enough
# for a frame, a tile atlas or an encoded keyframe; large enough that the many small objects
# (Python's own allocator handles those below 512 bytes) never pay a system call.
MMAP_THRESHOLD = 256 * 1024
# Threads share this many heaps. The recorder's threads allocate little besides frames (which
# are mapped, above), so more heaps only hold more free memory.
ARENA_MAX = 2


def _glibc() -> ctypes.CDLL | None:
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        return libc
    except (AttributeError, ValueError, OSError):  # Windows, musl, or no such symbol
        return None


def tune_for_frames() -> bool:
    """Make freed frame buffers go back to the system. Call early, before the capture threads
    start; a no-op (False) where the C library is not glibc (macOS, Windows, musl), whose
    allocators do not keep large blocks this way."""
    libc = _glibc()
    if libc is None:
        return False
    done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    done = bool(libc.mallopt(_M_ARENA_MAX, ARENA_MAX)) and done
    if not done:
        log.debug("the C allocator did not take the frame settings")
    return done
