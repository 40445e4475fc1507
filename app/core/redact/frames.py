"""Pixel redaction of frames. Steps run in order on a copy of the frame; if any step fails the
whole frame is dropped (fail closed) and the failure is counted by category, not described
by content."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from app.core.model import WindowInfo

log = logging.getLogger(__name__)

# A step takes the frame and the window in front and returns the frame with solid boxes drawn.
FrameStep = Callable[[np.ndarray, WindowInfo | None], np.ndarray]


class FrameRedactor:
    def __init__(self, steps: Sequence[FrameStep] = ()) -> None:
        self.steps = list(steps)
        self.failures: Counter[str] = Counter()

    def redact(self, pixels: np.ndarray, window: WindowInfo | None) -> np.ndarray | None:
        """The redacted frame, or None when it must not be kept."""
        out = pixels
        for step in self.steps:
            name = getattr(step, "__name__", type(step).__name__)
            try:
                out = step(out, window)
            except Exception as exc:
                self.failures[name] += 1
                log.warning(
                    "frame dropped: redaction step %s failed (%s)", name, type(exc).__name__
                )
                return None
            if out is None or out.shape != pixels.shape:
                self.failures[name] += 1
                log.warning("frame dropped: redaction step %s returned no usable frame", name)
                return None
        return out


def fill_boxes(
    pixels: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], color: int = 0
) -> np.ndarray:
    """Solid boxes (x, y, w, h), clipped to the frame. Solid, never blurred: blur can be undone."""
    out = pixels.copy()
    height, width = out.shape[:2]
    for x, y, w, h in boxes:
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] = color
    return out
