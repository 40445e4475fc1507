"""Where text sits on screen: the blank columns between glyphs, boxes for ranges of characters
that end at the blank space around them, and lines that continue on the line below.

OCR gives each line's characters with positions that can be off by most of a character, so a
box drawn from them alone needs generous padding, which covers short neighbouring words. The
pixels say where a word really ends: a run of blank columns. Boxes are widened to the widest
such run near each end instead of by a fixed amount.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.core.redact.ocr import TextBox
from app.core.redact.pixels import channel_total
from app.core.redact.text import WEAK_CATEGORY, Hit

Rect = tuple[int, int, int, int]  # x, y, w, h

INK_CONTRAST = 48  # spread of a pixel column (max - min, summed over channels) that is ink
PAD_CHARS = 1.5  # padding when no blank run is found: the engine's positions are that rough
BOX_MARGIN = 2  # pixels a box reaches past the rows of the line or ink it covers
# Blank rows inside a line's ink bridged, and the margin kept around that ink, as shares of
# the line's box height (the ink and a margin of 0.3 of the ink's height above and below).
BRIDGE_HEIGHTS = 0.1
INK_MARGIN_HEIGHTS = 0.1
# The tallest a line's ink is, as a share of its box: the ink reader's boxes add 0.3 of the
# ink's height above and below (line_reader.PAD_SHARE), so the ink is 0.625 of the box.
INK_HEIGHTS = 0.75
INWARD_CHARS = 0.35  # how far inside its estimate a box edge may move to meet the ink
MIN_GAP_HEIGHTS = 0.08  # a blank run narrower than this share of the line height is kerning
# A space the engine dropped: a blank run at least this share of the line height between two
# characters whose centres are this much further apart than the line's usual pitch. Either
# alone also fires inside words (narrow glyphs in monospace, wide ones in proportional fonts).
BREAK_HEIGHTS = 0.2
BREAK_PITCH = 1.25


def gap_band(shape: tuple[int, ...], line: TextBox) -> tuple[int, int, int, int]:
    """The pixels ink_gaps looks at for a line: top, bottom, left, right."""
    height, width = shape[:2]
    top, bottom = line.y + line.h // 8, line.y + line.h - line.h // 8
    left, right = max(0, line.x - 2 * line.h), min(width, line.x + line.w + 2 * line.h)
    return max(0, top), min(height, bottom), left, right


def ink_gaps(pixels: np.ndarray, line: TextBox) -> TextBox:
    """The line with the runs of blank pixel columns across its height (and a little beyond
    its ends), in image coordinates. A column is blank when it has a single colour over the
    middle of the line; the top and bottom eighths are left out because OCR boxes overlap the
    lines above and below."""
    top, bottom, left, right = gap_band(pixels.shape, line)
    if bottom <= top or right <= left:
        return line
    band = pixels[top:bottom, left:right]
    spread = band.max(axis=0).astype(np.int16) - band.min(axis=0)
    blank = channel_total(spread) <= INK_CONTRAST
    edges = np.flatnonzero(np.diff(np.concatenate(([0], blank.view(np.int8), [0]))))
    gaps = tuple(
        (left + int(a), left + int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True)
    )
    return replace(line, gaps=gaps, breaks=_dropped_spaces(line.text, line.chars, gaps, line.h))


def _may_break(before: str, after: str) -> bool:
    """Where a dropped space can be restored: between two letters or digits, before a "+"
    (a phone number glued to a word), after clause punctuation. Never next to the . - _ @ /
    that hold e-mail addresses and tokens together."""
    if before.isalnum():
        return after.isalnum() or after == "+"
    return before in ":;,)\"'" and after.isalnum()


def _dropped_spaces(
    text: str, chars: Sequence[tuple[int, int]], gaps: Sequence[tuple[int, int]], height: int
) -> tuple[int, ...]:
    if len(chars) != len(text) or len(text) < 4:
        return ()
    centres = [(a + b) / 2 for a, b in chars]
    pitch = float(np.median(np.diff(centres)))
    breaks: list[int] = []
    g = 0
    for i in range(len(text) - 1):
        lo, hi = centres[i], centres[i + 1]
        while g < len(gaps) and gaps[g][1] <= lo:
            g += 1
        if not _may_break(text[i], text[i + 1]) or hi - lo < BREAK_PITCH * pitch:
            continue
        widest = 0.0
        k = g
        while k < len(gaps) and gaps[k][0] < hi:
            widest = max(widest, min(gaps[k][1], hi) - max(gaps[k][0], lo))
            k += 1
        if widest >= BREAK_HEIGHTS * height:
            breaks.append(i + 1)
    return tuple(breaks)


def _char_edges(line: TextBox, start: int, end: int) -> tuple[float, float]:
    if len(line.chars) == len(line.text):
        return float(line.chars[start][0]), float(line.chars[end - 1][1])
    char_w = line.w / max(1, len(line.text))
    return line.x + start * char_w, line.x + end * char_w


def _widest_gap(line: TextBox, lo: float, hi: float) -> tuple[int, int] | None:
    """The widest blank run overlapping [lo, hi], if it is wide enough to separate words."""
    best: tuple[int, int] | None = None
    for a, b in line.gaps:
        if b > lo and a < hi and (best is None or b - a > best[1] - best[0]):
            best = (a, b)
    if best is None or best[1] - best[0] < max(2.0, MIN_GAP_HEIGHTS * line.h):
        return None
    return best


def hit_boxes(line: TextBox, hits: Iterable[Hit], pad_chars: float = PAD_CHARS) -> list[Rect]:
    """Screen rectangles for character ranges of a line. Each side ends in the blank run next
    to the range when the line's pixels show one, and otherwise at a padding wide enough for
    the engine's position error: a box too wide costs a little context, one too narrow leaks."""
    char_w = line.w / max(1, len(line.text))
    pad, inward = char_w * pad_chars, char_w * INWARD_CHARS
    boxes = []
    for hit in hits:
        left, right = _char_edges(line, hit.start, hit.end)
        gap = _widest_gap(line, left - pad, left + inward)
        x0 = min(gap[1] - 1, left + inward) if gap else left - pad
        gap = _widest_gap(line, right - inward, right + pad)
        x1 = max(gap[0] + 1, right - inward) if gap else right + pad
        x0, x1 = int(np.floor(x0)), int(np.ceil(x1))
        boxes.append((x0, line.y - BOX_MARGIN, x1 - x0, line.h + 2 * BOX_MARGIN))
    return boxes


