"""Labelled text as screens show it: lines of spans, where a span is unlabelled filler or a
piece of one labelled item. An item may run over several lines (the body of a private key),
so spans carry the key of their item."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

# Sensitive categories, each reported on its own row.
SENSITIVE = (
    "EMAIL",
    "PHONE",
    "CARD",
    "IBAN",
    "SSN",
    "AWS_KEY",
    "GITHUB_TOKEN",
    "JWT",
    "BEARER",
    "PRIVATE_KEY",
    "URL_PASSWORD",
    "API_TOKEN",
    "SECRET",
)
# Ordinary text that must stay readable; all but "word" are the look-alikes.
ORDINARY = ("word", "code", "placeholder", "hash", "reference", "number", "uuid")

_PUNCT = "\"'`,.;:()[]{}<>!?"


@dataclass(frozen=True)
class Label:
    category: str
    sensitive: bool
    variant: str = ""


@dataclass(frozen=True)
class Span:
    text: str
    key: int | None = None  # the item this span belongs to; None: unlabelled filler


@dataclass
class Item:
    key: int
    label: Label
    parts: list[str] = field(default_factory=list)  # one per line it appears on

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


@dataclass
class Document:
    """Lines of spans and the items they belong to."""

    lines: list[list[Span]] = field(default_factory=lambda: [[]])
    items: dict[int, Item] = field(default_factory=dict)
    _keys: itertools.count = field(default_factory=itertools.count)

    # -- writing -----------------------------------------------------------------------
    def newline(self) -> Document:
        self.lines.append([])
        return self

    def plain(self, text: str) -> Document:
        """Filler that is neither scored as sensitive nor as ordinary text (punctuation, a
        key glued to a value: a box over the value may touch it)."""
        if text:
            self.lines[-1].append(Span(text))
        return self

    def item(self, text: str, label: Label, key: int | None = None) -> int:
        """One labelled piece on the current line; pass `key` to continue an item."""
        if key is None:
            key = next(self._keys)
            self.items[key] = Item(key, label)
        self.items[key].parts.append(text)
        self.lines[-1].append(Span(text, key))
        return key

    def sensitive(self, text: str, category: str, variant: str = "") -> Document:
        self.item(text, Label(category, True, variant))
        return self

    def block(self, lines: list[str], category: str, variant: str = "") -> Document:
        """A sensitive item over several whole lines (starts on the current, empty line)."""
        key = None
        for n, line in enumerate(lines):
            if n:
                self.newline()
            key = self.item(line, Label(category, True, variant), key)
        return self

    def ordinary(self, text: str, kind: str = "word") -> Document:
        """Ordinary text: every whitespace-separated token is an item of `kind` (punctuation
        around a word stays outside its box)."""
        for piece in re.split(r"(\s+)", text):
            if not piece:
                continue
            if piece.isspace():
                self.plain(piece)
                continue
            core = piece.strip(_PUNCT) if kind == "word" else piece
            if not core or not any(c.isalnum() for c in core):
                self.plain(piece)
                continue
            lead = piece[: piece.index(core)]
            self.plain(lead)
            self.item(core, Label(kind, False))
            self.plain(piece[len(lead) + len(core) :])
        return self

    # -- reading -------------------------------------------------------------------------
    def texts(self) -> list[str]:
        return ["".join(s.text for s in line) for line in self.lines]

    def spans(self) -> list[tuple[int, int, int, int]]:
        """(line, start, end, key) of every labelled span."""
        out = []
        for n, line in enumerate(self.lines):
            pos = 0
            for span in line:
                if span.key is not None:
                    out.append((n, pos, pos + len(span.text), span.key))
                pos += len(span.text)
        return out

    def extend(self, other: Document) -> Document:
        """Append `other`'s lines (starting on the current line) with fresh keys."""
        remap: dict[int, int] = {}
        for n, line in enumerate(other.lines):
            if n:
                self.newline()
            for span in line:
                if span.key is None:
                    self.plain(span.text)
                    continue
                old = other.items[span.key]
                remap[span.key] = self.item(span.text, old.label, remap.get(span.key))
        return self
