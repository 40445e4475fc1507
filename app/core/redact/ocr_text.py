"""What the detectors are run on for text read off the screen.

The engine confuses look-alike characters (0 and O, 1 and l, 5 and S, the case of c, o, s, w,
x...) and drops spaces between words. Each line is checked as read and with typical misreads
undone; where the line's pixels show a space the text lacks, the line is also checked with the
space restored, so that a match stops at the words glued to it. A line whose text goes on at
the next row, or a label whose value follows on the same row, is also checked together with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.core.redact.layout import Join, joined_hits, joined_lines
from app.core.redact.ocr import TextBox
from app.core.redact.text import Hit, TextScrubber

# OCR misreads that matter for detection; swapped character for character so positions hold.
_DIGIT_LOOKALIKES = str.maketrans("OoDlIiSsBZz", "00011155822")
# ("|" is not a 1 here: table borders read as "|" next to numbers.)
_DIGITISH_TOKEN = re.compile(r"[0-9OoDlIiSsBZz][0-9OoDlIiSsBZz \-]{10,}[0-9OoDlIiSsBZz]")
_COMMA_IN_WORD = re.compile(r"(?<=[A-Za-z0-9]),(?=[A-Za-z]{2,})")
# Top-level domains have no digits: "example.0rg" is "example.org".
_TLD = re.compile(r"(?<=@)((?:[A-Za-z0-9\-]{1,63}\.){1,8})([A-Za-z0-9]{2,6})(?![A-Za-z0-9])")
_TLD_LOOKALIKES = str.maketrans("015", "ols")
# Access key ids are upper case; OCR reads some capitals as their small look-alikes.
_AWS_PREFIX = r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)"
_AWS_MIXED_CASE = re.compile(rf"({_AWS_PREFIX})([A-Za-z0-9]{{15,16}})")
_SMALL_CAPITALS = "cijklopsuvwxyz"  # l is a capital I
MAX_CASE_FIXES = 3  # more small letters than this: not a key
# '{"' in base64 is "eyJ"; OCR reads its J as j, I, l or 1.
_JWT_LEAD = re.compile(r"ey[jIl1](?=[A-Za-z0-9_\-]{6,}\.)")
# CTC decoding merges a doubled character, so a key can come back one character short. Only
# for text read off the screen, where that happens; typed keys are matched exactly.
_AWS_KEY_ONE_SHORT = re.compile(rf"{_AWS_PREFIX}[A-Z0-9]{{15}}(?![0-9]|[A-Z](?![a-z]))")


def _tld(m: re.Match[str]) -> str:
    tld = m.group(2)
    if any(c.isdigit() for c in tld) and any(c.isalpha() for c in tld):
        fixed = tld.translate(_TLD_LOOKALIKES)
        if fixed.isalpha():
            return m.group(1) + fixed
    return m.group()


def _aws_case(m: re.Match[str]) -> str:
    body = m.group(2)
    small = [c for c in body if c.islower()]
    if not small or len(small) > MAX_CASE_FIXES or any(c not in _SMALL_CAPITALS for c in small):
        return m.group()
    return m.group(1) + "".join("I" if c == "l" else c.upper() for c in body)


def _digitish(m: re.Match[str]) -> str:
    """Letters read for digits, in a run that is mostly digits. Groups without a digit at the
    ends of the run are words next to a number ("+818079570116 or"), not part of it."""
    groups = m.group().split(" ")
    first = next((i for i, g in enumerate(groups) if any(c.isdigit() for c in g)), len(groups))
    last = max((i for i, g in enumerate(groups) if any(c.isdigit() for c in g)), default=-1)
    core = " ".join(groups[first : last + 1])
    if not core or sum(c.isdigit() for c in core) * 2 < len(core.replace(" ", "")):
        return m.group()
    return " ".join([*groups[:first], core.translate(_DIGIT_LOOKALIKES), *groups[last + 1 :]])


def ocr_variants(text: str) -> list[str]:
    """The text as read, plus a reading with typical OCR confusions undone (same length)."""
    fixed = _COMMA_IN_WORD.sub(".", text)
    fixed = _DIGITISH_TOKEN.sub(_digitish, fixed)
    if "@" in fixed:
        fixed = _TLD.sub(_tld, fixed)
    fixed = _AWS_MIXED_CASE.sub(_aws_case, fixed)
    fixed = _JWT_LEAD.sub("eyJ", fixed)
    return [text] if fixed == text else [text, fixed]


def _ocr_only(text: str) -> Iterable[Hit]:
    for m in _AWS_KEY_ONE_SHORT.finditer(text):
        yield Hit("AWS_KEY", m.start(), m.end())


# Spaces beside an "@" between two address characters: OCR puts them there, addresses have none.
_SPACED_AT = re.compile(r"(?<=[A-Za-z0-9._%+\-])( ?)@( ?)(?=[A-Za-z0-9])")


def _spaces_beside_at(text: str) -> set[int]:
    return {m.start(g) for m in _SPACED_AT.finditer(text) for g in (1, 2) if m.end(g) > m.start(g)}


@dataclass(frozen=True)
class Reading:
    """A line's text as the detectors should see it: with the spaces the pixels show but the
    engine dropped, without the spaces it put beside an "@". `origin[i]` is the position in
    the line's own text of character i (-1 for a restored space)."""

    text: str
    origin: tuple[int, ...]

    @classmethod
    def of(cls, line: TextBox) -> Reading:
        text = line.text
        dropped = _spaces_beside_at(text) if "@" in text else set()
        if not line.breaks and not dropped:
            return cls(text, tuple(range(len(text))))
        breaks = set(line.breaks)
        chars: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(text):
            if i in breaks:
                chars.append(" ")
                origin.append(-1)
            if i not in dropped:
                chars.append(ch)
                origin.append(i)
        return cls("".join(chars), tuple(origin))

    def on_line(self, hit: Hit) -> Hit | None:
        """The hit in the line's own positions (None if it covers only restored spaces)."""
        kept = [i for i in self.origin[hit.start : hit.end] if i >= 0]
        return Hit(hit.category, kept[0], kept[-1] + 1) if kept else None