def fitted_to_ink(pixels: np.ndarray, line: TextBox, box: Rect) -> Rect:
    """A box on the line with its top and bottom brought in to the line's own ink under it.

    A line's box is its ink with a margin that reaches into the lines above and below, and a
    box that keeps it covers part of the neighbours' words. The rows inked across the box's
    columns, from the middle of the line out to the blank rows that part it from its
    neighbours, are the line's ink there. A short blank run inside it (an underscore below
    the baseline) is crossed while the ink stays as tall as one line's can be. A side where
    the ink runs on to the edge of the line's box stays as it was: what is known ends there."""
    x, y, w, h = box
    height, width = pixels.shape[:2]
    top, bottom = max(0, line.y), min(height, line.y + line.h)
    left, right = max(0, x), min(width, x + w)
    if bottom - top < 3 or right <= left:
        return box
    band = pixels[top:bottom, left:right]
    spread = band.max(axis=1).astype(np.int16) - band.min(axis=1)
    inked = np.flatnonzero(channel_total(spread) > INK_CONTRAST)
    if inked.size == 0:
        return box
    # Runs of inked rows: [starts[k], ends[k]).
    cuts = np.flatnonzero(np.diff(inked) > 1)
    starts = np.concatenate(([inked[0]], inked[cuts + 1])).tolist()
    ends = (np.concatenate((inked[cuts], [inked[-1]])) + 1).tolist()
    middle = (bottom - top) // 2
    k = next((i for i, end in enumerate(ends) if end > middle), len(ends))
    if k == len(ends) or starts[k] > middle:
        return box  # the middle row is blank: nothing to go by
    first = last = k
    bridge = max(BOX_MARGIN, round(BRIDGE_HEIGHTS * line.h))
    tallest = INK_HEIGHTS * line.h

    def joins(upper: int, lower: int) -> bool:
        """Whether runs upper to lower are one line's ink: the blank run between lower and
        the run above it is short, all of them are no taller than a line's ink, and none
        runs on past the box (a neighbour's ink cut off by it)."""
        gap = starts[lower] - ends[lower - 1]
        inside = starts[upper] > 0 and ends[lower] < bottom - top
        return inside and gap <= bridge and ends[lower] - starts[upper] <= tallest

    while True:
        if last + 1 < len(starts) and joins(first, last + 1):
            last += 1
        elif first > 0 and ends[last] - starts[first - 1] <= tallest and joins(first - 1, first):
            first -= 1
        else:
            break
    margin = max(BOX_MARGIN, round(INK_MARGIN_HEIGHTS * line.h))
    y0, y1 = y, y + h
    if starts[first] > 0:
        y0 = max(y0, top + starts[first] - margin)
    if ends[last] < bottom - top:
        y1 = min(y1, top + ends[last] + margin)
    return x, y0, w, y1 - y0


