"""When this process has a popup of its own on screen (the tray menu, a submenu, a context
menu), and when it had one.

A popup grabs the pointer: while one is open, every click goes to it, and a click that lands on
a menu item closes it before the capture thread gets to ask the window system what was under
the pointer. So the UI reports each popup's showing and hiding here, with monotonic times, and
the capture thread asks whether a click happened while one was open. Plain data, no Qt.
"""

from __future__ import annotations

import threading
import time
from collections import deque

_KEEP = 64  # closed intervals remembered: far more than can wait in the input queue


class OwnPopups:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, float] = {}
        self._closed: deque[tuple[float, float]] = deque(maxlen=_KEEP)

    def shown(self, key: int, at: float | None = None) -> None:
        with self._lock:
            self._open.setdefault(key, time.monotonic() if at is None else at)

    def hidden(self, key: int, at: float | None = None) -> None:
        with self._lock:
            start = self._open.pop(key, None)
            if start is not None:
                self._closed.append((start, time.monotonic() if at is None else at))

    def open_at(self, mono: float) -> bool:
        """Whether a popup of this process was on screen at `mono` (time.monotonic())."""
        with self._lock:
            if any(start <= mono for start in self._open.values()):
                return True
            return any(start <= mono <= end for start, end in self._closed)


# One per process, like the process id the window system reports for our windows.
own_popups = OwnPopups()
