"""Typed text: keystrokes are held in memory as runs, scrubbed as a whole, then released.

A detector needs to see "alice@example.com", not seventeen separate keys, so key-down events
that carry characters wait here until the run ends (a pause, Enter, a click, a window change).
Hits then clear the characters of every key that produced them and become a placeholder in
the run's `text` event. Key-up events carry no character and pass straight through.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.model import RawInput
from app.core.redact.text import Hit, merge, placeholders, scrub
from app.core.redact.typed_only import typed_only

HOTKEY_MODIFIERS = ("ctrl", "alt", "cmd", "super")
MAX_RUN_CHARS = 4096
MAX_HOLD_S = 60.0  # a run is released after this long even if it stops inside a word
MAX_LINE_BEFORE = 200  # characters of the line before a pause kept as context
# A group of digits and a separator: two digits or more, or what starts a phone number in
# shorter groups, a country code ("+1 ", "+33 4 ") or a group in brackets ("(713) ", "(0) ").
_NUMBER_GROUP_TAIL = re.compile(r"(?:\d{2,}|\+\d{1,3}(?:[ \-.]\d)?|\(\d{1,4}\))[ \-./]$")


@dataclass(slots=True)
class Staged:
    """An event with its place in the segment, before it gets its segment-relative time."""

    seq: int
    mono: float
    wall: float
    type: str
    data: dict[str, Any] = field(default_factory=dict)


def _is_altgr(name: str) -> bool:
    return name in ("alt_gr", "altgr", "iso_level3_shift")


def _is_modifier(name: str) -> bool:
    return name.startswith(HOTKEY_MODIFIERS) or name.startswith("shift") or _is_altgr(name)


def _is_typed_char(char: str | None) -> bool:
    return char is not None and char.isprintable()


class TypingRuns:
    """Turns key events into redacted `key` events and one `text` event per run."""

    def __init__(
        self,
        next_seq: Callable[[], int],
        counts: Counter[str],
        scrub: Callable[[str], tuple[str, list[Hit]]] = scrub,
        typed_rules: Callable[[str, str], list[Hit]] = typed_only,
    ) -> None:
        self._scrub = scrub
        self._typed_rules = typed_rules
        # The redacted text of the run a pause ended, while the line goes on: "git checkout "
        # and the commit typed after a look at the log are one line. Never raw text.
        self._line_before = ""
        self._next_seq = next_seq
        self.counts = counts
        self._run: list[Staged] = []
        self._chars: list[tuple[str, int]] = []  # (character, index into _run)
        self._held: set[str] = set()

    @property
    def pending(self) -> bool:
        return bool(self._run)

    def key(self, raw: RawInput, seq: int, *, sensitive: bool) -> list[Staged]:
        """Stage one key event; returns the events that are ready to store."""
        name = raw.key or "unknown"
        if raw.action == "up":
            self._held.discard(name)
            return [
                Staged(seq, raw.mono, raw.wall, "key", {"action": "up", "key": name, "char": None})
            ]
        if name.startswith(HOTKEY_MODIFIERS) or _is_altgr(name):
            self._held.add(name)
        event = Staged(
            seq, raw.mono, raw.wall, "key", {"action": "down", "key": name, "char": raw.char}
        )
        if sensitive:
            # A sign-in prompt in front: keep only that a key of some kind was pressed.
            if raw.char is not None:
                self.counts["PASSWORD_PROMPT_KEY"] += 1
            event.data["char"] = None
            return self.flush(raw.mono) + [event]
        if self._held and not _is_modifier(name) and not self._typed_with_altgr(raw.char):
            return self.flush(raw.mono) + [event]  # a hotkey such as Ctrl+S is not typed text
        if raw.char is not None:
            self._run.append(event)
            self._chars.append((raw.char, len(self._run) - 1))
            return self.flush(raw.mono) if len(self._chars) >= MAX_RUN_CHARS else []
        if name == "backspace" and self._run:
            self._run.append(event)
            if self._chars:
                self._chars.pop()
            return []
        if _is_modifier(name) and self._run:
            self._run.append(event)
            return []
        return self.flush(raw.mono) + [event]

    def _typed_with_altgr(self, char: str | None) -> bool:
        """AltGr types characters on many layouts (a German "@" is AltGr+Q; Windows reports it
        as left Ctrl plus AltGr). Such a key is part of the text, so "bob@example.com" stays
        one run that the detectors can see, instead of a hotkey whose character escapes
        redaction. Ctrl+Alt+T with the left Alt stays a hotkey."""
        return _is_typed_char(char) and any(_is_altgr(k) for k in self._held)

    def pause(self, mono: float) -> list[Staged]:
        """A pause in typing. A run that stops inside a word is held a while longer: people
        pause in the middle of an address or a number to look something up, and each half
        alone would not be recognised. Held keys stay in memory only."""
        inside_word = bool(self._chars) and not self._chars[-1][0].isspace()
        if (inside_word or self._inside_number()) and mono - self._run[0].mono < MAX_HOLD_S:
            return []
        line_before = self._line_before
        released = self.flush(mono)
        if released and released[-1].type == "text":
            line_before += released[-1].data["text"]
        self._line_before = line_before[-MAX_LINE_BEFORE:]
        return released

    def _inside_number(self) -> bool:
        """Numbers are typed in groups ("4111 1111 ", "+49 30 ", "+1 "), often with a look at the
        card or the note between them: a run ending in a group of digits and a separator is
        held like one ending inside a word."""
        tail = "".join(c for c, _ in self._chars[-24:])
        return _NUMBER_GROUP_TAIL.search(tail) is not None

    def flush(self, mono: float | None = None) -> list[Staged]:
        """End the current run (at `mono`): scrub it and release its events plus a `text`
        summary stamped when the run ended."""
        line_before, self._line_before = self._line_before, ""
        if not self._run:
            return []
        run, chars = self._run, self._chars
        self._run, self._chars = [], []
        if not chars:
            return run
        text = "".join(c for c, _ in chars)
        scrubbed, hits = self._scrub(text)
        typed = [
            t
            for t in self._typed_rules(text, line_before)
            if not any(h.start <= t.start and t.end <= h.end for h in hits)
        ]
        if typed:
            hits = merge([*hits, *typed])
            scrubbed = placeholders(text, hits)
        for hit in hits:
            self.counts[hit.category] += 1
            first = chars[hit.start][1]
            last = chars[hit.end - 1][1]
            for event in run[first : last + 1]:
                if event.data.get("char") is not None:
                    event.data["char"] = None
                    event.data["redacted"] = hit.category
        end = run[-1]
        ended = max(end.mono, mono or end.mono)
        summary = Staged(
            self._next_seq(),
            ended,
            end.wall + (ended - end.mono),
            "text",
            {"text": scrubbed, "redactions": [h.category for h in hits]},
        )
        return run + [summary]
