"""Reading a line of text from glyphs already read, without the recognition network.

A screen of text holds thousands of characters but a few dozen distinct glyphs: each
character of a font, in one colour on one background, is drawn with the same pixels wherever
it appears (exactly so for the bitmap and hinted fonts of terminals, editors and most of a
desktop). The recognition network costs a few milliseconds per character; looking a glyph up
by its pixels costs microseconds. So a line is cut into glyphs at the blank columns between
them; when the network has read a line whose glyphs it could be matched with one for one,
each glyph's pixels are remembered with the character it read; and a later line made only of
glyphs that were read the same way at least twice is spelled from memory. A line with any
glyph not known yet (or glyphs that touch, as in proportional fonts) goes to the network as
before. Spaces come from the gaps between glyphs, by what the network's readings showed a
space to be for that font.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.core.redact.pixels import channel_total

INK_CONTRAST = 48  # summed over channels, as lines.ink_mask
CAPACITY = 20000  # glyphs remembered (a few MB)
CONFIRMED = 2  # readings of a glyph that agree before it is used
AGREEMENT = 0.75  # share of its readings that must agree
# The network reads some glyphs one way or another by their neighbours (a bitmap 'l' as '1'
# beside figures). Once it has read a glyph this often, a clear majority of its readings is
# what the glyph is: else every line holding it would go to the network, for good.
SETTLED = 8
MAJORITY = 2 / 3
DESCENT = 0.18  # of the tallest glyph's height above the baseline: a descender's least depth


@dataclass(frozen=True, slots=True)
class Glyph:
    left: int  # columns [left, right) of the line's crop
    right: int
    key: bytes
    # Its ink rows against the line's baseline (the bottom row most glyphs end on):
    # top < 0; bottom > 0 when it reaches below the baseline (a comma, a 'g').
    top: int
    bottom: int
    split: bool  # its ink is in two parts one above the other (a colon)
    descends: bool  # it reaches clearly below the baseline (a comma, a 'g'; not a colon's dot)


@dataclass
class _Readings:
    chars: Counter[str]
    glyph: Glyph


class _Spacing:
    """Gaps between glyphs of one font, and how often the network's readings put a space
    in a gap of each width. A reading now and then drops or adds a space, so a width
    decides only by a clear majority."""

    def __init__(self) -> None:
        self.seen: dict[int, list[int]] = {}  # gap width: [with a space, without]

    def add(self, gap: int, spaced: bool) -> None:
        self.seen.setdefault(gap, [0, 0])[0 if spaced else 1] += 1

    def space(self, gap: int) -> bool | None:
        """Whether a gap this wide holds a space; None when the readings do not tell."""
        counts = self.seen.get(gap)
        if counts is not None:
            return _clear(counts)
        # A width not seen yet: as the nearest widths either side, when they agree.
        below = [w for w in self.seen if w < gap]
        above = [w for w in self.seen if w > gap]
        under = _clear(self.seen[max(below)]) if below else None
        over = _clear(self.seen[min(above)]) if above else None
        if under is not None and over is not None:
            return under if under == over else None
        if over is False:  # narrower than a gap that holds no space
            return False
        if under is True:  # wider than a gap that holds a space
            return True
        return None


def _clear(counts: list[int]) -> bool | None:
    spaced, unspaced = counts
    if spaced >= 3 * unspaced and spaced:
        return True
    if unspaced >= 3 * spaced and unspaced:
        return False
    return None


class GlyphMemory:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._glyphs: OrderedDict[bytes, _Readings] = OrderedDict()
        self._spacing: dict[bytes, _Spacing] = {}
        # Per font: the grids (pitch, and phase in screen columns) its lines showed. A line
        # of few runs (a row of bold figures that all touch) shows no grid of its own, but
        # stands on the grid of the terminal it is in.
        self._grids: dict[bytes, Counter[tuple[int, int]]] = {}
        self._capacity = capacity
        self.spelled = 0  # lines spelled from memory
        self.learned = 0  # lines whose glyphs were learned from a reading

    def glyphs(
        self, line: np.ndarray, column: int = 0, background: np.ndarray | None = None
    ) -> tuple[bytes, list[Glyph]]:
        """The glyphs of a line's crop (tight to its ink, RGB), left to right, and the key
        of its font's spacing (its background colour and height). `column` is the crop's
        column on screen: lines of one terminal stand on one grid of cells. `background` is
        the colour around the line, where the caller knows it: the edge of a crop tight to
        bold figures is mostly ink."""
        if background is None:
            background = _background(line)
        level = channel_total(np.abs(line.astype(np.int16) - background.astype(np.int16)))
        ink = level > INK_CONTRAST
        columns = np.asarray(ink.any(axis=0))
        height = line.shape[0]
        font = background.tobytes()
        runs = _runs(columns)
        found: list[tuple[int, int, int, int]] = []
        bottoms: Counter[int] = Counter()
        for left, right in _cells(runs, columns, self._grid_of(font, runs, column)):
            rows = np.flatnonzero(ink[:, left:right].any(axis=1))
            top, bottom = int(rows[0]), int(rows[-1]) + 1
            if _is_cursor(ink[top:bottom, left:right], height):
                continue
            found.append((left, right, top, bottom))
            bottoms[bottom] += 1
        # Glyphs are placed by their baseline: the row most glyphs end on. The same glyph in
        # another line (taller or shorter ink) then has the same key, and a comma is not an
        # apostrophe.
        baseline = bottoms.most_common(1)[0][0] if bottoms else height
        cap = max((baseline - top for _, _, top, _ in found), default=0)
        deep = max(2, round(DESCENT * cap))
        glyphs = []
        for left, right, top, bottom in found:
            pixels = np.ascontiguousarray(line[top:bottom, left:right])
            shape = f"{bottom - top}x{right - left}@{top - baseline},{bottom - baseline}"
            key = hashlib.blake2b(pixels.tobytes(), digest_size=16, key=shape.encode()).digest()
            inked = ink[top:bottom, left:right].any(axis=1)
            glyphs.append(
                Glyph(
                    left,
                    right,
                    key,
                    top - baseline,
                    bottom - baseline,
                    not inked.all(),
                    bottom - baseline >= deep,
                )
            )
        return font, glyphs

    def _grid_of(
        self, font: bytes, runs: list[tuple[int, int]], column: int
    ) -> tuple[int, int] | None:
        """The grid of the line's cells (pitch, phase in the crop's columns): its own, or one
        that its font's lines showed before, at the same columns on screen, on which this
        line's runs start."""
        grids = self._grids.get(font)
        grid = _grid(
            runs, [pitch for (pitch, _), _ in grids.most_common(MAX_GRIDS)] if grids else ()
        )
        if grid is not None:
            if grids is None:
                if len(self._grids) >= MAX_FONTS:
                    self._grids.clear()
                grids = self._grids[font] = Counter()
            pitch, phase = grid
            grids[(pitch, (column + phase) % pitch)] += 1
            return grid
        if grids is None or not runs:
            return None
        for (pitch, on_screen), _ in grids.most_common(MAX_GRIDS):
            if all(b - a <= pitch for a, b in runs):
                continue  # nothing is wider than a cell: the blank columns cut it already
            phase = (on_screen - column) % pitch
            # A glyph starts on its cell's first column or a pixel or two into it (as _grid
            # takes the phase: the earliest start); narrow ones (a period, a colon) may start
            # anywhere in their cell. Runs to be cut, which begin with a whole glyph, must
            # start on the grid, and so must most runs.
            on_grid = [(a - phase) % pitch <= BEARING for a, _ in runs]
            wide_on_grid = all(
                on for on, (a, b) in zip(on_grid, runs, strict=True) if b - a > pitch
            )
            if wide_on_grid and 2 * sum(on_grid) > len(runs):
                return pitch, phase
        return None

    def spell(self, font: bytes, glyphs: list[Glyph]) -> tuple[str, list[tuple[int, int]]] | None:
        """The line's text and each character's columns, if every glyph and every gap is
        known; None sends the line to the network."""
        if not glyphs:
            return None
        spacing = self._spacing.get(font)
        if spacing is None:
            return None
        text: list[str] = []
        columns: list[tuple[int, int]] = []
        for i, glyph in enumerate(glyphs):
            char = self._known(glyph.key)
            if char is None:
                return None
            if i:
                spaced = spacing.space(glyph.left - glyphs[i - 1].right)
                if spaced is None:
                    return None
                if spaced:
                    text.append(" ")
                    columns.append((glyphs[i - 1].right, glyph.left))
            text.append(char)
            columns.append((glyph.left, glyph.right))
        self.spelled += 1
        return "".join(text), columns

    def unknown(self, glyphs: list[Glyph]) -> set[bytes]:
        return {g.key for g in glyphs if self._known(g.key) is None}

    def learn(self, font: bytes, glyphs: list[Glyph], text: str) -> bool:
        """Remember what the network read a line as, glyph by glyph, where the reading and
        the glyphs match one for one and its spaces fall on the widest gaps."""
        words = text.split()
        chars = "".join(words)
        if not glyphs or len(chars) != len(glyphs):
            return False
        spaced = set()
        at = 0
        for word in words[:-1]:
            at += len(word)
            spaced.add(at)  # a space before the glyph at this index
        gaps = [(glyphs[i].left - glyphs[i - 1].right, i in spaced) for i in range(1, len(glyphs))]
        with_space = [g for g, s in gaps if s]
        without = [g for g, s in gaps if not s]
        if with_space and without and min(with_space) <= max(without):
            return False  # spaces the gaps do not show: the glyphs and reading may not match
        for glyph, char in zip(glyphs, chars, strict=True):
            readings = self._glyphs.get(glyph.key)
            if readings is None:
                readings = self._glyphs[glyph.key] = _Readings(Counter(), glyph)
                if len(self._glyphs) > self._capacity:
                    self._glyphs.popitem(last=False)
            else:
                self._glyphs.move_to_end(glyph.key)
            readings.chars[char] += 1
        spacing = self._spacing.setdefault(font, _Spacing())
        for gap, spaced_here in gaps:
            spacing.add(gap, spaced_here)
        self.learned += 1
        return True

    def _known(self, key: bytes) -> str | None:
        readings = self._glyphs.get(key)
        if readings is None:
            return None
        counts = readings.chars
        (char, count), total = counts.most_common(1)[0], counts.total()
        if total < CONFIRMED:
            return None
        if count >= (MAJORITY if total >= SETTLED else AGREEMENT) * total:
            return char
        # The network reads some small glyphs one way or another by their neighbours (a
        # bitmap period as a comma, a colon as a plus). Where its readings of one glyph
        # disagree within such a set, the glyph's place on the line decides.
        candidates = {c for c, n in counts.items() if n >= 0.15 * total}
        return _by_shape(candidates, readings.glyph)


