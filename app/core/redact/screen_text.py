"""On-screen text: find personal data and secrets in what the screen shows and cover them
with solid boxes.

OCR of a whole 1080p screen costs seconds, so only what changed is read again. The redactor
keeps the lines it read from the previous frame; a new frame is compared tile by tile, the
changed areas are widened to whole cached lines (a detector needs "alice@example.com", not
the three letters just typed), read, and the cache is updated. Unchanged areas reuse their
lines, and every frame is checked against the complete set of lines on screen.

What the detectors see of each line (misreads undone, dropped spaces restored, lines that go
on at the next row read with it) is in ocr_text; where the boxes end (at the blank space
around each item, as the pixels show it) is in layout.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from app.core.frames import changed_tiles
from app.core.redact.frames import FrameContext, fill_boxes
from app.core.redact.layout import fitted_to_ink, gap_band, hit_boxes, ink_gaps
from app.core.redact.ocr import OcrEngine, TextBox, read_at_scale
from app.core.redact.ocr_text import LineHits
from app.core.redact.pixels import channel_total
from app.core.redact.text import TextScrubber
from app.core.redact.whole_lines import whole_lines

TILE = 32
MARGIN = 6  # pixels around a changed area, so glyphs cut by a tile edge are read whole
FULL_FRAME_SHARE = 0.5  # above this share of changed area, one full read is cheaper
Rect = tuple[int, int, int, int]  # x, y, w, h
# Text whose lines of ink are at most this tall (a 13-pixel bitmap terminal font: capitals of
# 9 pixels, descenders of 2) is read enlarged: at its own size the engine loses thin glyphs
# such as "@" and breaks lines apart. Ordinary 10-12 pt text is taller and read as it is.
SMALL_INK_ROWS = 11
ENLARGE = 2
MIN_INK_ROWS = 5  # shorter runs of ink rows are rules, underlines, dots: no line height
EDGE_SHARE = 0.9
INK_CONTRAST = 48  # difference between neighbouring pixels (summed over channels) at ink


def text_scale(crop: np.ndarray, enlarge: int = ENLARGE) -> int:
    """How much to enlarge a crop before reading it: `enlarge` when the typical run of ink
    rows (one line of text, from its tallest glyph to its lowest descender) is small, else 1."""
    if enlarge == 1 or crop.shape[0] < MIN_INK_ROWS or crop.shape[1] < 2:
        return 1
    # Ink is where a pixel differs from its left neighbour; a column where that holds on
    # nearly every row is a window edge or a frame, not glyphs, and would join all rows.
    steps = channel_total(np.abs(np.diff(crop.astype(np.int16), axis=1))) > INK_CONTRAST
    steps[:, steps.mean(axis=0) >= EDGE_SHARE] = False
    ink = steps.any(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ink.view(np.int8), [0]))))
    heights = [int(b - a) for a, b in zip(edges[0::2], edges[1::2], strict=True)]
    lines = [h for h in heights if h >= MIN_INK_ROWS]
    if not lines or float(np.median(lines)) > SMALL_INK_ROWS:
        return 1
    return enlarge


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


MIN_SCROLL_HEIGHT = 96  # smaller changes are read directly
MIN_SCROLL_SHARE = 0.5  # share of the non-blank rows that must agree on one shift


def _clip(rect: Rect, width: int, height: int) -> Rect:
    x, y, w, h = rect
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def _changed_pixels(previous: np.ndarray, current: np.ndarray, area: Rect) -> Rect:
    """The exact bounding box of the pixels that differ inside `area`: a typed character
    changes a few pixel rows, not the whole 32-pixel tile band (which spans two lines)."""
    x, y, w, h = area
    # Byte by byte along each row: reducing a trailing axis of three channels is slow.
    differs = (previous[y : y + h, x : x + w] != current[y : y + h, x : x + w]).reshape(h, -1)
    rows = np.flatnonzero(differs.any(axis=1))
    columns = differs.any(axis=0).reshape(w, -1).any(axis=1)
    cols = np.flatnonzero(columns)
    if rows.size == 0:
        return area
    return (
        x + int(cols[0]),
        y + int(rows[0]),
        int(cols[-1] - cols[0]) + 1,
        int(rows[-1] - rows[0]) + 1,
    )


def _touches(line: TextBox, rect: Rect) -> bool:
    """Whether a change reaches a line's own glyphs; OCR line boxes overlap their neighbours'
    by a few pixels, so only the middle half of the line's height counts."""
    x, y, w, h = rect
    top, bottom = line.y + line.h // 4, line.y + line.h - line.h // 4
    return line.x < x + w and x < line.x + line.w and top < y + h and y < bottom


