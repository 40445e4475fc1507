"""Scoring typed-text redaction: type sentences key by key through TypingRuns (shift for
capitals and symbols, typos fixed with backspace) and check what the stored events keep.

Personal data counts as redacted when every key that produced one of its characters lost its
character and the run's text summary does not contain it. An ordinary sentence counts as a
false positive when anything in it was redacted.
"""

from __future__ import annotations

import itertools
import random
import string
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass

from app.core.capture.input import key_category
from app.core.model import RawInput
from app.core.redact.text import Hit
from app.core.redact.typing import Staged, TypingRuns
from tests.redaction_eval.corpus import (
    TYPED_CODE_NEGATIVE_TEMPLATES,
    TYPED_NEGATIVE_TEMPLATES,
    TYPED_STRUCTURED,
    TYPED_TEMPLATES,
    Corpus,
    Item,
    Text,
)

SHIFTED = set('~!@#$%^&*()_+{}|:"<>?')
Scrub = Callable[[str], tuple[str, list[Hit]]]


class Keyboard:
    """Feeds key events through TypingRuns the way the capture loop does, and remembers which
    key-down event typed each character that is still in the text."""

    def __init__(self, scrub: Scrub) -> None:
        self.counter = itertools.count()
        self.counts: Counter[str] = Counter()
        self.runs = TypingRuns(lambda: next(self.counter), self.counts, scrub)
        self.out: list[Staged] = []
        self.clock = 0.0
        self.typed: list[tuple[str, int]] = []  # (character, seq of its key-down)

    def _send(self, action: str, key: str, char: str | None) -> int:
        self.clock += 0.06
        seq = next(self.counter)
        raw = RawInput("key", self.clock, 1000 + self.clock, action, key, char)
        self.out += self.runs.key(raw, seq, sensitive=False)
        return seq

    def char(self, ch: str) -> None:
        shift = ch.isupper() or ch in SHIFTED
        if shift:
            self._send("down", "shift", None)
        name = "space" if ch == " " else key_category(ch)
        seq = self._send("down", name, ch)
        self._send("up", name, None)
        if shift:
            self._send("up", "shift", None)
        self.typed.append((ch, seq))

    def backspace(self) -> None:
        self._send("down", "backspace", None)
        self._send("up", "backspace", None)
        if self.typed:
            self.typed.pop()

    def pause(self) -> None:
        """A pause longer than the capture loop's typing pause, handled as the capture loop
        does (a run may be held across it)."""
        self.clock += 1.0
        self.out += self.runs.pause(self.clock)

    def enter(self) -> list[Staged]:
        self._send("down", "enter", None)
        self._send("up", "enter", None)
        self.out += self.runs.flush(self.clock)
        return sorted(self.out, key=lambda s: s.seq)


def _typo_chars(rng: random.Random, ch: str) -> str:
    pool = string.digits if ch.isdigit() else string.ascii_lowercase
    return "".join(rng.choice(pool) for _ in range(rng.randint(1, 3)))


def type_text(
    kb: Keyboard,
    text: str,
    rng: random.Random,
    typo_at: Collection[int] = (),
    pause_at: int | None = None,
) -> None:
    for i, ch in enumerate(text):
        if i == pause_at:
            kb.pause()
        if i in typo_at:
            wrong = _typo_chars(rng, ch)
            for w in wrong:
                kb.char(w)
            for _ in wrong:
                kb.backspace()
        kb.char(ch)


@dataclass
class TypedResult:
    item: Item
    style: str  # clean | typos | paused
    text: str  # the sentence as finally typed
    redacted: bool
    summary: str  # the stored text summary (placeholders in place of hits)
    exact_text: bool  # the detectors find it in the sentence as a whole


@dataclass
class NegativeResult:
    text: str
    kinds: tuple[str, ...]
    style: str
    flagged: tuple[str, ...]  # categories redacted
    summary: str


def _typos(rng: random.Random, length: int, inside: tuple[int, int] | None) -> set[int]:
    spots = {rng.randrange(length)}
    if inside is not None and inside[1] > inside[0] + 1:
        spots.add(rng.randrange(inside[0] + 1, inside[1]))  # at least one inside the data
    return spots


def typed_case(corpus: Corpus, category: str, style: str, scrub: Scrub) -> TypedResult:
    template = corpus.rng.choice(TYPED_TEMPLATES[category])
    text: Text = corpus.fill(template)
    item = next(i for i in text.items if i.pii and i.category == category)
    a, b = text.spans()[item.tag]
    plain = text.plain
    kb = Keyboard(scrub)
    typo_at = _typos(corpus.rng, len(plain), (a, b)) if style == "typos" else set()
    pause_at = corpus.rng.randrange(a + 1, b) if style == "paused" else None
    type_text(kb, plain, corpus.rng, typo_at, pause_at)
    events = kb.enter()
    assert "".join(c for c, _ in kb.typed) == plain
    by_seq = {e.seq: e for e in events}
    summary = " ".join(e.data["text"] for e in events if e.type == "text")
    cleared = all(by_seq[seq].data.get("char") is None for _, seq in kb.typed[a:b])
    redacted = cleared and item.text not in summary
    _, hits = scrub(plain)
    exact = _covers(hits, a, b)
    return TypedResult(item, style, plain, redacted, summary, exact)


def _covers(hits: list[Hit], start: int, end: int) -> bool:
    pos = start
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.start <= pos < hit.end:
            pos = hit.end
    return pos >= end


def negative_case(
    corpus: Corpus, style: str, scrub: Scrub, templates: tuple[str, ...] = TYPED_NEGATIVE_TEMPLATES
) -> NegativeResult:
    template = corpus.rng.choice(templates)
    text = corpus.fill(template)
    plain = text.plain
    kb = Keyboard(scrub)
    typo_at = _typos(corpus.rng, len(plain), None) if style == "typos" else set()
    type_text(kb, plain, corpus.rng, typo_at)
    events = kb.enter()
    flagged = tuple(
        category for e in events if e.type == "text" for category in e.data["redactions"]
    )
    kinds = tuple(sorted({i.category for i in text.items} - {"word"})) or ("word",)
    summary = " ".join(e.data["text"] for e in events if e.type == "text")
    return NegativeResult(plain, kinds, style, flagged, summary)


@dataclass
class TypingResults:
    positives: list[TypedResult]
    stress: list[TypedResult]  # runs split inside the data by a pause
    negatives: list[NegativeResult]
    code_negatives: list[NegativeResult]  # lines of code and configuration without secrets


def evaluate_typing(
    corpus: Corpus,
    scrub: Scrub,
    cases: int,
    negatives: int,
    stress: int = 0,
    code_negatives: int = 0,
) -> TypingResults:
    """`cases` sentences with personal data (spread over the categories, half with typos),
    `negatives` sentences without, `stress` cases with a pause inside the data, and
    `code_negatives` lines of code without secrets."""
    categories = (*TYPED_STRUCTURED, "SECRET")
    positives = [
        typed_case(
            corpus,
            categories[n % len(categories)],
            ("clean", "typos")[n // len(categories) % 2],
            scrub,
        )
        for n in range(cases)
    ]
    paused = [
        typed_case(corpus, categories[n % len(categories)], "paused", scrub) for n in range(stress)
    ]
    plain = [negative_case(corpus, ("clean", "typos")[n % 2], scrub) for n in range(negatives)]
    code = [
        negative_case(corpus, "clean", scrub, TYPED_CODE_NEGATIVE_TEMPLATES)
        for _ in range(code_negatives)
    ]
    return TypingResults(positives, paused, plain, code)
