"""Scoring on-screen redaction: run the screen-text redactor on a captured screen and check,
pixel by pixel, what ended up under solid black boxes.

A piece of personal data counts as redacted when at least 95 % of its ink box is pure black
(0, 0, 0); an ordinary word counts as covered when at least half of it is. Every miss gets a
cause, found by looking at what the OCR engine read at that place and what the detectors made
of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from app.core.redact.frames import FrameContext
from app.core.redact.ocr import OcrEngine, TextBox
from app.core.redact.ocr_text import LineHits, Reading
from app.core.redact.screen_text import ScreenTextRedactor
from app.core.redact.text import Hit, TextScrubber
from tests.redaction_eval.screens import Rect, Screen, Truth, black_pixels

REDACTED_SHARE = 0.95
COVERED_SHARE = 0.5
NEIGHBOUR_CHARS = 2  # an ordinary word this close to personal data may share its padding
PAD_CHARS = 2.0  # the most of a neighbouring word that the padding of a box can cover
# Why an ordinary word got covered:
NEXT_TO_PII = "padding of the box over the personal data next to it"
RAN_ON = "a match over personal data ran on into it (OCR dropped the space between)"
FALSE_HIT = "false detection"

# Causes of a miss, in the order they are checked.
WRAPPED = "split over two screen lines: each part is checked alone"
NOT_READ = "OCR: no text line found there"
SPLIT = "OCR: the text detector split the line inside the item"
GEOMETRY = "box geometry: detected, but the box does not cover it"
MISREAD = "OCR misread characters"
SPACING = "OCR added or dropped spaces inside the item"
GLUED = "OCR dropped the space next to the item; the detector needs a word boundary"
PARTIAL = "detector matched only part of the item"
DETECTOR_TRUE = "detector gap: missed on the exact true text too"
DETECTOR = "detector gap on the OCR text (true text is found)"


@dataclass
class ItemResult:
    screen: str
    screen_kind: str
    truth: Truth
    black: float  # share of the ink box that is solid black
    exact_text: bool  # the detectors find it in the true text (no OCR involved)
    cause: str = ""
    reading: str = ""  # what the OCR engine read at the item's place
    line: str = ""  # the OCR line(s) it sits in
    detail: str = ""
    hit_categories: tuple[str, ...] = ()  # for covered ordinary words: what covered them

    @property
    def category(self) -> str:
        return self.truth.item.category

    @property
    def redacted(self) -> bool:
        return self.black >= REDACTED_SHARE

    @property
    def covered(self) -> bool:
        return self.black >= COVERED_SHARE


@dataclass
class ScreenResult:
    name: str
    kind: str
    cpu_s: float
    wall_s: float
    lines: int
    chars: int
    black_in_input: int
    items: list[ItemResult] = field(default_factory=list)
    output: np.ndarray | None = None


def black_share(black: np.ndarray, rects: list[Rect]) -> float:
    total = covered = 0
    for x, y, w, h in rects:
        region = black[y : y + h, x : x + w]
        total += region.size
        covered += int(region.sum())
    return covered / total if total else 0.0


def covers(hits: list[Hit], start: int, end: int) -> bool:
    """Whether the hits together cover every character of [start, end)."""
    pos = start
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.start <= pos < hit.end:
            pos = hit.end
        if pos >= end:
            return True
    return pos >= end


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _area(a: Rect, b: Rect) -> float:
    return _overlap(a[0], a[0] + a[2], b[0], b[0] + b[2]) * _overlap(
        a[1], a[1] + a[3], b[1], b[1] + b[3]
    )


def char_edges(line: TextBox) -> list[tuple[float, float]]:
    if len(line.chars) == len(line.text):
        return [(float(a), float(b)) for a, b in line.chars]
    n = max(1, len(line.text))
    w = line.w / n
    return [(line.x + i * w, line.x + (i + 1) * w) for i in range(len(line.text))]


def lines_at(lines: list[TextBox], ink: Rect) -> list[TextBox]:
    """OCR lines on the same text row as `ink` that overlap it horizontally."""
    x, y, w, h = ink
    found = []
    for line in lines:
        v = _overlap(y, y + h, line.y, line.y + line.h)
        if v >= 0.5 * min(h, line.h) and _overlap(x, x + w, line.x, line.x + line.w) > 0:
            found.append(line)
    return sorted(found, key=lambda ln: ln.x)


def chars_in(line: TextBox, ink: Rect, slack: float = 2.0) -> tuple[int, int] | None:
    """The range of the line's characters whose centre lies inside the ink box."""
    x0, x1 = ink[0] - slack, ink[0] + ink[2] + slack
    idx = [i for i, (a, b) in enumerate(char_edges(line)) if x0 <= (a + b) / 2 <= x1]
    return (idx[0], idx[-1] + 1) if idx else None


def line_hits(scrubber: TextScrubber, line: TextBox) -> list[Hit]:
    """What the redactor's detectors find on one line (wrapped lines aside)."""
    return LineHits(scrubber).line_hits(line, Reading.of(line))


def _squash(text: str) -> str:
    return "".join(text.split())


def _glued(line: str, a: int, b: int, truth: Truth) -> bool:
    """Whether the OCR text runs the item into a neighbouring word where the truth has
    whitespace."""
    t0, t1 = truth.span
    ctx = truth.context
    left = a > 0 and line[a - 1].isalnum() and (t0 == 0 or ctx[t0 - 1].isspace())
    right = b < len(line) and line[b].isalnum() and (t1 == len(ctx) or ctx[t1].isspace())
    return left or right