HIT_CACHE_SIZE = 4096


class LineHits:
    """Detector hits for the lines on screen, cached by text since most lines stay put."""

    def __init__(self, scrubber: TextScrubber) -> None:
        self.scrubber = scrubber
        self._cache: dict[str, list[Hit]] = {}
        self._joins: tuple[tuple[object, ...], list[Join]] = ((), [])

    def text_hits(self, text: str) -> list[Hit]:
        hits = self._cache.get(text)
        if hits is None:
            hits = []
            for variant in ocr_variants(text):
                hits += self.scrubber.find(variant)
                hits += _ocr_only(variant)
            if len(self._cache) >= HIT_CACHE_SIZE:
                self._cache.clear()
            self._cache[text] = hits
        return hits

    def _on_line(self, reading: Reading, hits: Iterable[Hit]) -> list[Hit]:
        return [h for h in (reading.on_line(hit) for hit in hits) if h is not None]

    def line_hits(self, line: TextBox, reading: Reading) -> list[Hit]:
        """Hits on the line as read, except where the same place matches with the restored
        spaces: there the shorter match wins ("sitamountbob@example.org" -> "bob@..."). A
        match the restored spaces break apart entirely is kept whole, in case a space was
        restored where there was none."""
        as_read = self.text_hits(line.text)
        if reading.text == line.text:
            return list(as_read)
        spaced = self._on_line(reading, self.text_hits(reading.text))
        return spaced + [
            h for h in as_read if not any(s.start < h.end and h.start < s.end for s in spaced)
        ]

    def joins(self, lines: Sequence[TextBox]) -> list[Join]:
        key = tuple((ln.x, ln.y, ln.w, ln.h, ln.text) for ln in lines)
        if key != self._joins[0]:
            self._joins = (key, joined_lines(lines))
        return self._joins[1]

    def find(self, lines: Sequence[TextBox]) -> list[list[Hit]]:
        """For each line, the character ranges to cover."""
        readings = [Reading.of(line) for line in lines]
        hits = [self.line_hits(line, r) for line, r in zip(lines, readings, strict=True)]
        for join in self.joins(lines):
            first, second = readings[join.first], readings[join.second]
            on_first, on_second = joined_hits(first.text, second.text, join, self.text_hits)
            hits[join.first] += self._on_line(first, on_first)
            hits[join.second] += self._on_line(second, on_second)
        return hits
