"""Screenshots through mss. Create a grabber in the thread that uses it (mss keeps per-thread
X resources)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.errors import DisplayUnavailable
from app.core.frames import bgra_to_rgb


@dataclass
class Screenshot:
    """One grab as the X server gave it: BGRA bytes. The frame thread turns it into RGB pixels
    (`rgb()`), not the capture thread, which also takes every key and click: at 1080p the
    conversion takes 10 ms or more, twice as long as the grab itself."""

    bgra: bytearray
    width: int
    height: int

    def rgb(self) -> np.ndarray:
        return bgra_to_rgb(self.bgra, self.width, self.height)


class ScreenGrabber:
    """Grabs the whole virtual screen (all monitors) and remembers a checksum of the last raw
    bytes, so an unchanged screen costs one CRC instead of a redaction and an encode.

    A checksum rather than a copy of the last grab: the copy held 8 MB (at 1080p) for as long
    as the recorder ran, and making it took as long as the CRC does (about 2 ms). Two different
    screens share a CRC-32 once in four billion grabs; that grab is then skipped like an
    unchanged one, and the next change is captured as usual."""

    def __init__(self) -> None:
        try:
            import mss

            factory = getattr(mss, "MSS", None) or mss.mss  # mss 10 renamed the factory
            self._sct: Any = factory()
            self.monitors: list[dict[str, int]] = [dict(m) for m in self._sct.monitors[1:]]
            self._area = dict(self._sct.monitors[0])
        except Exception as exc:  # mss raises ScreenShotError and OS errors
            raise DisplayUnavailable(f"screenshots are not available: {exc}") from exc
        self._last_crc: int | None = None

    @property
    def origin(self) -> tuple[int, int]:
        return int(self._area["left"]), int(self._area["top"])

    def grab_raw(self) -> Screenshot | None:
        """The screen as grabbed, or None if it is byte-for-byte what the last grab saw."""
        shot = self._sct.grab(self._area)
        raw = shot.raw  # mss's own copy of this grab, kept as it is
        crc = zlib.crc32(raw)
        if crc == self._last_crc:
            return None
        self._last_crc = crc
        return Screenshot(raw, shot.width, shot.height)

    def grab(self) -> np.ndarray | None:
        """The screen as RGB pixels, or None if it is byte-for-byte what the last grab saw."""
        shot = self.grab_raw()
        return None if shot is None else shot.rgb()

    def forget(self) -> None:
        """Make the next grab count as changed (a new segment needs its own first frame)."""
        self._last_crc = None

    def close(self) -> None:
        self._sct.close()
