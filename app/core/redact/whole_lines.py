"""Widening a changed area of the screen to the whole lines of text it touches, from their ink.

What changed between two frames is found in tiles of 32 pixels, which cut lines of text
anywhere: through the middle of a row of glyphs, or between two letters of a word. A crop cut
that way is read as fragments (half a row of a terminal reads as "V.V" or "t"), costs a
recognition each, and shows the detectors a secret in pieces. So before an area is read its
edges are moved out to blank pixel rows above and below, and along its rows to the first gap
in the ink wider than a space between words: the crop then holds whole lines. Lines that did
not change are answered from the reader's memory of their pixels, so reading them again is
cheap.
"""

from __future__ import annotations

import numpy as np

from app.core.redact.pixels import brightness

INK_CONTRAST = 48  # as lines.ink_mask: difference between neighbours' brightness at ink
# The farthest an edge moves in one step, in pixels: beyond it a band of touching lines (a
# terminal whose rows have no blank pixel row between them) is cut where the step ends.
REACH = 48
# Blank columns that end a line: more than a space between words of large text, less than
# the gutter between table columns or panes (those are read apart anyway, see lines.py).
WORD_GAP = 24
EDGE_SHARE = 0.9  # a column with ink on this share of a band's rows is a frame's side
ROUNDS = 4  # widening along rows brings in taller glyphs, which widen the rows again

Rect = tuple[int, int, int, int]  # x, y, w, h


def _level(pixels: np.ndarray) -> np.ndarray:
    return brightness(pixels)


def _inked_rows(pixels: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> np.ndarray:
    """Which rows of [y0, y1) have ink between columns x0 and x1, not counting the sides of
    frames and windows (a column inked on nearly every row)."""
    across = np.abs(np.diff(_level(pixels[y0:y1, x0:x1]), axis=1)) > INK_CONTRAST
    if across.shape[0] >= 8:
        across[:, across.mean(axis=0) >= EDGE_SHARE] = False
    return np.asarray(across.any(axis=1))


def _inked_columns(pixels: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> np.ndarray:
    """Which columns of [x0, x1) have ink (an edge against their left neighbour) on the rows
    [y0, y1); the band's frame sides excepted, as above."""
    across = np.abs(np.diff(_level(pixels[y0:y1, max(0, x0 - 1) : x1]), axis=1)) > INK_CONTRAST
    if x0 == 0:  # the first column has no left neighbour
        across = np.concatenate((np.zeros((y1 - y0, 1), dtype=bool), across), axis=1)
    inked = across.any(axis=0)
    if y1 - y0 >= 8:
        inked &= across.mean(axis=0) < EDGE_SHARE
    return np.asarray(inked)


def _grow_rows(pixels: np.ndarray, rect: Rect) -> Rect:
    """Top and bottom moved out until each lies on a blank row (or has moved REACH rows)."""
    x, y, w, h = rect
    height = pixels.shape[0]
    y0, y1 = max(0, y - REACH), min(height, y + h + REACH)
    inked = _inked_rows(pixels, x, x + w, y0, y1)
    top, bottom = y, y + h  # [top, bottom) in the frame's rows
    while top > y0 and inked[top - y0]:
        top -= 1
    while bottom < y1 and inked[bottom - 1 - y0]:
        bottom += 1
    return x, top, w, bottom - top


def _grow_columns(pixels: np.ndarray, rect: Rect) -> Rect:
    """Left and right edges moved out while there is ink on the area's rows less than
    WORD_GAP columns beyond them. The ink is looked at a stretch of columns at a time: most
    edges stop within a word or two."""
    x, y, w, h = rect
    width = pixels.shape[1]
    left, right = x, x + w
    while left > 0:
        start = max(0, left - STRETCH)
        reach, ended = _reach(_inked_columns(pixels, start, left, y, y + h)[::-1])
        left -= reach
        if ended or start == 0:
            break
    while right < width:
        end = min(width, right + STRETCH)
        reach, ended = _reach(_inked_columns(pixels, right, end, y, y + h))
        right += reach
        if ended or end == width:
            break
    return left, y, right - left, h


STRETCH = 160  # columns looked at in one step


def _reach(inked: np.ndarray) -> tuple[int, bool]:
    """How many columns from the start of `inked` the ink goes on with no blank run wider
    than WORD_GAP, and whether it ends there (False: it may go on past the stretch)."""
    last = -1  # the last inked column seen
    for i in np.flatnonzero(inked).tolist():
        if i - last > WORD_GAP:
            return last + 1, True
        last = i
    return last + 1, len(inked) - 1 - last > WORD_GAP


def whole_lines(pixels: np.ndarray, rect: Rect, margin: int = 2) -> Rect:
    """`rect` widened to the whole lines of text it touches, with `margin` blank pixels
    around them (as far as the frame goes)."""
    height, width = pixels.shape[:2]
    x, y, w, h = rect
    if w <= 0 or h <= 0:
        return rect
    for _ in range(ROUNDS):
        grown = _grow_columns(pixels, _grow_rows(pixels, (x, y, w, h)))
        if grown == (x, y, w, h):
            break
        x, y, w, h = grown
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(width, x + w + margin), min(height, y + h + margin)
    return x0, y0, x1 - x0, y1 - y0
