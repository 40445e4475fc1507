"""Screenshots through mss. Create a grabber in the thread that uses it (mss keeps per-thread
X resources)."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.core.errors import DisplayUnavailable
from app.core.frames import bgra_to_rgb


class ScreenGrabber:
    """Grabs the whole virtual screen (all monitors) and remembers the last raw bytes, so an
    unchanged screen costs one memcmp instead of a redaction and an encode."""

    def __init__(self) -> None:
        try:
            import mss

            factory = getattr(mss, "MSS", None) or mss.mss  # mss 10 renamed the factory
            self._sct: Any = factory()
            self.monitors: list[dict[str, int]] = [dict(m) for m in self._sct.monitors[1:]]
            self._area = dict(self._sct.monitors[0])
        except Exception as exc:  # mss raises ScreenShotError and OS errors
            raise DisplayUnavailable(f"screenshots are not available: {exc}") from exc
        self._last_raw: bytes | None = None

    @property
    def origin(self) -> tuple[int, int]:
        return int(self._area["left"]), int(self._area["top"])

    def grab(self) -> np.ndarray | None:
        """The screen as RGB pixels, or None if it is byte-for-byte what the last grab saw."""
        shot = self._sct.grab(self._area)
        raw = bytes(shot.raw)
        if raw == self._last_raw:
            return None
        self._last_raw = raw
        return bgra_to_rgb(raw, shot.width, shot.height)

    def forget(self) -> None:
        """Make the next grab count as changed (a new segment needs its own first frame)."""
        self._last_raw = None

    def close(self) -> None:
        self._sct.close()
