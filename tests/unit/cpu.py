"""CPU time of a piece of code, for tests with a time limit."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Timer:
    seconds: float = 0.0


@contextlib.contextmanager
def cpu_timer() -> Iterator[Timer]:
    """CPU seconds spent by this thread inside the block. Other processes on the machine do not
    count, and the garbage collector waits until the block ends: collecting the heap that the
    whole test session has built up is not a cost of the code under test."""
    timer = Timer()
    enabled = gc.isenabled()
    gc.disable()
    started = time.thread_time()
    try:
        yield timer
    finally:
        timer.seconds = time.thread_time() - started
        if enabled:
            gc.enable()