# Characters the network confuses on small text, and how their shapes differ.
_DOTS = frozenset(".,")
_DASHES = frozenset("-_")
_STACKED = frozenset(":;+*t÷")
_TAILS = frozenset("g9q")


def _by_shape(candidates: set[str], glyph: Glyph) -> str | None:
    descends = glyph.descends
    if candidates <= _DOTS:
        return "," if descends else "."
    if candidates <= _DASHES:
        return "_" if glyph.bottom >= 0 and glyph.bottom - glyph.top <= 2 else "-"
    if candidates <= _STACKED and glyph.split:
        return ";" if descends else ":"
    if candidates <= _TAILS and len(candidates & {"g", "9"}) == 2:
        return "g" if descends else "9"
    return None


# Monospaced text (terminals, editors): glyphs stand on a grid of cells one pitch wide, and
# where two glyphs touch (bold text drawn twice one pixel apart, a 'm' beside a 'w') the run of
# ink is cut at the grid, so that each glyph keeps the key it has alone.
MIN_PITCH = 5  # narrower cells are not legible text
MAX_PITCH = 40
ON_GRID = 0.9  # share of glyphs that must start on the grid (give or take a pixel)
GRID_GLYPHS = 8  # fewer glyphs than this do not show a grid


SPILL = 2  # columns a bold glyph may reach into the next cell
BEARING = 2  # columns a glyph's ink may start into its cell
MAX_FONTS = 256  # backgrounds whose grids are remembered
MAX_GRIDS = 4  # grids of one font tried on a line too short to show its own


