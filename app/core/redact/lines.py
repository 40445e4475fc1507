"""Where the lines of text are in a crop of the screen, found from its ink alone.

Text on a screen is rendered: upright, on a flat background, lines separated by blank pixel
rows, groups of words separated by blank columns. A recursive cut along blank rows and wide
blank columns (an XY cut) finds the lines in a few milliseconds, where the OCR engine's
detection network takes most of a second on a crop and seconds on a whole screen. Only the
recognition network then runs, once per line.
"""

from __future__ import annotations

import numpy as np

from app.core.redact.pixels import brightness

INK_CONTRAST = 48  # difference between neighbouring pixels (summed over channels) at ink
MIN_HEIGHT = 5  # shorter runs of ink rows are rules, underlines, dots: not a line of text
ATTACH = 2  # blank rows between a line and its underscores or i-dots
MIN_WIDTH = 3  # narrower runs of ink columns are borders, cursors, separators
MAX_DEPTH = 6
Box = tuple[int, int, int, int]  # x, y, w, h


# The two kinds of edge in an ink mask (a uint8 per pixel).
ACROSS = 1  # the pixel's brightness differs from its left neighbour's
DOWN = 2  # it differs from the upper neighbour's


def ink_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels at a glyph's edge, where a pixel's brightness (the sum of its channels)
    differs from its left neighbour's (ACROSS) or upper neighbour's (DOWN). Flat areas
    (backgrounds, filled bars) have none, whatever their colour.

    Lines are told apart by ACROSS edges alone: every row a glyph has ink in has one, while
    DOWN edges also mark the blank row under each glyph and on a terminal (13-pixel lines,
    descenders on the last row) would join every line to the next. Gaps between words are
    told by both: the inside of a horizontal stroke ('_', '-') has DOWN edges only."""
    level = brightness(rgb)
    mask = np.zeros(rgb.shape[:2], dtype=np.uint8)
    mask[:, 1:] = (np.abs(np.diff(level, axis=1)) > INK_CONTRAST) * np.uint8(ACROSS)
    mask[1:, :] |= (np.abs(np.diff(level, axis=0)) > INK_CONTRAST) * np.uint8(DOWN)
    return mask


def _rows(mask: np.ndarray) -> np.ndarray:
    """The edges that tell lines apart."""
    return (mask & ACROSS).astype(bool)


def _runs(flags: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """[start, end) runs of True, joining runs separated by fewer than `gap` False."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.view(np.int8), [0]))))
    starts, ends = edges[0::2], edges[1::2]
    if len(starts) > 1:
        # A run starts anew where the blank before it is at least `gap` long.
        apart = starts[1:] - ends[:-1] >= gap
        starts = starts[np.concatenate(([True], apart))]
        ends = ends[np.concatenate((apart, [True]))]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _line_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of rows with ink, where a run too short to be a line (an underscore
    or the dots of an 'i' a blank row away from their line) goes with the nearest line at
    most ATTACH rows away: without it '_' drops out of 'sk_live_…' and tokens fall apart."""
    runs = _runs(flags, 1)
    merged: list[list[int]] = [list(r) for r in runs]
    i = 0
    while i < len(merged):
        start, end = merged[i]
        if end - start < MIN_HEIGHT and len(merged) > 1:
            above = start - merged[i - 1][1] if i > 0 else 1 << 30
            below = merged[i + 1][0] - end if i + 1 < len(merged) else 1 << 30
            if min(above, below) <= ATTACH:
                if above <= below:
                    merged[i - 1][1] = end
                else:
                    merged[i + 1][0] = start
                del merged[i]
                continue
        i += 1
    return [(a, b) for a, b in merged]


def _long_runs(mask: np.ndarray, longer_than: int, axis: int) -> np.ndarray:
    """The pixels of `mask` (bool) in runs along `axis` (1: along a row, 0: down a column)
    longer than `longer_than`: a morphological opening by a line of k = longer_than + 1
    pixels, where the runs of k begin (every window of k all set), spread back over the k
    pixels of each window."""
    k = longer_than + 1
    n = mask.shape[axis]
    if n < k:
        return np.zeros_like(mask)
    starts = _windows(mask, k, axis, np.logical_and)
    shape = list(mask.shape)
    shape[axis] = n + k - 1
    padded = np.zeros(shape, dtype=bool)  # a pixel is in a run if one began k-1 or fewer before
    _along(padded, axis, k - 1, n)[...] = starts
    return _windows(padded, k, axis, np.logical_or)


def _along(a: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    return a[:, start:stop] if axis == 1 else a[start:stop]


def _windows(a: np.ndarray, k: int, axis: int, op: np.ufunc) -> np.ndarray:
    """`op` (logical and, or) over every window of k entries along `axis`: entry i of the
    result covers entries i to i + k - 1 of `a`. Windows of 1, 2, 4, ... entries are made
    each from two of the one before, and those the binary digits of k name are combined:
    a few whole-array operations, where a run-by-run pass costs a Python step per run."""
    n = a.shape[axis]
    out: np.ndarray | None = None
    done = 0  # entries `out` covers
    block, size = a, 1  # block's entry i covers entries i to i + size - 1
    while True:
        if k & 1:
            if out is None:
                out, done = block, size
            else:
                length = n - done - size + 1
                out = op(_along(out, axis, 0, length), _along(block, axis, done, done + length))
                done += size
        k >>= 1
        if not k:
            assert out is not None
            return out
        length = n - 2 * size + 1
        block = op(_along(block, axis, 0, length), _along(block, axis, size, size + length))
        size *= 2


def _straight_lines(mask: np.ndarray) -> np.ndarray:
    """The mask without long horizontal and vertical strokes (window edges, table rules,
    field frames), which would join lines or columns of text into one block."""
    inked = mask.astype(bool)
    straight = _long_runs(inked, 80, axis=1) | _long_runs(inked, 40, axis=0)
    return np.where(straight, np.uint8(0), mask)


def find_lines(rgb: np.ndarray) -> list[Box]:
    """Boxes around the lines (or groups of words on a line) of text in `rgb`, tight to
    their ink, top to bottom and left to right."""
    bands = Bands.of(rgb)
    return [box for top, bottom in bands.rows for box in bands.lines(top, bottom)]


class Bands:
    """The bands of a crop: runs of pixel rows with ink, blank rows between them. Each band's
    lines are found from its own rows of the ink mask alone (and the usual line height of the
    crop), so a band whose pixels did not change holds the same lines (see LineReader)."""

    def __init__(self, mask: np.ndarray, rows: list[tuple[int, int]]) -> None:
        self.mask = mask
        self.rows = rows  # [top, bottom) of each band, top to bottom
        heights = [b - a for a, b in rows]
        # The usual height of a line here, when enough lines stand apart to tell it.
        self.line_height = float(np.median(heights)) if len(heights) >= 3 else None

    @classmethod
    def of(cls, rgb: np.ndarray) -> Bands:
        if rgb.shape[0] < MIN_HEIGHT or rgb.shape[1] < MIN_WIDTH:
            return cls(np.zeros((0, 0), dtype=np.uint8), [])
        mask = _straight_lines(ink_mask(rgb))
        runs = _line_runs(np.asarray(_rows(mask).any(axis=1)))
        return cls(mask, [(a, b) for a, b in runs if b - a >= MIN_HEIGHT])

    def lines(self, top: int, bottom: int) -> list[Box]:
        """The lines of the band of rows [top, bottom), in the crop's coordinates, left to
        right (top to bottom where the band holds touching lines)."""
        found: list[Box] = []
        _cut_band(self.mask[top:bottom], 0, top, found, 0, self.line_height)
        pieces: list[Box] = []
        for box in found:
            _split_long(self.mask, box, pieces)
        pieces.sort(key=lambda b: (b[1], b[0]))
        return pieces


# The recogniser's cost grows faster than a line's width (a line twice as wide costs about
# three times as much), so long lines are read in parts of at most this many line heights,
# cut at the widest space near their middle. Pieces of a row are joined again for the
# detectors (line_reader.joined_rows).
LONGEST = 16
SHORTEST_PART = 3  # line heights
SPACE = 0.55  # of the line's height: a blank run this wide is a space, not a narrow glyph's margin


def _split_long(mask: np.ndarray, box: Box, out: list[Box]) -> None:
    x, y, w, h = box
    if w <= LONGEST * h:
        out.append(box)
        return
    blank = ~np.asarray(mask[y : y + h, x : x + w].astype(bool).any(axis=0))
    # Parts keep the line's rows and are at least a few characters wide: a lone '=' or
    # ':' read apart from its words comes out as noise.
    shortest = SHORTEST_PART * h
    gaps = [
        (a, b)
        for a, b in _runs(blank, 1)
        if b - a >= max(2, SPACE * h) and a >= shortest and w - b >= shortest
    ]
    if not gaps:
        out.append(box)  # one long word (a token): read whole
        return
    # The widest gap, and of those the one nearest the middle.
    a, b = max(gaps, key=lambda g: (g[1] - g[0], -abs((g[0] + g[1]) / 2 - w / 2)))
    _split_long(mask, _narrowed(mask, (x, y, a, h)), out)
    _split_long(mask, _narrowed(mask, (x + b, y, w - b, h)), out)


def _narrowed(mask: np.ndarray, box: Box) -> Box:
    """The box narrowed to the ink inside it, its rows kept."""
    x, y, w, h = box
    cols = np.flatnonzero(mask[y : y + h, x : x + w].astype(bool).any(axis=0))
    if cols.size == 0:
        return box
    return x + int(cols[0]), y, int(cols[-1] - cols[0]) + 1, h


# Splitting bands of touching lines (see split_band).
MIN_PITCH = 8  # no legible font has lines closer than this
SAME_SHAPE = 0.3  # correlation of a band's ink profile with itself one pitch down
DENSE_ROW = 0.4  # a line's densest row, against the band's
QUIET_ROW = 0.35  # ink of the rows at a cut, against the band's average row


def split_band(profile: np.ndarray, line_height: float | None) -> list[tuple[int, int]]:
    """[start, end) rows of the lines in a band of touching lines, or the band whole.

    Lines of a small font can touch: a descender on a line's last pixel row meets the next
    line's capitals or brackets, a cursor block or a highlight bar joins two rows. The cuts go
    where the rows either side have least ink (a descender's few pixels, the blank top of a
    cell), one line pitch apart: the usual line height of the crop when other lines stand
    apart, else the shift under which the band's profile of ink per row is most like itself.
    Every cut must be quiet against the band's average row, so a tall single line such as a
    heading, whose middle rows are its densest, stays whole."""
    height = len(profile)
    if height < 2 * MIN_HEIGHT:
        return [(0, height)]
    ink = profile.astype(np.float64)
    if line_height is None:
        pitch = _self_similar_pitch(ink)
        if pitch is None:
            return [(0, height)]
        shortest, longest = pitch * 0.75, pitch * 1.25
    else:
        shortest, longest = max(MIN_HEIGHT, line_height * 0.7), line_height * 1.6
    # cost[r]: ink on the two rows either side of a cut before row r.
    cost = np.full(height + 1, np.inf)
    cost[1:height] = ink[:-1] + ink[1:]
    # worst[c]: over the ways to cut rows [0, c) into lines of a plausible height, the least
    # cost of the noisiest cut; came[c] the cut before.
    worst = np.full(height + 1, np.inf)
    came = np.zeros(height + 1, dtype=np.int64)
    worst[0] = 0.0
    lo, hi = max(1, int(np.ceil(shortest))), int(longest)
    for c in range(lo, height + 1):
        for start in range(max(0, c - hi), c - lo + 1):
            if worst[start] == np.inf:
                continue
            here = max(worst[start], cost[c] if c < height else 0.0)
            if here < worst[c]:
                worst[c], came[c] = here, start
    if worst[height] > QUIET_ROW * 2 * float(ink.mean()):
        return [(0, height)]
    edges = [height]
    while edges[-1] > 0:
        edges.append(int(came[edges[-1]]))
    edges.reverse()
    pieces = list(zip(edges, edges[1:], strict=False))
    if line_height is None and any(
        ink[a:b].max() < DENSE_ROW * ink.max() for a, b in pieces
    ):  # with no other line to go by, each line must have the dense rows of its own glyphs
        return [(0, height)]
    return pieces


def _self_similar_pitch(ink: np.ndarray) -> float | None:
    """The first clear shift (>= MIN_PITCH rows, at most half the band) under which the ink
    profile correlates with itself: two or more lines of one font. None when nothing does."""
    centred = ink - ink.mean()
    energy = float((centred * centred).sum())
    high = len(ink) // 2 + 1
    if energy == 0 or high < MIN_PITCH:
        return None
    best, best_score = None, SAME_SHAPE
    for pitch in range(MIN_PITCH, high + 1):
        score = float((centred[:-pitch] * centred[pitch:]).sum()) / energy
        if score > best_score * 1.15:  # twice the pitch is as alike: keep the first peak
            best, best_score = pitch, score
    return None if best is None else float(best)


FRAME_EDGE = 0.85  # share of a band's rows a frame's side spans
CORNER = 3  # columns beside a frame's side that its rounded corners reach


def _without_frame_edges(band: np.ndarray) -> np.ndarray:
    """The band without the sides of a frame around its text (an input field, a button, a
    table cell): columns with ink on nearly all the band's rows, where the rest of the ink
    spans clearly fewer rows. They would join a field's text to its border and make the
    line as tall as the field. The band itself when there are none."""
    height, width = band.shape
    if height < 2 * MIN_HEIGHT:
        return band
    across = _rows(band)
    edges = across.sum(axis=0) >= FRAME_EDGE * height
    if not edges.any():
        return band
    # A frame's rounded corners are a few pixels beside its sides.
    near = np.zeros(width, dtype=bool)
    for shift in range(-CORNER, CORNER + 1):
        near[max(0, shift) : width + min(0, shift)] |= edges[max(0, -shift) : width - max(0, shift)]
    rest = np.flatnonzero(across[:, ~near].any(axis=1))
    # A frame stands out above and below what it holds; a tall glyph's stem ('d', 'l')
    # reaches the baseline of the letters beside it.
    if rest.size == 0 or rest[0] < 2 or rest[-1] > height - 3:
        return band
    if rest[-1] - rest[0] + 1 > 0.75 * height:
        return band
    cleared = band.copy()
    cleared[:, edges] = 0
    outside = np.ones(height, dtype=bool)
    outside[rest[0] : rest[-1] + 1] = False
    cleared[np.ix_(outside, near)] = 0
    return cleared


def column_gap(height: int) -> int:
    """The narrowest run of blank columns that parts two pieces of a band of this many rows.
    Words are a space apart (about half a line's height); wider blank columns part columns of
    a table, panes, or a label from a field, which are read as separate lines."""
    return max(6, int(height * 1.2)) if height <= 40 else 24


def _cut(
    mask: np.ndarray, x0: int, y0: int, out: list[Box], depth: int, line_height: float | None
) -> None:
    for top, bottom in _line_runs(np.asarray(_rows(mask).any(axis=1))):
        if bottom - top >= MIN_HEIGHT:
            _cut_band(mask[top:bottom], x0, y0 + top, out, depth, line_height)


def _cut_band(
    band: np.ndarray, x0: int, y0: int, out: list[Box], depth: int, line_height: float | None
) -> None:
    """The pieces of a band of rows, apart by blank columns, each cut further where it is
    not one line yet."""
    height = band.shape[0]
    gap = column_gap(height)
    for left, right in _runs(np.asarray(band.astype(bool).any(axis=0)), gap):
        if right - left < MIN_WIDTH:
            continue
        piece = band[:, left:right]
        if depth < MAX_DEPTH and _cut_further(piece, x0 + left, y0, out, depth, line_height):
            continue
        out.append((x0 + left, y0, right - left, height))


def _cut_further(
    piece: np.ndarray, x0: int, y0: int, out: list[Box], depth: int, line_height: float | None
) -> bool:
    """Cut a piece of a band again where it is not one line yet: without the sides of a frame
    around it, at blank rows inside it, or between touching lines. False: it is one line."""
    height = piece.shape[0]
    framed = _without_frame_edges(piece)
    if framed is not piece:
        _cut(framed, x0, y0, out, depth + 1, line_height)
        return True
    inner = _line_runs(np.asarray(_rows(piece).any(axis=1)))
    if len(inner) > 1 or (inner and inner[0] != (0, height)):
        _cut(piece, x0, y0, out, depth + 1, line_height)
        return True
    if line_height is not None and height <= 1.5 * line_height:
        return False
    lines = split_band(_rows(piece).sum(axis=1), line_height)
    if len(lines) == 1:
        return False
    for top, bottom in lines:
        _cut(piece[top:bottom], x0, y0 + top, out, depth + 1, line_height)
    return True