def diagnose(result: ItemResult, lines: list[TextBox], scrubber: TextScrubber) -> None:
    """Fill in cause, reading and line of a miss."""
    truth = result.truth
    readings, causes, texts = [], [], []
    for ink in truth.ink:
        found = lines_at(lines, ink)
        texts += [line.text for line in found]
        parts = [(line, span) for line in found if (span := chars_in(line, ink)) is not None]
        readings.append(" | ".join(line.text[a:b] for line, (a, b) in parts))
        if not parts:
            causes.append(NOT_READ)
            continue
        if len(found) > 1:
            causes.append(SPLIT)
            continue
        line, (a, b) = parts[0]
        hits = [h for h in line_hits(scrubber, line) if h.start < b and a < h.end]
        read, true = line.text[a:b], truth.item.text
        if truth.wrapped:
            true = true[len(true) - len(read) :] if true.endswith(read) else true[: len(read)]
        if hits and covers(hits, a, b):
            causes.append(GEOMETRY)
        elif " ".join(read.split()) != " ".join(true.split()):
            causes.append(SPACING if _squash(read) == _squash(true) else MISREAD)
        elif _glued(line.text, a, b, truth):
            causes.append(GLUED)
        elif hits:
            causes.append(PARTIAL)
        else:
            causes.append(DETECTOR if result.exact_text else DETECTOR_TRUE)
    order = (NOT_READ, SPLIT, MISREAD, SPACING, GLUED, PARTIAL, DETECTOR_TRUE, DETECTOR, GEOMETRY)
    result.cause = min(causes, key=order.index) if causes else NOT_READ
    if truth.wrapped:
        result.cause = WRAPPED
    result.reading = " / ".join(readings)
    result.line = " | ".join(dict.fromkeys(texts))


def evaluate_screen(
    screen: Screen,
    engine: OcrEngine,
    scrubber: TextScrubber,
    keep_output: bool = False,
    widen_by_ink: bool = False,
) -> ScreenResult:
    """A fresh redactor per screen: every frame is a first frame, read whole, except screens
    with rows to reveal, which start empty and gain one row per frame (the final frame, the
    screen itself, is scored)."""
    redactor = ScreenTextRedactor(engine, scrubber, widen_by_ink=widen_by_ink)
    pixels = screen.pixels.copy()
    frames = [pixels]
    if screen.reveal_rows:
        frame = pixels.copy()
        for x, y, w, h in screen.reveal_rows:
            frame[y : y + h, x : x + w] = screen.reveal_bg
        frames = []
        for x, y, w, h in screen.reveal_rows:
            frame = frame.copy()
            frame[y : y + h, x : x + w] = pixels[y : y + h, x : x + w]
            frames.append(frame)
    wall = time.perf_counter()
    cpu = time.process_time()
    for frame in frames:
        out = redactor(frame, FrameContext(None, []))
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    black = (out == 0).all(axis=2)
    result = ScreenResult(
        screen.name,
        screen.kind,
        cpu,
        wall,
        len(redactor.lines),
        sum(len(ln.text) for ln in redactor.lines),
        black_pixels(screen.pixels),
        output=out if keep_output else None,
    )
    boxes = redactor.sensitive_boxes(redactor.lines, screen.pixels)
    pii_spans: dict[int, list[tuple[int, int]]] = {}
    for truth in screen.truths:
        if truth.item.pii:
            pii_spans.setdefault(id(truth.context), []).append(truth.span)
    # A box "belongs to" personal data when it covers a good part of some item's ink.
    pii_inks = [ink for t in screen.truths if t.item.pii for ink in t.ink]
    owned = [
        any(_area(rect, ink) >= 0.3 * ink[2] * ink[3] for ink in pii_inks) for rect, _ in boxes
    ]
    for truth in screen.truths:
        a, b = truth.span
        exact = covers(scrubber.find(truth.context), a, b)
        item = ItemResult(
            screen.name,
            screen.kind,
            truth,
            black_share(black, truth.ink),
            exact,
        )
        if truth.item.pii and not item.redacted:
            diagnose(item, redactor.lines, scrubber)
        if not truth.item.pii and item.black > 0:
            touching = [
                (category, own)
                for (rect, category), own in zip(boxes, owned)
                if any(_area(rect, ink) > 0 for ink in truth.ink)
            ]
            item.hit_categories = tuple(sorted({c for c, own in touching if not own}))
            found = [ln for ink in truth.ink for ln in lines_at(redactor.lines, ink)]
            item.line = " | ".join(dict.fromkeys(ln.text for ln in found))
            item.reading = " | ".join(
                ln.text[s[0] : s[1]]
                for ln in found
                for ink in truth.ink
                if (s := chars_in(ln, ink)) is not None
            )
            near = any(
                p0 - NEIGHBOUR_CHARS <= b and a <= p1 + NEIGHBOUR_CHARS
                for p0, p1 in pii_spans.get(id(truth.context), [])
            )
            if item.hit_categories:
                item.detail = FALSE_HIT
            elif near and item.black * len(truth.item.text) <= PAD_CHARS:
                item.detail = NEXT_TO_PII
            else:
                item.detail = RAN_ON
        result.items.append(item)
    return result
