"""Where the lines of text are in a crop of the screen, found from its ink alone.

Text on a screen is rendered: upright, on a flat background, lines separated by blank pixel
rows, groups of words separated by blank columns. A recursive cut along blank rows and wide
blank columns (an XY cut) finds the lines in a few milliseconds, where the OCR engine's
detection network takes most of a second on a crop and seconds on a whole screen. Only the
recognition network then runs, once per line.
"""

from __future__ import annotations

import numpy as np

INK_CONTRAST = 48  # difference between neighbouring pixels (summed over channels) at ink
MIN_HEIGHT = 5  # shorter runs of ink rows are rules, underlines, dots: not a line of text
MIN_WIDTH = 3  # narrower runs of ink columns are borders, cursors, separators
MAX_DEPTH = 6
Box = tuple[int, int, int, int]  # x, y, w, h


def ink_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels at a glyph's edge: where a pixel's brightness (the sum of its channels)
    differs from its left or upper neighbour's. Flat areas (backgrounds, filled bars) have
    none, whatever their colour."""
    level = rgb.sum(axis=2, dtype=np.int16)
    mask = np.zeros(rgb.shape[:2], dtype=bool)
    mask[:, 1:] = np.abs(np.diff(level, axis=1)) > INK_CONTRAST
    mask[1:, :] |= np.abs(np.diff(level, axis=0)) > INK_CONTRAST
    return mask


def _runs(flags: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """[start, end) runs of True, joining runs separated by fewer than `gap` False."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.view(np.int8), [0]))))
    runs: list[tuple[int, int]] = []
    for start, end in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True):
        if runs and start - runs[-1][1] < gap:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
    return runs


def _long_runs(mask: np.ndarray, longer_than: int) -> np.ndarray:
    """The pixels of `mask` in runs along a row longer than `longer_than`."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded.ravel())
    starts, ends = np.flatnonzero(steps == 1) + 1, np.flatnonzero(steps == -1) + 1
    long = ends - starts > longer_than
    marks = np.zeros(padded.size + 1, dtype=np.int32)
    np.add.at(marks, starts[long], 1)
    np.add.at(marks, ends[long], -1)
    return (np.cumsum(marks[:-1]) > 0).reshape(height, width + 2)[:, 1:-1]


def _straight_lines(mask: np.ndarray) -> np.ndarray:
    """The mask without long horizontal and vertical strokes (window edges, table rules,
    field frames), which would join lines or columns of text into one block."""
    return mask & ~_long_runs(mask, 80) & ~_long_runs(mask.T, 40).T


def find_lines(rgb: np.ndarray) -> list[Box]:
    """Boxes around the lines (or groups of words on a line) of text in `rgb`, tight to
    their ink, top to bottom and left to right."""
    if rgb.shape[0] < MIN_HEIGHT or rgb.shape[1] < MIN_WIDTH:
        return []
    mask = _straight_lines(ink_mask(rgb))
    found: list[Box] = []
    _cut(mask, 0, 0, found, 0)
    found.sort(key=lambda b: (b[1], b[0]))
    return found


def _cut(mask: np.ndarray, x0: int, y0: int, out: list[Box], depth: int) -> None:
    rows = _runs(np.asarray(mask.any(axis=1)), 1)
    for top, bottom in rows:
        band = mask[top:bottom]
        height = bottom - top
        if height < MIN_HEIGHT:
            continue
        # Words are a space apart (about half a line's height); wider blank columns part
        # columns of a table, panes, or a label from a field: read those as separate lines.
        gap = max(6, int(height * 1.2)) if height <= 40 else 24
        for left, right in _runs(np.asarray(band.any(axis=0)), gap):
            if right - left < MIN_WIDTH:
                continue
            piece = band[:, left:right]
            inner = _runs(np.asarray(piece.any(axis=1)), 1)
            if depth < MAX_DEPTH and (len(inner) > 1 or (inner and inner[0] != (0, height))):
                _cut(piece, x0 + left, y0 + top, out, depth + 1)
            else:
                out.append((x0 + left, y0 + top, right - left, height))