# -- lines read together -------------------------------------------------------------------
ROW_GAP_HEIGHTS = 3.0  # boxes on one row further apart than this are in different columns
COLUMN_REACH_HEIGHTS = 30.0  # rows this far up or down count towards a column's right edge
CELL_GAP = "  "  # between boxes on a row further apart than a character
GRID_ROWS = 2  # other full rows ending at the same x that make a column a character grid


@dataclass(frozen=True)
class Join:
    """The text of `first` (an index into the lines) goes on in `second`: the next box on the
    same row (a label and its value, or one line the engine split in two), or the start of
    the next row when `first` ends its row at the column's edge (a wrapped line)."""

    first: int
    second: int
    separators: tuple[str, ...]  # " " between words; "" too where a word may have been cut;
    # CELL_GAP between the cells of a row
    # The row is full against an edge that other full rows share: a character grid (a
    # terminal) that breaks rows mid-word, so a match may run across whatever it finds.
    grid: bool = False


@dataclass
class _Segment:
    members: list[int]  # indices of its lines, left to right
    left: int
    right: int
    cy: float
    h: int


def _segments(lines: Sequence[TextBox]) -> list[_Segment]:
    """Runs of boxes on one row, split where the horizontal gap says another column begins."""
    order = sorted(range(len(lines)), key=lambda i: lines[i].y + lines[i].h / 2)
    rows: list[list[int]] = []
    for i in order:
        line = lines[i]
        cy = line.y + line.h / 2
        if rows:
            head = lines[rows[-1][0]]
            if abs(cy - (head.y + head.h / 2)) < 0.5 * min(line.h, head.h):
                rows[-1].append(i)
                continue
        rows.append([i])
    segments: list[_Segment] = []
    for row in rows:
        row.sort(key=lambda i: lines[i].x)
        start = 0
        for k in range(1, len(row) + 1):
            if k < len(row):
                before, after = lines[row[k - 1]], lines[row[k]]
                if after.x - (before.x + before.w) <= ROW_GAP_HEIGHTS * before.h:
                    continue
            members = [lines[i] for i in row[start:k]]
            segments.append(
                _Segment(
                    row[start:k],
                    members[0].x,
                    members[-1].x + members[-1].w,
                    sum(m.y + m.h / 2 for m in members) / len(members),
                    max(m.h for m in members),
                )
            )
            start = k
    return segments


def _char_width(line: TextBox) -> float:
    return line.w / max(1, len(line.text))


def _first_word_width(line: TextBox) -> float:
    if not line.text:
        return 0.0
    n = len(line.text.split(" ", 1)[0]) or 1
    if len(line.chars) == len(line.text):
        return float(line.chars[n - 1][1] - line.x)
    return n * _char_width(line)


def _ink_extent(line: TextBox) -> tuple[float, float, float]:
    """Left and right edge of a line's characters, and their pitch, where the engine placed
    them; its box and the box's share otherwise. A box holds a margin around the ink, which
    in a short line ("2056,25") is a good part of its width."""
    if len(line.chars) == len(line.text) and line.chars:
        left, right = line.chars[0][0], line.chars[-1][1]
        return left, right, (right - left) / len(line.chars)
    return line.x, line.x + line.w, _char_width(line)


