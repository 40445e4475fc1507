"""Pixel redaction of frames. Steps run in order on the frame; if any step fails the whole
frame is dropped (fail closed) and the failure is counted by step, never described by content."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from app.core.model import WindowInfo
from app.core.redact.scope import ScopeRules
from app.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameContext:
    window: WindowInfo | None  # in front
    windows: list[WindowInfo] | None  # all visible, bottom to top; None: unknown
    origin: tuple[int, int] = (0, 0)  # screen position of pixel (0, 0)


class RedactionFailed(Exception):
    """A step could not make the frame safe; the frame must not be kept."""


# A step takes the frame and its context and returns the frame with solid boxes drawn.
FrameStep = Callable[[np.ndarray, FrameContext], np.ndarray]


class FrameRedactor:
    def __init__(self, steps: Sequence[FrameStep] = ()) -> None:
        self.steps = list(steps)
        self.failures: Counter[str] = Counter()
        self.cancelled = False

    def cancel(self) -> None:
        """Stop for good: a redaction in progress is cut short where a step can be (OCR), and
        this and every later frame come back as None. Safe to call from any thread."""
        self.cancelled = True
        for step in self.steps:
            cancel = getattr(step, "cancel", None)
            if cancel is not None:
                cancel()

    def close(self) -> None:
        """Release what the steps hold outside this process (the OCR worker). A later frame
        starts it again; cancel() is what stops for good."""
        for step in self.steps:
            close = getattr(step, "close", None)
            if close is not None:
                close()

    def redact(self, pixels: np.ndarray, context: FrameContext) -> np.ndarray | None:
        """The redacted frame, or None when it must not be kept."""
        out = pixels
        for step in self.steps:
            if self.cancelled:
                return None
            name = getattr(step, "__name__", type(step).__name__)
            try:
                out = step(out, context)
            except Exception as exc:
                if self.cancelled:
                    return None  # stopped on purpose, not a failure of the step
                self.failures[name] += 1
                log.warning(
                    "frame dropped: redaction step %s failed (%s)", name, type(exc).__name__
                )
                return None
            if self.cancelled:
                return None  # a step that cannot be cut short finished after the stop
            if out is None or out.shape != pixels.shape:
                self.failures[name] += 1
                log.warning("frame dropped: redaction step %s returned no usable frame", name)
                return None
        return out


def fill_boxes(
    pixels: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], color: int = 0
) -> np.ndarray:
    """Solid boxes (x, y, w, h), clipped to the frame. Solid, never blurred: blur can be undone."""
    out = pixels
    height, width = out.shape[:2]
    for x, y, w, h in boxes:
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(width, x + w), min(height, y + h)
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] = color
    return out


class DeniedWindowMask:
    """Paints over every visible window that scope rules deny, wherever it is on screen."""

    __name__ = "denied_windows"

    def __init__(self, scope: ScopeRules) -> None:
        self.scope = scope

    def __call__(self, pixels: np.ndarray, context: FrameContext) -> np.ndarray:
        if context.windows is None:
            raise RedactionFailed("the visible windows could not be listed")
        left, top = context.origin
        boxes = [(w.x - left, w.y - top, w.w, w.h) for w in context.windows if self.scope.denied(w)]
        return fill_boxes(pixels, boxes, color=48) if boxes else pixels


def default_frame_redactor(settings: Settings) -> FrameRedactor:
    """Denied windows first (their text is then never read), then on-screen text, read in
    a worker process (the OCR engine never loads into the recorder)."""
    from app.core.redact.ocr_pool import OcrProcess
    from app.core.redact.screen_text import ScreenTextRedactor
    from app.core.redact.text import TextScrubber

    steps: list[FrameStep] = [DeniedWindowMask(ScopeRules(settings))]
    if settings.redact_screen_text:
        scrubber = TextScrubber.from_settings(settings)
        steps.append(ScreenTextRedactor(OcrProcess(), scrubber))
    return FrameRedactor(steps)
