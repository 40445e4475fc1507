"""Detectors for personal data and secrets in text, and scrubbing them into placeholders.

Detectors return the category and position of each hit; callers log those, never the value.
Every pattern is linear or bounded so that hostile input cannot stall the recorder.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True, slots=True)
class Hit:
    category: str
    start: int
    end: int


@cache
def _defaults() -> tuple[Detector, ...]:
    return _default_detectors()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}"
    r"\.(?:[a-z]{2,24}|[A-Z]{2,24})(?![a-z])"
)
# Digits in groups separated by single spaces, dashes or dots: what card numbers are made of.
_DIGIT_GROUPS = re.compile(r"(?<![\d-])\d+(?:[ .\-]\d+)*")
_CARD_SEPARATOR = re.compile(r"([ .\-])")
_NON_DIGIT = re.compile(r"\D")
# Where a card's separators may fall (digits before each one): in fours, or Amex/Diners 4-6-x.
# OCR drops spaces but does not invent them, so any subset of these positions is a grouping.
_CARD_BREAKS = (frozenset({4, 8, 12, 16}), frozenset({4, 10}))
_ANY_CARD_BREAK = frozenset().union(*_CARD_BREAKS)
MAX_CARD_DIGITS = 19
# 12-digit Maestro numbers look like any other number, so they need a reason to be a card.
_CARD_WORD = re.compile(
    r"(?i)(?<![a-z])(?:cards?|credit|debit|visa|master ?card|maestro|amex|cvc|cvv2?|"
    r"expir(?:y|es|ation)|exp|karte|carte|tarjeta)(?![a-z])"
)
CARD_WORD_WINDOW = 32  # characters on either side of a 12-digit number


def _email(text: str) -> Iterable[Hit]:
    for m in _EMAIL.finditer(text):
        yield Hit("EMAIL", m.start(), m.end())


_HEX = frozenset("0123456789abcdefABCDEF")


def _word_at(text: str, i: int) -> tuple[int, int]:
    """The run of letters and digits around position i (bounded: digests are short)."""
    a = i
    while a > 0 and i - a < 128 and text[a - 1].isascii() and text[a - 1].isalnum():
        a -= 1
    b = i
    while b < len(text) and b - i < 128 and text[b].isascii() and text[b].isalnum():
        b += 1
    return a, b


def inside_digest(text: str, start: int, end: int) -> bool:
    """Whether digits at [start, end) are part of a hexadecimal word (a commit or a checksum),
    where any run of digits may occur by chance: "3f9c4111111111111111e0" holds no card."""
    for i in (start, end - 1):
        a, b = _word_at(text, i)
        word = text[a:b]
        if b - a > 1 and not word.isdigit() and all(c in _HEX for c in word):
            return True
    return False


def _card_grouping(sizes: list[int], seps: str) -> bool:
    if len(set(seps)) > 1:
        return False  # "1234 5678-9012" mixes separators: not how cards are written
    cuts = set(itertools.accumulate(sizes[:-1]))
    total = sum(sizes)
    # With a separator missing (OCR drops spaces), the number must still end in a whole
    # group: "1088846745 200" is an id and a status code.
    return any(
        cuts <= allowed and (cuts == {c for c in allowed if c < total} or sizes[-1] >= 4)
        for allowed in _CARD_BREAKS
    )


def _card_ok(digits: str, grouped: bool, text: str, start: int, end: int) -> bool:
    if len(set(digits)) == 1 or not luhn_ok(digits):
        return False  # a run of one digit is filler, not a card
    if len(digits) >= 13:
        return digits[0] != "0"  # no issuer number starts with 0
    # 12 digits (Maestro): card words nearby, or written in fours with a Maestro issuer digit.
    if _CARD_WORD.search(text, max(0, start - CARD_WORD_WINDOW), end + CARD_WORD_WINDOW):
        return True
    return grouped and digits[0] in "56"


def _cards(text: str) -> Iterable[Hit]:
    for m in _DIGIT_GROUPS.finditer(text):
        parts = _CARD_SEPARATOR.split(m.group())
        sizes = [len(g) for g in parts[0::2]]
        seps = parts[1::2]
        offsets = [m.start()]
        for size, sep in zip(sizes, seps, strict=False):
            offsets.append(offsets[-1] + size + len(sep))
        i = 0
        after_card = False
        while i < len(sizes):
            # A card starts a run of groups, follows another card, or follows a group that is
            # not one of four digits ("qty 2 4111 ..."); "1234 5678 9012 3456" is one number.
            best: Hit | None = None
            last = i
            if i == 0 or after_card or sizes[i - 1] != 4:
                total = 0
                for j in range(i, len(sizes)):
                    if j > i and total not in _ANY_CARD_BREAK:
                        break
                    total += sizes[j]
                    if total > MAX_CARD_DIGITS:
                        break
                    if total >= 12 and _card_grouping(sizes[i : j + 1], "".join(seps[i:j])):
                        start, end = offsets[i], offsets[j] + sizes[j]
                        digits = _NON_DIGIT.sub("", text[start:end])
                        if _card_ok(digits, j > i, text, start, end) and not inside_digest(
                            text, start, end
                        ):
                            best, last = Hit("CARD", start, end), j
            if best is not None:
                yield best
            after_card = best is not None
            i = last + 1


Detector = Callable[[str], Iterable[Hit]]
# Hits of this category (a token that only looks random) give way to any other hit they overlap.
WEAK_CATEGORY = "TOKEN"
PATTERN_DETECTORS: tuple[Detector, ...] = (_email, _cards)


def _default_detectors(phone_regions: tuple[str, ...] = ()) -> tuple[Detector, ...]:
    from app.core.redact import detectors, secrets

    return (
        *PATTERN_DETECTORS,
        secrets.secrets,
        detectors.phones(phone_regions),
        detectors.ibans,
        detectors.national_ids,
    )


class TextScrubber:
    """The detectors in force (defaults plus policy's custom terms), bound once."""

    def __init__(self, detectors: Iterable[Detector]) -> None:
        self.detectors = tuple(detectors)

    @classmethod
    def from_settings(cls, settings: Any) -> TextScrubber:
        from app.core.redact import detectors

        extra = (detectors.custom(settings.custom_terms, settings.custom_patterns),)
        return cls((*_default_detectors(tuple(settings.phone_regions)), *extra))

    def find(self, text: str) -> list[Hit]:
        return find(text, self.detectors)

    def scrub(self, text: str) -> tuple[str, list[Hit]]:
        return scrub(text, self.detectors)


def find(text: str, detectors: Iterable[Detector] | None = None) -> list[Hit]:
    """All hits, overlaps merged so each character is covered at most once."""
    if detectors is None:
        detectors = _defaults()
    found = [h for detect in detectors for h in detect(text)]
    if any(h.category == WEAK_CATEGORY for h in found):
        strong = [h for h in found if h.category != WEAK_CATEGORY]
        found = strong + [
            h
            for h in found
            if h.category == WEAK_CATEGORY
            and not any(s.start < h.end and h.start < s.end for s in strong)
        ]
    return merge(found)


def merge(found: Iterable[Hit]) -> list[Hit]:
    """Hits sorted, overlapping ones joined (the category of the one that starts first)."""
    hits = sorted(found, key=lambda h: (h.start, -h.end))
    merged: list[Hit] = []
    for hit in hits:
        if merged and hit.start < merged[-1].end:
            last = merged[-1]
            if hit.end > last.end:
                merged[-1] = Hit(last.category, last.start, hit.end)
            continue
        merged.append(hit)
    return merged


def scrub(text: str, detectors: Iterable[Detector] | None = None) -> tuple[str, list[Hit]]:
    """`text` with every hit replaced by `[CATEGORY]`, and the hits (positions in `text`)."""
    hits = find(text, detectors)
    return placeholders(text, hits), hits


def placeholders(text: str, hits: list[Hit]) -> str:
    """`text` with each hit (sorted, not overlapping) replaced by `[CATEGORY]`."""
    if not hits:
        return text
    parts: list[str] = []
    pos = 0
    for hit in hits:
        parts.append(text[pos : hit.start])
        parts.append(f"[{hit.category}]")
        pos = hit.end
    parts.append(text[pos:])
    return "".join(parts)


_SIGN_IN = re.compile(
    r"(?i)pass(?:word|phrase|code)|\bpin\b|sign[ \-]?in|log[ \-]?in|\bsudo\b|unlock|"
    r"authenticat|credential|2fa|one[ \-]time|verification code|"
    r"anmelden|kennwort|mot de passe|contraseña"
)


def looks_like_sign_in(title: str) -> bool:
    """Whether a window title suggests a place where secrets are typed."""
    return bool(_SIGN_IN.search(title))