def _row_neighbours(lines: Sequence[TextBox], segment: _Segment) -> Iterable[Join]:
    for a, b in itertools.pairwise(segment.members):
        _, a_right, a_pitch = _ink_extent(lines[a])
        b_left, _, b_pitch = _ink_extent(lines[b])
        # Closer than a character: the engine may have cut a word there. Farther: cells of a
        # table, or a label and its field, read with a gap no single space of the engine's
        # stands for, so that nothing joining pieces over its spaces runs across them.
        close = b_left - a_right < max(a_pitch, b_pitch)
        yield Join(a, b, (" ", "") if close else (CELL_GAP,))


def _within(
    segments: Sequence[_Segment], centres: Sequence[float], lo: float, hi: float
) -> Sequence[_Segment]:
    """The segments (sorted by centre) whose vertical centre lies in [lo, hi]."""
    return segments[bisect.bisect_left(centres, lo) : bisect.bisect_right(centres, hi)]


def join_geometry(line: TextBox) -> tuple[int, int, int, int, int, float]:
    """All of a line that joined_lines looks at: its box, how many characters it holds and
    how wide its first word is, not what they are. A table whose figures change in place
    (top's, every second) keeps its joins."""
    return line.x, line.y, line.w, line.h, len(line.text), _first_word_width(line)


def joined_lines(lines: Sequence[TextBox]) -> list[Join]:
    """Pairs of lines whose texts are read together: neighbours on a row, and wrapped lines,
    where the lower one starts at the left edge of the row right above it and that row ends
    so close to its column's right edge that the lower one's first word would not have fitted
    (in a character grid the lower one may start one cell in: the space was carried over)."""
    segments = sorted(_segments(lines), key=lambda s: s.cy)
    centres = [s.cy for s in segments]
    joins: list[Join] = []
    for below in segments:
        joins.extend(_row_neighbours(lines, below))
        # The nearest row above that reaches over the lower one's first character.
        reach = 1.7 * 1.4 * below.h  # the most two rows of similar height can be apart
        over = [
            s
            for s in _within(segments, centres, below.cy - reach, below.cy)
            if s.cy < below.cy - 0.5 * min(s.h, below.h)
            and s.left <= below.left + below.h
            and s.right > below.left
        ]
        if not over:
            continue
        upper = max(over, key=lambda s: s.cy)
        if not (
            0.6 * max(upper.h, below.h) <= below.cy - upper.cy <= 1.7 * max(upper.h, below.h)
            and max(upper.h, below.h) <= 1.4 * min(upper.h, below.h)
        ):
            continue
        line_b = lines[below.members[0]]
        char_w = _char_width(line_b)
        tol = max(3.0, 0.6 * char_w)
        indent = below.left - upper.left
        if not -tol <= indent <= 1.6 * char_w:
            continue
        reach = COLUMN_REACH_HEIGHTS * upper.h
        column = [
            s
            for s in _within(segments, centres, upper.cy - reach, upper.cy + reach)
            if abs(s.left - upper.left) <= tol
        ]
        slack = max(s.right for s in column) - upper.right
        if slack > _first_word_width(line_b) + 1.5 * char_w:
            continue
        full = slack < 0.5 * char_w
        if indent > tol and not full:
            continue  # an indented row under a row that is not full: not a continuation
        same_end = max(2.0, 0.5 * char_w)
        grid = full and (
            sum(1 for s in column if s is not upper and abs(s.right - upper.right) <= same_end)
            >= GRID_ROWS
        )
        seps = (" ",) if indent > tol or not full else (" ", "")
        joins.append(Join(upper.members[-1], below.members[0], seps, grid))
    return joins


def _covered(hits: Sequence[Hit], start: int, end: int) -> bool:
    return any(h.start <= start and end <= h.end for h in hits)


_TOKEN_MARKS = frozenset("_-./:@=+")


def _carried_over(
    first: str, second: str, join: Join, sep: str, own_first: Sequence[Hit], a: Hit, b: Hit
) -> bool:
    """Whether the rest of an item that ends a full row is the word that starts the next:
    the row ends against its column's edge with no space (a terminal wraps mid-word), what
    the row ends with is found alone, and the next row's first word is no plain word but
    the kind of piece keys, addresses and numbers are made of ("wendy@corp.examp" then
    "le.de", "ghp_8Pb4eh...kQ" then "Pa3UaH0QlRB"). Without it only the head is covered."""
    if sep != "" or "" not in join.separators or not _covered(own_first, a.start, a.end):
        return False
    tail = second[b.start : b.end]
    if not tail or " " in tail or b.start != 0 or not first[a.start : a.end]:
        return False
    return any(c.isdigit() or c in _TOKEN_MARKS for c in tail) or (
        any(c.islower() for c in tail) and any(c.isupper() for c in tail[1:])
    )