def _cells(
    runs: list[tuple[int, int]], columns: np.ndarray, grid: tuple[int, int] | None
) -> list[tuple[int, int]]:
    """The runs of ink, those wider than a cell of the line's grid (if it has one) cut at the
    grid into the cells that hold ink."""
    if grid is None:
        return runs
    pitch, phase = grid
    cells: list[tuple[int, int]] = []
    for left, right in runs:
        if right - left <= pitch:
            cells.append((left, right))
            continue
        cuts = [c for c in range(left - (left - phase) % pitch + pitch, right, pitch)]
        first = len(cells)
        for a, b in zip([left, *cuts], [*cuts, right], strict=True):
            inked = np.flatnonzero(columns[a:b])
            if inked.size:  # tight to its ink, as a glyph standing alone
                cells.append((a + int(inked[0]), a + int(inked[-1]) + 1))
        # A bold glyph is drawn again a pixel or two to the right, which can reach past its
        # cell: at the end of a run, that sliver is the glyph's own, not a glyph.
        last = cells[-1]
        if len(cells) - first > 1 and last[1] - last[0] <= SPILL and last[0] == cuts[-1]:
            cells[-2:] = [(cells[-2][0], last[1])]
    return cells


def _grid(runs: list[tuple[int, int]], likely: Sequence[int] = ()) -> tuple[int, int] | None:
    """The pitch and phase of the cells the glyphs stand on, when nearly all of them start on
    one grid (a glyph's left bearing moves it a pixel at most); the widest such pitch, since
    every fraction of it is a grid too. None for proportional text. The `likely` pitches
    (those lines of the same font showed) are tried first."""
    lefts = np.array([left for left, _ in runs])
    if len(lefts) < GRID_GLYPHS:
        return None
    typical = float(np.median([b - a for a, b in runs]))
    widest = min(MAX_PITCH, int(typical) * 4)
    # Most glyphs must fit a cell: cells that hold pairs of glyphs are no grid.
    narrowest = max(MIN_PITCH, math.ceil(typical))
    for pitch in [p for p in likely if narrowest <= p <= widest]:
        phase = _phase(lefts, pitch)
        if phase is not None:
            return pitch, phase
    for pitch in range(widest, narrowest - 1, -1):
        phase = _phase(lefts, pitch)
        if phase is not None:
            return pitch, phase
    return None


