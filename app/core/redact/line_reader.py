"""Reading the lines that `lines.find_lines` found with the OCR engine's recognition network
alone, and remembering what each line's pixels said.

Measured on a 1920x1080 desktop of three xterms (bench/redaction_speed.py): the detection
network is most of the cost of a crop, and the recognition network pads every line to at
least 320 columns, so a short word costs as much as a long phrase. Here lines are found from
their ink, each is recognised at its own width, and the result is kept under a digest of the
line's pixels: a line that is still on screen, wherever it moved, is never recognised again.
Runs in the OCR worker process (it needs OpenCV and ONNX Runtime).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.redact.glyphs import Glyph, GlyphMemory, commonest_colour
from app.core.redact.lines import Bands, column_gap
from app.core.redact.ocr import TextBox

# Blank margin kept around a line's ink: the recogniser was trained on detector boxes,
# which leave about this much room.
PAD_SHARE = 0.3
CACHE_LINES = 20000  # a few MB: text and character edges of lines seen lately
TEXT_SCORE = 0.5  # as the engine's own pipeline: below this a reading is noise
# Rows the recogniser works at; lower is cheaper (the cost grows with the square), 48 is what
# the model was trained on.
REC_HEIGHT = 48
# Lines whose ink is at most this tall are enlarged before they are recognised (bitmap fonts).
SMALL_INK = 13

# A line spelled from glyphs read before (see glyphs) scores as a clear reading would.
SPELLED_SCORE = 0.95
LEARN_SCORE = 0.8  # readings less sure than this teach no glyphs
ROUND_LINES = 8  # lines recognised before trying to spell the rest from what they taught
MAX_ROUNDS = 30  # then the rest are recognised together

# What a line's pixels read as: its text, the score, and each character's left and right edge
# as fractions of the crop's width (so they hold for the crop as read, enlarged or not).
Known = tuple[str, float, tuple[tuple[float, float], ...]]


class LineReader:
    def __init__(self, engine: Any, cache_lines: int = CACHE_LINES) -> None:
        self._engine = engine
        rec = engine.text_rec
        # Lines are batched by width, and none is padded to the model's default minimum.
        rec.rec_image_shape = [3, REC_HEIGHT, REC_HEIGHT]
        # One line a run: a batch costs more than its lines one by one (measured: six
        # 500-column lines 1.05 CPU-s together, 0.38 apart), and none is padded to another.
        rec.rec_batch_num = 1
        self._cache: OrderedDict[bytes, Known] = OrderedDict()
        self._cache_lines = cache_lines
        # The lines read in each band of pixel rows lately, by the band's digest (_band_key),
        # placed as in the band.
        self._bands: OrderedDict[bytes, list[TextBox]] = OrderedDict()
        self._cache_bands = cache_lines // 4
        self.glyphs = GlyphMemory()
        self.recognised = 0  # lines run through the network
        self.remembered = 0  # lines answered from the cache
        self.bands_found = 0  # bands of rows whose lines were found (not answered from memory)

    def read(self, rgb: np.ndarray, scale: int = 1, column: int = 0) -> list[TextBox]:
        """The lines of `rgb`, in `rgb`'s coordinates, top to bottom: each piece of a row
        read on its own, the pieces of a row joined again (joined_rows). `scale` enlarges
        small text before it is recognised. `column` is where `rgb` lies on screen.

        A crop is read band by band (lines.Bands): a band whose pixels and ink are as in a
        crop read before holds the same lines, read the same, and is answered from memory
        without finding its lines again. A table whose figures change (`top`) changes a few
        of its rows a frame; the rest cost a digest."""
        bands = Bands.of(rgb)
        found: list[tuple[int, int, int, int]] = []
        owner: list[int] = []  # which of the new bands each line found is in
        new_bands: list[tuple[bytes, int, int, int]] = []  # key, index, where
        read: list[list[TextBox]] = []
        for top, bottom in bands.rows:
            key, left = _band_key(rgb, bands, top, bottom, scale)
            known = self._bands.get(key)
            if known is not None:
                self._bands.move_to_end(key)
                self.remembered += len(known)
                read.append([box.moved(left, top) for box in known])
                continue
            lines = bands.lines(top, bottom)
            self.bands_found += 1
            found += lines
            owner += [len(new_bands)] * len(lines)
            new_bands.append((key, len(read), left, top))
            read.append([])
        for item, band in zip(self._read_lines(rgb, found, scale, column), owner, strict=True):
            if item is not None and item.score >= TEXT_SCORE:
                read[new_bands[band][1]].append(item)
        for key, at, left, top in new_bands:
            # Pieces of one row are in one band: bands are joined each on its own.
            read[at] = joined_rows(read[at])
            self._bands[key] = [box.moved(-left, -top) for box in read[at]]
            if len(self._bands) > self._cache_bands:
                self._bands.popitem(last=False)
        return sorted((box for band in read for box in band), key=lambda b: (b.y, b.x))

    def _read_lines(
        self, rgb: np.ndarray, found: list[tuple[int, int, int, int]], scale: int, column: int
    ) -> list[TextBox | None]:
        import cv2

        height, width = rgb.shape[:2]
        items: list[TextBox | None] = [None] * len(found)
        pending: list[_Pending] = []
        # Lines with the same pixels as a line pending before them (rows of a table alike,
        # such as top's idle processes): read once, with it.
        twins: dict[bytes, tuple[int, list[int]]] = {}  # key: first line, lines like it
        for i, (x, y, w, h) in enumerate(found):
            pad = max(2, round(h * PAD_SHARE))
            x0, y0 = max(0, x - pad), max(0, y - pad)
            x1, y1 = min(width, x + w + pad), min(height, y + h + pad)
            # The line's own pixels on a margin of its background: neighbours' ink stays out,
            # and the same line reads (and is remembered) the same wherever it is.
            ink = rgb[y : y + h, x : x + w]
            background = _background(rgb, x, y, w, h)
            crop = np.empty((y1 - y0, x1 - x0, 3), dtype=np.uint8)
            crop[:] = background
            crop[y - y0 : y - y0 + h, x - x0 : x - x0 + w] = ink
            crop = np.ascontiguousarray(crop[:, :, ::-1])  # the model takes BGR
            factor = scale if h <= SMALL_INK else 1
            key = hashlib.blake2b(crop.tobytes(), digest_size=16, key=_shape(crop, factor)).digest()
            known = self._cache.get(key)
            if known is not None:
                self._cache.move_to_end(key)
                self.remembered += 1
                items[i] = _placed(known, x0, y0, x1, y1)
                continue
            if key in twins:
                twins[key][1].append(i)
                continue
            twins[key] = (i, [])
            if factor > 1:  # enlarged only to be recognised: a remembered line never is
                crop = cv2.resize(
                    crop,
                    (crop.shape[1] * factor, crop.shape[0] * factor),
                    interpolation=cv2.INTER_CUBIC,
                )
            font, glyphs = self.glyphs.glyphs(ink, column + x, background)
            line = _Pending(i, key, crop, (x0, y0, x1, y1), (x, y, h), font, glyphs)
            if not self._spell(line, items):
                pending.append(line)
        rounds = 0
        while pending:
            rounds += 1
            batch = pending if rounds > MAX_ROUNDS else self._teaching(pending)
            self._recognise(batch, items)
            chosen = {id(line) for line in batch}
            pending = [
                line for line in pending if id(line) not in chosen and not self._spell(line, items)
            ]
        for first, alike in twins.values():
            read = items[first]
            for i in alike:
                # The same crop, so the same box moved to where this line's crop begins.
                self.remembered += 1
                items[i] = read and read.moved(*_crop_shift(found[first], found[i]))
        return items

    def _spell(self, line: _Pending, items: list[TextBox | None]) -> bool:
        spelled = self.glyphs.spell(line.font, line.glyphs)
        if spelled is None:
            return False
        text, columns = spelled
        x = line.ink[0]
        x0, _, x1, _ = line.bounds
        w = x1 - x0
        # Kept like a recognised line's reading: the same pixels next frame (a line that a
        # change beside it brings into the area read again) cost a digest, not a spelling.
        edges = tuple(((x + a - x0) / w, (x + b - x0) / w) for a, b in columns)
        self._remember(line.key, (text, SPELLED_SCORE, edges))
        items[line.index] = _placed(self._cache[line.key], *line.bounds)
        return True

    def _remember(self, key: bytes, known: Known) -> None:
        self._cache[key] = known
        if len(self._cache) > self._cache_lines:
            self._cache.popitem(last=False)

    def _teaching(self, pending: list[_Pending]) -> list[_Pending]:
        """The lines to recognise next: those that show the network the most glyphs not
        known yet, so that the lines after them can be spelled from memory. All of them
        when none would teach anything new (glyphs that touch, gaps of a new width)."""
        chosen: list[_Pending] = []
        covered: set[bytes] = set()
        # The network's cost grows with a line's width: most new glyphs per column first.
        unknown = {id(ln): self.glyphs.unknown(ln.glyphs) for ln in pending}
        ranked = sorted(pending, key=lambda ln: -len(unknown[id(ln)]) / ln.crop.shape[1])
        for line in ranked:
            new = unknown[id(line)] - covered
            if new:
                chosen.append(line)
                covered |= new
                if len(chosen) == ROUND_LINES:
                    break
        return chosen or pending

    def _recognise(self, batch: list[_Pending], items: list[TextBox | None]) -> None:
        results, _ = self._engine.text_rec([line.crop for line in batch], True)
        self.recognised += len(batch)
        for line, result in zip(batch, results, strict=True):
            known = _relative(self._engine, line.crop, result)
            self._remember(line.key, known)
            items[line.index] = _placed(known, *line.bounds)
            if known[1] >= LEARN_SCORE:
                self.glyphs.learn(line.font, line.glyphs, known[0])


@dataclass(slots=True)
class _Pending:
    """A line not known by its pixels yet."""

    index: int
    key: bytes
    crop: np.ndarray  # as the network reads it
    bounds: tuple[int, int, int, int]  # x0, y0, x1, y1 of the crop
    ink: tuple[int, int, int]  # x, y, height of the line's ink
    font: bytes
    glyphs: list[Glyph]


def _crop_shift(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int]:
    """How far the crop of line `b` lies from that of line `a`, lines whose crops are alike
    (no margin of either is cut off by the edge of what was read)."""
    return b[0] - a[0], b[1] - a[1]


def _background(rgb: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    """The commonest colour on the ring of pixels just outside a line's ink box: its
    background. The box is tight to the ink, so its own edge can be mostly ink (a row of
    bold figures, whose tops and bottoms are bars); the columns either side are the blank
    ones it was cut at. Where the box meets the edge of `rgb`, its own edge stands in."""
    height, width = rgb.shape[:2]
    ring = rgb[max(0, y - 1) : min(height, y + h + 1), max(0, x - 1) : min(width, x + w + 1)]
    return commonest_colour(np.concatenate((ring[0], ring[-1], ring[:, 0], ring[:, -1])))


def _band_key(
    rgb: np.ndarray, bands: Bands, top: int, bottom: int, scale: int
) -> tuple[bytes, int]:
    """A digest of all that the lines read in a band depend on, and the band's first column
    of ink, where its lines are placed from: its rows of the ink mask and the crop's usual
    line height (where lines are found), its pixels and the row either side (what they read
    as, on what background), and how near the crop's edges its ink lies (where the lines'
    margins are cut off). Blank columns either side beyond a margin as wide as the band is
    tall (more than any line's margin) do not count: a band is the same band in a crop a
    few columns wider."""
    height, width = rgb.shape[:2]
    rows = bottom - top
    inked = np.flatnonzero(bands.mask[top:bottom].any(axis=0))
    first, last = (int(inked[0]), int(inked[-1]) + 1) if inked.size else (0, 0)
    left, right = max(0, first - rows), min(width, last + rows)
    edges = (min(top, rows), min(height - bottom, rows), first - left, right - last)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((edges, scale, bands.line_height)).encode())
    digest.update(bands.mask[top:bottom, left:right].tobytes())
    digest.update(rgb[max(0, top - 1) : bottom + 1, left:right].tobytes())
    return digest.digest(), first


def _shape(crop: np.ndarray, factor: int) -> bytes:
    return f"{crop.shape[0]}x{crop.shape[1]}x{factor}".encode()


def _relative(engine: Any, crop: np.ndarray, result: Any) -> Known:
    """Text, score and character edges, as fractions of the crop's width."""
    text, score = str(result[0]), float(result[1])
    if not text.strip():
        return "", score, ()
    h, w = crop.shape[:2]
    quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    boxed = engine.cal_rec_boxes([crop], [quad], [result])[0]
    edges = [(min(p[0] for p in q) / w, max(p[0] for p in q) / w) for q in boxed[2]]
    if text != text.strip():  # a blank read at an end: no character of the line is there
        lead = len(text) - len(text.lstrip())
        text = text.strip()
        edges = edges[lead : lead + len(text)] if len(edges) >= lead + len(text) else []
    return text, score, tuple(edges)


def _placed(known: Known, x0: int, y0: int, x1: int, y1: int) -> TextBox:
    """The line read from a crop at [x0, x1) x [y0, y1), as the engine's own pipeline boxes
    it: the crop's corners inclusive, characters where the reading put them."""
    text, score, edges = known
    w = x1 - x0
    # The small nudge brings a spelled line's fractions back to the very pixel they came from
    # (x0 + (a - x0) / w * w can come out a hair under a).
    chars = tuple((int(x0 + a * w + 1e-6), int(x0 + b * w + 1e-6)) for a, b in edges)
    if len(chars) != len(text):
        chars = ()
    return TextBox(x0, y0, w + 1, y1 - y0 + 1, text, score, chars)


def _char_edges(box: TextBox) -> tuple[tuple[int, int], ...]:
    """Each character's left and right edge: as read, or (where the reading gave none for
    some) spread evenly over the piece. Estimated within its own piece, a character is off
    by a few pixels at most; estimated over a joined row, by the width of a table column."""
    if len(box.chars) == len(box.text):
        return box.chars
    n = max(1, len(box.text))
    return tuple(
        (box.x + box.w * i // n, box.x + box.w * (i + 1) // n) for i in range(len(box.text))
    )


def _ink_edges(box: TextBox) -> tuple[int, int, int]:
    """Left and right edge (exclusive) and height of the ink a piece was read from: its box
    is the crop it was recognised in, the ink with a blank margin of PAD_SHARE of the ink's
    height around it (see LineReader.read)."""
    crop_h = box.h - 1  # boxes count their last pixel
    pad = max(2, round(crop_h * PAD_SHARE / (1 + 2 * PAD_SHARE)))
    return box.x + pad, box.x + box.w - 1 - pad, max(1, crop_h - 2 * pad)


def _same_line(last: TextBox, box: TextBox) -> bool:
    """Whether `box` is the part of `last`'s line that follows it: on the same rows, and
    apart by less than the blank run that parts the columns of a table (lines.column_gap),
    the way lines.find_lines cut a long line into parts at its spaces. Pieces farther apart
    are what find_lines found apart (the columns of a table, a label and its field) and stay
    apart, as the detection network boxes them: a column's heading then still tells what its
    cells hold, and a match does not run on from one cell into the next."""
    overlap = min(last.y + last.h, box.y + box.h) - max(last.y, box.y)
    if overlap < 0.6 * min(last.h, box.h):
        return False
    _, last_right, last_h = _ink_edges(last)
    box_left, _, box_h = _ink_edges(box)
    return 0 <= box_left - last_right < column_gap(max(last_h, box_h))


def _space(before: TextBox, after: TextBox) -> tuple[int, int]:
    """The columns of the space between two pieces of a row: from the last character of one
    to the first of the next (their crops' margins overlap)."""
    left, right = _char_edges(before)[-1:], _char_edges(after)[:1]
    a = left[0][1] if left else before.x + before.w
    b = right[0][0] if right else after.x
    return (a, b) if a <= b else ((a + b) // 2, (a + b) // 2)


BAND = 16  # pixel rows per band of the index of rows being joined


def joined_rows(boxes: list[TextBox]) -> list[TextBox]:
    """Pieces read separately (each is recognised, and remembered, on its own), joined into
    the lines they were cut from: left to right, a space between pieces, each space's
    position the gap it stands for."""
    rows: list[list[TextBox]] = []
    # Rows by the band of pixel rows their last piece starts in: a piece that overlaps a
    # row's last piece starts less than the taller one's height from it, so only rows of
    # nearby bands are looked at (a screen has hundreds of pieces). Where several rows
    # could take a piece, the first one made does, as in a plain scan of all rows.
    bands: dict[int, list[int]] = {}
    reach = max((b.h for b in boxes), default=0) // BAND + 1
    for box in sorted(boxes, key=lambda b: (b.x, b.y)):
        home = box.y // BAND
        chosen = None
        for band in range(home - reach, home + reach + 1):
            for index in bands.get(band, ()):
                if (chosen is None or index < chosen) and _same_line(rows[index][-1], box):
                    chosen = index
        if chosen is None:
            chosen = len(rows)
            rows.append([])
        else:
            bands[rows[chosen][-1].y // BAND].remove(chosen)
        rows[chosen].append(box)
        bands.setdefault(home, []).append(chosen)
    out = []
    for row in rows:
        if len(row) == 1:
            out.append(row[0])
            continue
        text, chars = row[0].text, list(_char_edges(row[0]))
        for before, box in zip(row, row[1:], strict=False):
            text += " " + box.text
            chars += [_space(before, box), *_char_edges(box)]
        x0, y0 = row[0].x, min(b.y for b in row)
        x1, y1 = row[-1].x + row[-1].w, max(b.y + b.h for b in row)
        score = min(b.score for b in row)
        out.append(TextBox(x0, y0, x1 - x0, y1 - y0, text, score, tuple(chars)))
    out.sort(key=lambda b: (b.y, b.x))
    return out
