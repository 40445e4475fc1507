"""The typed-text split: messages, commands and code typed key by key through the recorder's
typing runs (`TypingRuns` with the scrubber the capture loop builds from the settings).

Sensitive data counts as redacted when no key that typed one of its characters kept its
character and no piece of it (four characters or more) shows in the run's text summary. A
case without sensitive data is a false positive when anything in it was redacted; the code
and placeholder cases are the ones that only look like they hold a secret.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from app.core.capture.input import key_category
from app.core.model import RawInput
from app.core.redact.text import TextScrubber
from app.core.redact.typing import Staged, TypingRuns
from app.core.settings import Settings
from tests.redaction_eval.independent.content import PLACEHOLDERS, code_line
from tests.redaction_eval.independent.values import Values

SHIFT = set('~!@#$%^&*()_+{}|:"<>?')

POSITIVE = {
    "EMAIL": ("mail me at {} pls", "{}", "Reply-To: {}", "invite {} to the channel"),
    "PHONE": ("ruf mich an: {}", "mon portable {}", "ring me on {} tonight", "{}"),
    "CARD": ("card {} exp 11/29", "{}", "charge it to {} thanks"),
    "IBAN": ("iban: {}", "bitte an {} überweisen", "{}"),
    "SSN": ("ssn {}", "{}", "social is {} for the form"),
    "AWS_KEY": ("aws configure set aws_access_key_id {}", "{}"),
    "GITHUB_TOKEN": ("gh auth login --with-token {}", "{}", "token for CI: {}"),
    "JWT": ("curl -H 'Authorization: Bearer {}' localhost", "{}"),
    "API_TOKEN": ("STRIPE_API_KEY={}", "the new key is {}", "{}"),
    "SECRET": ("export DB_PASSWORD={}", "password: {}", "mysql -u root -p{}"),
    "URL_PASSWORD": (
        "git clone https://deploy:{}@git.corp.local/app.git",
        "redis://:{}@cache:6379",
    ),
}


@dataclass
class TypedCase:
    category: str  # a sensitive category, or the kind of a case without any
    variant: str
    style: str
    text: str
    sensitive: bool
    redacted: bool  # sensitive: fully hidden; otherwise: anything was flagged
    summary: str


class Typist:
    """Presses keys into a fresh TypingRuns, as the capture loop hands them over."""

    def __init__(self, scrub: Callable[[str], tuple[str, list]]) -> None:
        self.seq = itertools.count()
        self.runs = TypingRuns(lambda: next(self.seq), Counter(), scrub)
        self.clock = 100.0
        self.events: list[Staged] = []
        self.keys: list[int] = []  # seq of the key-down of each character still typed

    def _key(self, action: str, name: str, char: str | None, step: float = 0.09) -> int:
        self.clock += step
        seq = next(self.seq)
        raw = RawInput("key", self.clock, 1.7e9 + self.clock, action, name, char)
        self.events += self.runs.key(raw, seq, sensitive=False)
        return seq

    def type(self, ch: str) -> None:
        shifted = ch.isupper() or ch in SHIFT
        if shifted:
            self._key("down", "shift_l", None, 0.03)
        name = "space" if ch == " " else key_category(ch)
        self.keys.append(self._key("down", name, ch))
        self._key("up", name, None, 0.04)
        if shifted:
            self._key("up", "shift_l", None, 0.02)

    def erase(self) -> None:
        self._key("down", "backspace", None)
        self._key("up", "backspace", None, 0.04)
        self.keys.pop()

    def wait(self, seconds: float) -> None:
        self.clock += seconds
        self.events += self.runs.pause(self.clock)

    def finish(self) -> list[Staged]:
        self._key("down", "enter", None)
        self._key("up", "enter", None, 0.04)
        self.events += self.runs.flush(self.clock)
        return self.events


def type_case(
    scrub: Callable[[str], tuple[str, list]],
    rng: random.Random,
    text: str,
    style: str,
    span: tuple[int, int] | None,
) -> tuple[list[Staged], list[int]]:
    typist = Typist(scrub)
    slip = rng.randrange(len(text)) if style == "slip" else -1
    if span is not None and style == "slip" and span[1] - span[0] > 2:
        slip = rng.randrange(span[0] + 1, span[1] - 1)  # the slip lands inside the data
    stop = rng.randrange(span[0] + 1, span[1]) if span is not None and style == "hesitant" else -1
    for i, ch in enumerate(text):
        if i == slip:
            for wrong in rng.sample("qwertzuiop", 2):
                typist.type(wrong)
            typist.erase()
            typist.erase()
        if i == stop:
            typist.wait(2.5)  # looks something up in the middle of the value
        if ch == " " and style == "hesitant" and rng.random() < 0.2:
            typist.wait(1.5)
        typist.type(ch)
    return typist.finish(), typist.keys


def positive(
    v: Values, scrub: Callable[[str], tuple[str, list]], category: str, style: str
) -> TypedCase:
    make = {
        "EMAIL": v.email,
        "PHONE": v.phone,
        "CARD": v.card,
        "IBAN": v.iban,
        "SSN": v.ssn,
        "AWS_KEY": v.aws_key,
        "GITHUB_TOKEN": v.github_token,
        "JWT": v.jwt,
        "API_TOKEN": v.api_token,
        "SECRET": v.password,
        "URL_PASSWORD": v.url_password,
    }[category]
    value, variant = make()  # type: ignore[operator]
    template = v.pick(POSITIVE[category])
    text = template.format(value)
    start = template.index("{}")
    span = (start, start + len(value))
    events, keys = type_case(scrub, v.rng, text, style, span)
    by_seq = {e.seq: e for e in events}
    summary = " ".join(e.data["text"] for e in events if e.type == "text")
    cleared = all(by_seq[s].data.get("char") is None for s in keys[span[0] : span[1]])
    pieces = [p for p in value.replace("-", " ").replace(".", " ").split() if len(p) >= 4]
    leaked = value in summary or any(p in summary for p in pieces)
    return TypedCase(category, variant, style, text, True, cleared and not leaked, summary)


def negative(v: Values, scrub: Callable[[str], tuple[str, list]], style: str) -> TypedCase:
    kind = v.pick(("code", "code", "code", "placeholder", "hash", "reference", "word"))
    if kind == "code":
        text = code_line(v)
    elif kind == "placeholder":
        text = f"{v.pick(('API_KEY', 'password', 'token', 'SECRET_KEY'))}={v.pick(PLACEHOLDERS)}"
    elif kind == "hash":
        text = f"{v.pick(('git show', 'sha256sum says', 'docker pull app@sha256:'))} {v.hash()}"
    elif kind == "reference":
        text = f"{v.pick(('tracking', 'our ref', 'invoice', 'PO'))} {v.reference()} {v.words(2)}"
    else:
        text = v.words(v.rng.randint(3, 10))
    events, _ = type_case(scrub, v.rng, text, style, None)
    flagged = [c for e in events if e.type == "text" for c in e.data["redactions"]]
    summary = " ".join(e.data["text"] for e in events if e.type == "text")
    return TypedCase(kind, "", style, text, False, bool(flagged), summary)


def typed_split(seed: int, positives: int, negatives: int) -> list[TypedCase]:
    rng = random.Random(seed)
    v = Values(rng)
    scrub = TextScrubber.from_settings(Settings()).scrub
    styles = ("clean", "slip", "hesitant")
    categories = tuple(POSITIVE)
    out = [
        positive(v, scrub, categories[n % len(categories)], styles[n // len(categories) % 3])
        for n in range(positives)
    ]
    out += [negative(v, scrub, styles[n % 2]) for n in range(negatives)]
    return out