def _read_again(line: TextBox, rect: Rect) -> bool:
    """Whether reading `rect` reads `line` again: it holds the middle half of the line's
    rows. A region widened to whole lines ends on a blank row or two beside the lines it
    holds, inside the margins of the boxes of the lines above and below; those lines are
    not read again, so they must not be forgotten (on 13-pixel lines printed one a frame,
    every new line cost the line above it)."""
    x, y, w, h = rect
    top, bottom = line.y + line.h // 4, line.y + line.h - line.h // 4
    return line.x < x + w and x < line.x + line.w and y <= top and bottom <= y + h


def _row_keys(block: np.ndarray) -> list[bytes]:
    return [row.tobytes() for row in block]


def _blank_rows(keys: list[bytes], pixel: int) -> np.ndarray:
    """Which rows (given by their bytes, `pixel` bytes a pixel) are one colour throughout:
    compared as bytes, which costs a quarter of comparing the pixels as an array."""
    return np.array([key == key[:pixel] * (len(key) // pixel) for key in keys], dtype=bool)


def _scroll_shift(
    before: list[bytes], after: list[bytes], blank_before: np.ndarray, blank_after: np.ndarray
) -> int:
    """The vertical shift under which most non-blank rows match (0 if none is convincing).
    Candidates come from rows that occur once on each side; each is then checked on all rows."""

    # Runs of identical rows (a glyph band, a rule) are matched by where they start.
    def run_starts(keys: list[bytes], blank: np.ndarray) -> dict[bytes, list[int]]:
        starts: dict[bytes, list[int]] = {}
        for i, key in enumerate(keys):
            if not blank[i] and (i == 0 or keys[i - 1] != key):
                starts.setdefault(key, []).append(i)
        return starts

    starts_before = run_starts(before, blank_before)
    starts_after = run_starts(after, blank_after)
    candidates: dict[int, int] = {}
    for key, found_after in starts_after.items():
        found_before = starts_before.get(key)
        if found_before and len(found_before) == 1 and len(found_after) == 1:
            dy = found_before[0] - found_after[0]
            if dy:
                candidates[dy] = candidates.get(dy, 0) + 1
    rows = [k for k in range(len(after)) if not blank_after[k]]
    best, best_count = 0, 0
    for dy, _ in sorted(candidates.items(), key=lambda item: -item[1])[:3]:
        count = sum(1 for k in rows if 0 <= k + dy < len(before) and after[k] == before[k + dy])
        if count > best_count:
            best, best_count = dy, count
    return best if rows and best_count >= MIN_SCROLL_SHARE * len(rows) else 0


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


GAPS_CACHE_SIZE = 8192  # lines whose measured gaps are kept (a few MB at most)


@dataclass
class OcrStats:
    frames: int = 0
    reads: int = 0
    pixels_read: int = 0
    pixels_seen: int = 0
    cpu_s: float = 0.0
    scrolls: int = 0
    enlarged: int = 0  # reads of small text, done on an enlarged crop
    hits: dict[str, int] = field(default_factory=dict)


class ScreenTextRedactor:
    """A frame redaction step (see FrameRedactor): OCR what changed, box what is sensitive."""

    __name__ = "screen_text"

    def __init__(
        self,
        engine: OcrEngine,
        scrubber: TextScrubber,
        tile: int = TILE,
        enlarge: int = ENLARGE,
        widen_by_ink: bool | None = None,
    ) -> None:
        self.engine = engine
        # Widen changed areas to whole lines by their ink (whole_lines) before reading them:
        # for an engine that finds lines by ink, which reads a crop cut through a row as
        # fragments. The detection network finds lines in a cut crop well enough, and its
        # cost grows with the area read. By default: as the engine finds lines.
        if widen_by_ink is None:
            widen_by_ink = getattr(engine, "find_lines", "network") != "network"
        self.widen_by_ink = widen_by_ink
        self.enlarge = enlarge  # factor for small text (1: read everything as it is)
        self.scrubber = scrubber
        self.tile = tile
        self.lines: list[TextBox] = []
        self._previous: np.ndarray | None = None
        self._boxes: list[tuple[Rect, str]] = []  # what the frame before covered
        # Gaps measured lately, by the pixels they were measured on (see _measured).
        self._gaps: dict[bytes, tuple[tuple[tuple[int, int], ...], tuple[int, ...]]] = {}
        self.finder = LineHits(scrubber)
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
            area = _clip((c0 * t, r0 * t, (c1 - c0 + 1) * t, (r1 - r0 + 1) * t), width, height)
            rects.extend(self._follow_scroll(previous, pixels, area))
        # Widen to whole cached lines that the change touches, until nothing more is touched.
        for _ in range(4):
            grown = merge_rects(rects)
            for i, rect in enumerate(grown):
                for line in self.lines:
                    if _touches(line, rect):
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
        if self.widen_by_ink:
            rects = merge_rects([whole_lines(pixels, _clip(r, width, height)) for r in rects])
        clipped = [c for c in (_clip(r, width, height) for r in rects) if c[2] > 0 and c[3] > 0]
        if sum(w * h for *_, w, h in clipped) > FULL_FRAME_SHARE * width * height:
            return [(0, 0, width, height)]
        return clipped

    def _follow_scroll(self, previous: np.ndarray, pixels: np.ndarray, area: Rect) -> list[Rect]:
        """If `area` scrolled, move the cached lines with it and return only the newly exposed
        strips to read; otherwise return the area (with a margin)."""
        cx, cy, cw, ch = _changed_pixels(previous, pixels, area)
        padded = [(cx - MARGIN, cy - MARGIN, cw + 2 * MARGIN, ch + 2 * MARGIN)]
        x, y, w, h = area
        if ch < MIN_SCROLL_HEIGHT:
            return padded
        before = _row_keys(previous[y : y + h, x : x + w])
        after = _row_keys(pixels[y : y + h, x : x + w])
        pixel = pixels.shape[2] * pixels.itemsize
        blank_before = _blank_rows(before, pixel)
        blank_after = _blank_rows(after, pixel)
        dy = _scroll_shift(before, after, blank_before, blank_after)
        if dy == 0:
            return padded
        # Row k now shows what row k + dy showed before, or (chrome that does not scroll,
        # such as borders and status bars) exactly what it showed.
        static = np.array([after[k] == before[k] for k in range(h)], dtype=bool)
        shifted = np.zeros(h, dtype=bool)
        for k in range(max(0, -dy), min(h, h - dy)):
            shifted[k] = after[k] == before[k + dy]
        matched = static | shifted
        kept: list[TextBox] = []
        for line in self.lines:
            if not line.overlaps(x, y, w, h):
                kept.append(line)
                continue
            inside_x = line.x >= x and line.x + line.w <= x + w
            here, there = line.y - y, line.y - dy - y
            if inside_x and here >= 0 and here + line.h <= h and static[here : here + line.h].all():
                kept.append(line)  # did not move
            elif (
                inside_x
                and there >= 0
                and there + line.h <= h
                and shifted[there : there + line.h].all()
            ):
                kept.append(line.moved(0, -dy))
            elif 0 <= there < h:
                matched[max(0, there) : min(h, there + line.h)] = False  # read it where it is now
        self.lines = kept
        strips: list[Rect] = []
        k = 0
        while k < h:
            if matched[k]:
                k += 1
                continue
            start = k
            while k < h and not matched[k]:
                k += 1
            strips.append((x - MARGIN, y + start - MARGIN, w + 2 * MARGIN, k - start + 2 * MARGIN))
        self.stats.scrolls += 1
        return strips

    def read(self, pixels: np.ndarray) -> list[TextBox]:
        """Bring the cached lines up to date with this frame and return them all."""
        started = time.process_time()
        regions = self.regions_to_read(pixels)
        if regions:
            self.lines = [ln for ln in self.lines if not any(_read_again(ln, r) for r in regions)]
            for x, y, w, h in regions:
                crop = pixels[y : y + h, x : x + w]
                scale = text_scale(crop, self.enlarge)
                found = read_at_scale(self.engine, crop, scale, x)
                self.stats.enlarged += scale > 1
                self.lines.extend(self._measured(pixels, line.moved(x, y)) for line in found)
                self.stats.reads += 1
                self.stats.pixels_read += w * h
        self._previous = pixels.copy()
        self.stats.frames += 1
        self.stats.pixels_seen += pixels.shape[0] * pixels.shape[1]
        self.stats.cpu_s += time.process_time() - started
        return self.lines

    def _measured(self, pixels: np.ndarray, line: TextBox) -> TextBox:
        """The line with its gaps measured (ink_gaps), or as measured before for a line read
        the same over the same pixels, wherever it was then: a region read again holds many
        lines that did not change or only moved (the cells of a table around the few whose
        figures changed, rows that `top` sorted anew)."""
        top, bottom, left, right = gap_band(pixels.shape, line)
        digest = hashlib.blake2b(pixels[top:bottom, left:right].tobytes(), digest_size=16)
        chars = tuple((a - left, b - left) for a, b in line.chars)
        shape = (bottom - top, right - left, line.x - left, line.y - top, line.w, line.h)
        digest.update(repr((shape, line.text, chars)).encode())
        key = digest.digest()
        known = self._gaps.get(key)
        if known is not None:
            gaps, breaks = known
            return replace(line, gaps=tuple((a + left, b + left) for a, b in gaps), breaks=breaks)
        measured = ink_gaps(pixels, line)
        if len(self._gaps) >= GAPS_CACHE_SIZE:
            self._gaps.clear()
        self._gaps[key] = (tuple((a - left, b - left) for a, b in measured.gaps), measured.breaks)
        return measured

    def sensitive_boxes(
        self, lines: Sequence[TextBox], pixels: np.ndarray | None = None
    ) -> list[tuple[Rect, str]]:
        """The boxes to fill, and what each covers; brought in to the ink of their lines when
        given the pixels they were read from."""
        found = []
        for line, hits in zip(lines, self.finder.find(lines), strict=True):
            for hit, box in zip(hits, hit_boxes(line, hits), strict=True):
                if pixels is not None:
                    box = fitted_to_ink(pixels, line, box)
                found.append((box, hit.category))
        return found

    def cancel(self) -> None:
        """Stop a read in progress (when the engine can): the frame it was for fails."""
        cancel = getattr(self.engine, "cancel", None)
        if cancel is not None:
            cancel()

    def close(self) -> None:
        """End the engine's worker process, if it has one; the lines read stay cached."""
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()

    def reset(self) -> None:
        self.lines = []
        self._previous = None
        self._boxes = []

    def __call__(self, pixels: np.ndarray, context: FrameContext) -> np.ndarray:
        previous = self._previous
        try:
            lines = self.read(pixels)
        except BaseException:
            self.reset()  # a failed read leaves the cache unknown: start afresh next frame
            raise
        boxes = self.sensitive_boxes(lines, pixels)
        if previous is not None and previous.shape == pixels.shape:
            boxes += _still_showing(self._boxes, boxes, previous, pixels)
        self._boxes = boxes
        for _box, category in boxes:
            self.stats.hits[category] = self.stats.hits.get(category, 0) + 1
        return fill_boxes(pixels, [box for box, _ in boxes], color=0)


def _covers(outer: Rect, inner: Rect) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def _still_showing(
    before: list[tuple[Rect, str]],
    now: list[tuple[Rect, str]],
    previous: np.ndarray,
    pixels: np.ndarray,
) -> list[tuple[Rect, str]]:
    """Boxes of the frame before whose pixels have not changed, and that this frame's reading
    does not cover. A line is read again when a change next to it widens the region; on small
    or dense text a second reading can come out worse ("alice.joneslexample.com"). When the
    pixels of the old box's line are the same, what they show is still there: keep it covered.
    Fail closed: a box leaves only when the pixels of its item changed."""
    height, width = pixels.shape[:2]
    kept = []
    for box, category in before:
        x, y, w, h = _clip(box, width, height)
        if w == 0 or h == 0 or any(_covers(other, box) for other, _ in now):
            continue
        changed = (previous[y : y + h, x : x + w] != pixels[y : y + h, x : x + w]).any(axis=(1, 2))
        if _only_at_the_edges(changed):
            kept.append((box, category))
    return kept


def _only_at_the_edges(changed: np.ndarray) -> bool:
    """Whether the changed rows of a box leave its item alone. Boxes are a little taller than
    their line, and on dense text reach into the lines above and below, which may change while
    the item stays: changes confined to runs that start at the box's top or end at its bottom,
    away from its middle rows, are such neighbours."""
    rows = len(changed)
    if not changed.any():
        return True
    top = 0
    while top < rows and changed[top]:
        top += 1
    bottom = rows
    while bottom > top and changed[bottom - 1]:
        bottom -= 1
    middle = rows // 2
    return not changed[top:bottom].any() and top < middle - 1 and bottom > middle + 1
