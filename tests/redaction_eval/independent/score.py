"""Scoring a case: run the recorder's frame redactor over the case's frames and check, pixel by
pixel, what of each labelled item ended up under solid black.

The definitions are those of `tests/redaction_eval/frames_eval.py`, so the figures compare:
a sensitive item counts as redacted when at least 95 % of its ink box (per visual line) is
black, an ordinary word counts as covered when at least half of it is. On top of that this
evaluation is strict about every character: a sensitive item counts only when each of its
characters has at least 95 % of its own ink under black, so a box that stops one character
short (or a body line of a key left bare) is a miss however long the item is.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from app.core.redact.frames import FrameContext, FrameRedactor, default_frame_redactor
from app.core.settings import Settings
from tests.redaction_eval.frames_eval import COVERED_SHARE, REDACTED_SHARE
from tests.redaction_eval.independent.screens import Case, Rect, Truth

INK_THRESHOLD = 90  # sum of |channel - background| above which a pixel is glyph ink


@dataclass
class Scored:
    case: str
    kind: str
    dark: bool
    size: tuple[int, int]
    truth: Truth
    box_share: float  # black share of the ink boxes (the first evaluation's measure)
    worst_char: float  # lowest black share of any one character's ink
    chars_bare: int  # characters with less than 95 % of their ink black

    @property
    def category(self) -> str:
        return self.truth.label.category

    @property
    def sensitive(self) -> bool:
        return self.truth.label.sensitive

    @property
    def redacted(self) -> bool:
        return self.box_share >= REDACTED_SHARE and self.worst_char >= REDACTED_SHARE

    @property
    def redacted_box(self) -> bool:
        return self.box_share >= REDACTED_SHARE

    @property
    def covered(self) -> bool:
        return self.box_share >= COVERED_SHARE

    @property
    def wrapped(self) -> bool:
        return self.truth.rows > 1


@dataclass
class CaseResult:
    name: str
    kind: str
    detail: str
    size: tuple[int, int]
    cpu_s: float
    dropped_frame: bool
    black_in_input: int
    items: list[Scored]


def _background(pixels: np.ndarray, rect: Rect) -> np.ndarray:
    x, y, w, h = rect
    flat = pixels[y : y + h, x : x + w].reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    return colours[counts.argmax()].astype(np.int32)


def _union(rects: list[Rect]) -> Rect:
    x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
    x1 = max(r[0] + r[2] for r in rects)
    y1 = max(r[1] + r[3] for r in rects)
    return x0, y0, x1 - x0, y1 - y0


def score_truth(pixels: np.ndarray, black: np.ndarray, truth: Truth) -> tuple[float, float, int]:
    """(black share of the ink boxes, lowest black share of one character's ink, characters
    left readable)."""
    rows: dict[int, list[Rect]] = {}
    for rect in truth.chars:
        rows.setdefault(rect[1], []).append(rect)
    box_total = box_black = 0
    worst, bare = 1.0, 0
    for row in rows.values():
        band = _union(row)
        bg = _background(pixels, band)
        ink_rows: list[int] = []
        ink_cols: list[int] = []
        for x, y, w, h in row:
            region = pixels[y : y + h, x : x + w].astype(np.int32)
            ink = np.abs(region - bg).sum(axis=2) > INK_THRESHOLD
            if not ink.any():
                continue
            share = float(black[y : y + h, x : x + w][ink].mean())
            worst = min(worst, share)
            bare += share < REDACTED_SHARE
            rr, cc = np.nonzero(ink)
            ink_rows += [y + int(rr.min()), y + int(rr.max())]
            ink_cols += [x + int(cc.min()), x + int(cc.max())]
        if not ink_rows:
            continue
        x0, x1, y0, y1 = min(ink_cols), max(ink_cols) + 1, min(ink_rows), max(ink_rows) + 1
        box = black[y0:y1, x0:x1]
        box_total += box.size
        box_black += int(box.sum())
    share = box_black / box_total if box_total else 0.0
    return share, worst, bare


def new_redactor() -> FrameRedactor:
    """The frame redactor the recorder builds from default settings."""
    return default_frame_redactor(Settings())


def fresh(redactor: FrameRedactor) -> FrameRedactor:
    """`redactor` as at the start of a recording: steps that remember earlier frames forget
    them (the OCR engine stays loaded, which is all that is shared)."""
    for step in redactor.steps:
        reset = getattr(step, "reset", None)
        if reset is not None:
            reset()
    return redactor


def _workers_cpu(redactor: FrameRedactor) -> dict[int, float]:
    """CPU seconds of the redactor's OCR worker processes, by pid. Reading runs in a worker,
    so the redacting process's own CPU time leaves most of it out."""
    spent: dict[int, float] = {}
    for step in redactor.steps:
        pid = getattr(getattr(step, "engine", None), "pid", None)
        if pid is None:
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # ended in between
            continue
        spent[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return spent


def score_case(case: Case, redactor: FrameRedactor | None = None) -> CaseResult:
    """Every frame of the case goes in order through a redactor that has seen nothing before
    it, as at the start of a recording, and the last one is scored."""
    redactor = fresh(redactor) if redactor is not None else new_redactor()
    cpu = time.process_time()
    workers = _workers_cpu(redactor)
    out = None
    for frame in case.frames:
        out = redactor.redact(frame.copy(), FrameContext(None, []))
    cpu = time.process_time() - cpu
    cpu += sum(spent - workers.get(pid, 0.0) for pid, spent in _workers_cpu(redactor).items())
    final = case.frames[-1]
    black_in = int((final == 0).all(axis=2).sum())
    dropped = out is None
    # A dropped frame is never stored, which is safe but shows nothing: score it as it would
    # be seen, fully hidden, and report the drop on its own.
    black = np.ones(final.shape[:2], bool) if out is None else (out == 0).all(axis=2)
    items = []
    for truth in case.truths:
        share, worst, bare = score_truth(final, black, truth)
        items.append(Scored(case.name, case.kind, case.dark, case.size, truth, share, worst, bare))
    return CaseResult(case.name, case.kind, case.detail, case.size, cpu, dropped, black_in, items)
