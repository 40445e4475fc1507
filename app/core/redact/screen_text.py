"""On-screen text: find personal data and secrets in what the screen shows and cover them
with solid boxes.

OCR of a whole 1080p screen costs seconds, so only what changed is read again. The redactor
keeps the lines it read from the previous frame; a new frame is compared tile by tile, the
changed areas are widened to whole cached lines (a detector needs "alice@example.com", not
the three letters just typed), read, and the cache is updated. Unchanged areas reuse their
lines, and every frame is checked against the complete set of lines on screen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from app.core.frames import changed_tiles
from app.core.redact.frames import FrameContext, fill_boxes
from app.core.redact.ocr import OcrEngine, TextBox
from app.core.redact.text import Hit, TextScrubber

TILE = 32
MARGIN = 6  # pixels around a changed area, so glyphs cut by a tile edge are read whole
FULL_FRAME_SHARE = 0.5  # above this share of changed area, one full read is cheaper
Rect = tuple[int, int, int, int]  # x, y, w, h

# OCR misreads that matter for detection; swapped character for character so positions hold.
_DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "l": "1",
        "I": "1",
        "|": "1",
        "i": "1",
        "S": "5",
        "s": "5",
        "B": "8",
        "Z": "2",
        "z": "2",
    }
)
_DIGITISH_TOKEN = re.compile(r"[0-9OoDlIi|SsBZz][0-9OoDlIi|SsBZz \-]{10,}[0-9OoDlIi|SsBZz]")
_COMMA_IN_WORD = re.compile(r"(?<=[A-Za-z0-9]),(?=[A-Za-z]{2,})")


def ocr_variants(text: str) -> list[str]:
    """The text as read, plus a reading with typical OCR confusions undone."""
    fixed = _COMMA_IN_WORD.sub(".", text)
    fixed = _DIGITISH_TOKEN.sub(
        lambda m: (
            m.group().translate(_DIGIT_LOOKALIKES)
            if sum(c.isdigit() for c in m.group()) * 2 >= len(m.group().replace(" ", ""))
            else m.group()
        ),
        fixed,
    )
    return [text] if fixed == text else [text, fixed]


def hit_boxes(line: TextBox, hits: Iterable[Hit], pad_chars: float = 1.5) -> list[Rect]:
    """Screen rectangles for character ranges of a line, with padding: a box too wide costs a
    little context, one too narrow leaks. Uses the engine's character positions when it gave
    them (proportional fonts); they come from CTC peaks and can be off by about a character,
    which the padding covers."""
    n = max(1, len(line.text))
    char_w = line.w / n
    exact = len(line.chars) == len(line.text)
    pad = char_w * pad_chars
    boxes = []
    for hit in hits:
        left: float
        right: float
        if exact:
            left, right = line.chars[hit.start][0], line.chars[hit.end - 1][1]
        else:
            left, right = line.x + hit.start * char_w, line.x + hit.end * char_w
        x0 = max(line.x - 2, int(left - pad))
        x1 = min(line.x + line.w + 2, int(np.ceil(right + pad)))
        boxes.append((x0, line.y - 2, x1 - x0, line.h + 4))
    return boxes


def _runs(row: np.ndarray, gap: int) -> list[tuple[int, int]]:
    cols = np.flatnonzero(row)
    runs: list[tuple[int, int]] = []
    for c in cols:
        if runs and c - runs[-1][1] <= gap + 1:
            runs[-1] = (runs[-1][0], int(c))
        else:
            runs.append((int(c), int(c)))
    return runs


def tile_regions(grid: np.ndarray, gap: int = 1) -> list[tuple[int, int, int, int]]:
    """Rectangles (row0, col0, row1, col1), inclusive, covering the changed tiles."""
    rects: list[list[int]] = []
    for r in range(grid.shape[0]):
        for c0, c1 in _runs(grid[r], gap):
            for rect in rects:
                if rect[2] >= r - 1 and rect[1] <= c1 + gap and c0 <= rect[3] + gap:
                    rect[1], rect[2], rect[3] = min(rect[1], c0), r, max(rect[3], c1)
                    break
            else:
                rects.append([r, c0, r, c1])
    return [tuple(r) for r in rects]  # type: ignore[misc]


def _union(a: Rect, b: Rect) -> Rect:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0


def _touch(a: Rect, b: Rect) -> bool:
    return (
        a[0] <= b[0] + b[2] and b[0] <= a[0] + a[2] and a[1] <= b[1] + b[3] and b[1] <= a[1] + a[3]
    )


def merge_rects(rects: list[Rect]) -> list[Rect]:
    merged = list(rects)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                if _touch(merged[i], merged[j]):
                    merged[i] = _union(merged[i], merged.pop(j))
                    changed = True
                    break
            if changed:
                break
    return merged


@dataclass
class OcrStats:
    frames: int = 0
    reads: int = 0
    pixels_read: int = 0
    pixels_seen: int = 0
    cpu_s: float = 0.0
    hits: dict[str, int] = field(default_factory=dict)


class ScreenTextRedactor:
    """A frame redaction step (see FrameRedactor): OCR what changed, box what is sensitive."""

    __name__ = "screen_text"

    def __init__(self, engine: OcrEngine, scrubber: TextScrubber, tile: int = TILE) -> None:
        self.engine = engine
        self.scrubber = scrubber
        self.tile = tile
        self.lines: list[TextBox] = []
        self._previous: np.ndarray | None = None
        self.stats = OcrStats()

    def regions_to_read(self, pixels: np.ndarray) -> list[Rect]:
        height, width = pixels.shape[:2]
        previous = self._previous
        if previous is None or previous.shape != pixels.shape:
            return [(0, 0, width, height)]
        grid = changed_tiles(previous, pixels, self.tile)
        if not grid.any():
            return []
        t = self.tile
        rects: list[Rect] = []
        for r0, c0, r1, c1 in tile_regions(grid):
            rect = (
                c0 * t - MARGIN,
                r0 * t - MARGIN,
                (c1 - c0 + 1) * t + 2 * MARGIN,
                (r1 - r0 + 1) * t + 2 * MARGIN,
            )
            rects.append(rect)
        # Widen to whole cached lines that the change touches, until nothing more is touched.
        for _ in range(4):
            grown = merge_rects(rects)
            for i, rect in enumerate(grown):
                for line in self.lines:
                    if line.overlaps(*rect):
                        grown[i] = _union(
                            grown[i],
                            (
                                line.x - MARGIN,
                                line.y - MARGIN,
                                line.w + 2 * MARGIN,
                                line.h + 2 * MARGIN,
                            ),
                        )
            grown = merge_rects(grown)
            if grown == rects:
                break
            rects = grown
        clipped = []
        for x, y, w, h in rects:
            x0, y0 = max(0, x), max(0, y)
            x1, y1 = min(width, x + w), min(height, y + h)
            if x1 > x0 and y1 > y0:
                clipped.append((x0, y0, x1 - x0, y1 - y0))
        if sum(w * h for *_, w, h in clipped) > FULL_FRAME_SHARE * width * height:
            return [(0, 0, width, height)]
        return clipped

    def read(self, pixels: np.ndarray) -> list[TextBox]:
        """Bring the cached lines up to date with this frame and return them all."""
        started = time.process_time()
        regions = self.regions_to_read(pixels)
        if regions:
            self.lines = [ln for ln in self.lines if not any(ln.overlaps(*r) for r in regions)]
            for x, y, w, h in regions:
                found = self.engine.read(pixels[y : y + h, x : x + w])
                self.lines.extend(line.moved(x, y) for line in found)
                self.stats.reads += 1
                self.stats.pixels_read += w * h
        self._previous = pixels.copy()
        self.stats.frames += 1
        self.stats.pixels_seen += pixels.shape[0] * pixels.shape[1]
        self.stats.cpu_s += time.process_time() - started
        return self.lines

    def sensitive_boxes(self, lines: Iterable[TextBox]) -> list[tuple[Rect, str]]:
        found = []
        for line in lines:
            hits: list[Hit] = []
            for variant in ocr_variants(line.text):
                hits.extend(self.scrubber.find(variant))
            for hit, box in zip(hits, hit_boxes(line, hits), strict=True):
                found.append((box, hit.category))
        return found

    def reset(self) -> None:
        self.lines = []
        self._previous = None

    def __call__(self, pixels: np.ndarray, context: FrameContext) -> np.ndarray:
        try:
            lines = self.read(pixels)
        except BaseException:
            self.reset()  # a failed read leaves the cache unknown: start afresh next frame
            raise
        boxes = self.sensitive_boxes(lines)
        for _box, category in boxes:
            self.stats.hits[category] = self.stats.hits.get(category, 0) + 1
        return fill_boxes(pixels, [box for box, _ in boxes], color=0)
