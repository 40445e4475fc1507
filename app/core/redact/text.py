"""Detectors for personal data and secrets in text, and scrubbing them into placeholders.

Detectors return the category and position of each hit; callers log those, never the value.
Every pattern is linear or bounded so that hostile input cannot stall the recorder.
"""

from __future__ import annotations

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
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")
# How card numbers are written: ungrouped, in fours (the last group shorter), or Amex 4-6-5.
_CARD_GROUPING = re.compile(
    r"\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?|\d{4}[ -]\d{6}[ -]\d{4,5}"
)
_URL_CREDENTIALS = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]{0,15}://[^\s/:@]{1,128}:[^\s/@]{1,128}@")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----"
    r"(?:.{0,10000}?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----|.{0,10000})",
    re.DOTALL,
)
_TOKENS: list[tuple[str, re.Pattern[str]]] = [
    # Upper-case tokens are delimited by case, not \b: on screen they are often glued to text.
    (
        "AWS_KEY",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}(?![A-Z0-9])"),
    ),
    (
        "GITHUB_TOKEN",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ),
    ("SLACK_TOKEN", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,250}\b")),
    ("GOOGLE_API_KEY", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("STRIPE_KEY", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,247}\b")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
]
# "password: hunter2", "api_key=...": the value after a secret-naming word.
# "password: hunter2", "DB_PASSWORD=...", "Authorization: Bearer abc...", "the password is x9y8".
# Names may end identifiers (DB_PASSWORD); OCR may read o as 0 and s as 5.
_SECRET_NAME = (
    r"(?:pa[s5]{2}(?:w[o0]rd|wd|phrase)?|pwd|secret|token|api[_\-]?key|access[_\-]?key|"
    r"client[_\-]?secret|authorization|credentials?)"
)
_KEYWORD_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9]){_SECRET_NAME}(?![A-Za-z0-9])[\"']?\s{{0,3}}[:=]\s{{0,3}}[\"']?"
    r"(?:(?:bearer|basic|token)\s+)?([^\s\"'=]{4,256})"
)
_KEYWORD_IS_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9]){_SECRET_NAME}\s+(?:is|was)\s+[\"']?"
    r"((?=[^\s\"']*[A-Za-z])(?=[^\s\"']*\d)[^\s\"']{4,128})"
)
_BEARER = re.compile(r"(?i)(?<![A-Za-z0-9])bearer\s+([A-Za-z0-9._~+/\-]{12,}=*)")


def _email(text: str) -> Iterable[Hit]:
    for m in _EMAIL.finditer(text):
        yield Hit("EMAIL", m.start(), m.end())


def _cards(text: str) -> Iterable[Hit]:
    for m in _CARD.finditer(text):
        if not _CARD_GROUPING.fullmatch(m.group()):
            continue  # e.g. an order number 123-4567890-1234567
        digits = re.sub(r"\D", "", m.group())
        # No issuer number starts with 0, and a run of one digit is filler, not a card.
        if (
            13 <= len(digits) <= 19
            and digits[0] != "0"
            and len(set(digits)) > 1
            and luhn_ok(digits)
        ):
            yield Hit("CARD", m.start(), m.end())


def _secrets(text: str) -> Iterable[Hit]:
    for m in _PRIVATE_KEY.finditer(text):
        yield Hit("PRIVATE_KEY", m.start(), m.end())
    for m in _URL_CREDENTIALS.finditer(text):
        yield Hit("URL_CREDENTIALS", m.start(), m.end())
    for category, pattern in _TOKENS:
        for m in pattern.finditer(text):
            yield Hit(category, m.start(), m.end())
    for pattern in (_KEYWORD_VALUE, _KEYWORD_IS_VALUE, _BEARER):
        for m in pattern.finditer(text):
            yield Hit("SECRET", m.start(1), m.end(1))


Detector = Callable[[str], Iterable[Hit]]
PATTERN_DETECTORS: tuple[Detector, ...] = (_email, _cards, _secrets)


def _default_detectors() -> tuple[Detector, ...]:
    from app.core.redact import detectors

    return (
        *PATTERN_DETECTORS,
        detectors.phones(detectors.default_region()),
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
        return cls((*_default_detectors(), *extra))

    def find(self, text: str) -> list[Hit]:
        return find(text, self.detectors)

    def scrub(self, text: str) -> tuple[str, list[Hit]]:
        return scrub(text, self.detectors)


def find(text: str, detectors: Iterable[Detector] | None = None) -> list[Hit]:
    """All hits, overlaps merged so each character is covered at most once."""
    if detectors is None:
        detectors = _defaults()
    hits = sorted(
        (h for detect in detectors for h in detect(text)), key=lambda h: (h.start, -h.end)
    )
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
    if not hits:
        return text, hits
    parts: list[str] = []
    pos = 0
    for hit in hits:
        parts.append(text[pos : hit.start])
        parts.append(f"[{hit.category}]")
        pos = hit.end
    parts.append(text[pos:])
    return "".join(parts), hits


_SIGN_IN = re.compile(
    r"(?i)pass(?:word|phrase|code)|\bpin\b|sign[ \-]?in|log[ \-]?in|\bsudo\b|unlock|"
    r"authenticat|credential|2fa|one[ \-]time|verification code|"
    r"anmelden|kennwort|mot de passe|contraseña"
)


def looks_like_sign_in(title: str) -> bool:
    """Whether a window title suggests a place where secrets are typed."""
    return bool(_SIGN_IN.search(title))