def _phase(lefts: np.ndarray, pitch: int) -> int | None:
    """Where cells of `pitch` columns begin, if nearly all glyphs start on them."""
    counts = np.bincount(lefts % pitch, minlength=pitch)
    # Glyphs' left bearings differ by a pixel or so: a glyph is on the grid when it starts at
    # most a pixel either side of the commonest start.
    near = counts.copy()
    near[1:] += counts[:-1]
    near[0] += counts[-1]
    near[:-1] += counts[1:]
    near[-1] += counts[0]
    start = int(np.argmax(near))
    if near[start] < ON_GRID * len(lefts):
        return None
    # Cells begin where the earliest of those glyphs begin.
    return next(r % pitch for r in (start - 1, start, start + 1) if counts[r % pitch])


# A text cursor: a block (or its outline, in a window without focus) as tall as the line and
# a good part of a character wide. It is no character: the network reads the line without it,
# and a line whose cursor counted as a glyph could neither teach its glyphs nor be spelled
# (the line being typed, every frame).
CURSOR_HEIGHT = 0.9  # of the line's ink height
CURSOR_WIDTH = 0.3  # of its own height: a letter's stem ('l', 'I') is far narrower
MIN_CURSOR = 3  # pixels wide


def _is_cursor(ink: np.ndarray, line_height: int) -> bool:
    height, width = ink.shape
    if height < CURSOR_HEIGHT * line_height or width < max(MIN_CURSOR, CURSOR_WIDTH * height):
        return False
    if ink.all():
        return True
    inside = ink[1:-1, 1:-1]
    frame = ink[0].all() and ink[-1].all() and ink[:, 0].all() and ink[:, -1].all()
    return bool(frame and inside.size and not inside.any())


def _background(line: np.ndarray) -> np.ndarray:
    """The commonest colour on the edge of a line's crop."""
    return commonest_colour(np.concatenate((line[0], line[-1], line[:, 0], line[:, -1])))


def commonest_colour(pixels: np.ndarray) -> np.ndarray:
    """The commonest of some RGB pixels (n x 3, uint8); ties go to the lowest colour.
    Each pixel packed into one integer: unique() along rows sorts structured views and costs
    ten times as much, and runs for every line of every frame."""
    packed = pixels.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    values, counts = np.unique(packed, return_counts=True)
    value = int(values[int(np.argmax(counts))])
    return np.array([value >> 16, (value >> 8) & 255, value & 255], dtype=np.uint8)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.view(np.int8), [0]))))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))