def joined_hits(
    first: str, second: str, join: Join, find: Callable[[str], Sequence[Hit]]
) -> tuple[list[Hit], list[Hit]]:
    """Hits on two texts read as one, cut back onto each. A match counts only if the join is
    needed to find it: one that lies in one text but needs a word in the other ("password is"
    / "x9y8z7w6", "Card number" / a 12-digit Maestro), or one that crosses the join where
    neither part is a match on its own. A match that merely glues a neighbouring word onto
    what one text shows alone ("at" + "bob@example.org") is dropped, except in a character
    grid, where rows break mid-word: there "alice.smi" + "th@example.org" is one address
    although its tail matches alone, and so is a token whose head matches alone."""
    own_first, own_second = find(first), find(second)
    on_first: list[Hit] = []
    on_second: list[Hit] = []
    for sep in join.separators:
        cut, resume = len(first), len(first) + len(sep)
        for hit in find(first + sep + second):
            if hit.end <= cut:
                if not _covered(own_first, hit.start, hit.end):
                    on_first.append(hit)
                continue
            if hit.start >= resume:
                part = Hit(hit.category, hit.start - resume, hit.end - resume)
                if not _covered(own_second, part.start, part.end):
                    on_second.append(part)
                continue
            if hit.start >= cut or hit.end <= resume:
                continue  # only the separator
            a, b = Hit(hit.category, hit.start, cut), Hit(hit.category, 0, hit.end - resume)
            needed = not _covered(own_first, a.start, a.end) and not _covered(
                own_second, b.start, b.end
            )
            # A token found by its looks alone runs on into any word glued to it: it is
            # taken across a join only where neither side is found alone.
            grid = sep == "" and join.grid and hit.category != WEAK_CATEGORY
            if needed or grid or _carried_over(first, second, join, sep, own_first, a, b):
                on_first.append(a)
                on_second.append(b)
    return on_first, on_second


# -- blocks of rows ------------------------------------------------------------------------
BLOCK_INDENT_CHARS = 1.5  # how far a row's left edge may stray from the block's
MAX_BLOCK_ROWS = 200


def column_rows(lines: Sequence[TextBox], start: int, step: int = 1) -> Iterable[list[int]]:
    """The rows after `start` (below it with step 1, above with -1) in the block of text it
    begins: each row starts at the block's left edge and sits one line height from the one
    before. Yields each row's lines (a row the engine split in two has several), nearest
    first, and stops at the first row that is missing: the end of the visible block."""
    first = lines[start]
    char_w = _char_width(first)
    tol = max(3.0, BLOCK_INDENT_CHARS * char_w)
    reach_right = first.x + max(first.w, 64 * char_w) * 1.2
    by_centre = sorted(range(len(lines)), key=lambda i: lines[i].y + lines[i].h / 2)
    centres = [lines[i].y + lines[i].h / 2 for i in by_centre]
    current = first
    for _ in range(MAX_BLOCK_ROWS):
        cy, h = current.y + current.h / 2, current.h
        lo, hi = (cy + 0.6 * h, cy + 1.7 * h) if step > 0 else (cy - 1.7 * h, cy - 0.6 * h)
        window = by_centre[bisect.bisect_left(centres, lo) : bisect.bisect_right(centres, hi)]
        heads = [
            i
            for i in window
            if abs(lines[i].x - first.x) <= tol and max(lines[i].h, h) <= 1.4 * min(lines[i].h, h)
        ]
        if not heads:
            return
        head = min(heads, key=lambda i: abs(lines[i].y + lines[i].h / 2 - cy))
        row_cy = lines[head].y + lines[head].h / 2
        row = [
            i
            for i in window
            if abs(lines[i].y + lines[i].h / 2 - row_cy) < 0.5 * h
            and first.x - tol <= lines[i].x < reach_right
        ]
        yield sorted(row, key=lambda i: lines[i].x)
        current = lines[head]
