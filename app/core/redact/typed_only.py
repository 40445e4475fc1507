"""Rules for typed text only: what a person types key by key says more than the same
characters shown on screen.

Pasted text never reaches typed text (a paste is a hotkey), so every character of a typing
run was typed: by hand, or by a password manager's auto-type. Nobody types a run of 32 or more
hexadecimal or base64-like characters by hand unless it is a key, so in typed text such a run
is taken for one without a word naming it. On screen the same run is more often a digest
(`git log`, checksum listings) and stays readable there (see secrets.py). In typed text a
digest stays readable only where the line says it is one: a git command, a word such as
"sha256" or "commit", a checksum being checked. A run followed by "@" is the user part of a
URL, where keys go, whatever the line says.

Nine digits typed with nothing else in the run are what goes into the SSN field of a form;
order and ticket numbers are typed beside a word naming them, and numbers in code beside the
code (`MAX_BYTES = 268435456` stays readable). A stray SSN costs more than a lost order number.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from stdnum.us import ssn

from app.core.redact.secrets import RANDOM_TOKEN, wordlike_share
from app.core.redact.text import Hit

MIN_TYPED_KEY = 32  # characters: a 128-bit key in hex, the shortest key people use
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,512}(?![0-9A-Za-z])")
# Bits per character. Of 100,000 random hex keys of 32 characters none fell below this (the
# lowest was 2.87); filler ("ffff...", "0000...1") falls well below.
MIN_HEX_ENTROPY = 2.8
# Base64-like runs: letters, digits and the characters of base64 and base64url.
_KEY_RUN = re.compile(r"(?<![A-Za-z0-9+/_\-.])[A-Za-z0-9+/_\-]{32,512}={0,2}(?![A-Za-z0-9+/_\-])")
# Of 100,000 random base36 keys of 32 characters none fell below this; long numbers with a
# letter or two, and repeated filler, do.
MIN_KEY_ENTROPY = 3.5
# A key in one case (base32 such as a TOTP seed, lower-case base36) switches between letters
# and digits all along; an identifier with a version or a year in it does so a few times.
MIN_SWITCHES_SHARE = 1 / 8
# Mixed case: a random key of 32 characters or more has words by chance, but not this share
# of its characters in them, nor twelve small letters in a row; identifiers run together
# (getUserAccountSettings2) and sentences without spaces do.
MAX_TYPED_WORDLIKE_SHARE = 0.75
_LONG_LOWER_RUN = re.compile(r"[a-z]{12}")
# What says a run of hex in the same line is a digest, anywhere before it: a git or Mercurial
# command (every hex run there is an object id; "git" must be the command, not a folder such
# as `cd ~/git && export KEY=...`), or a word naming a hash function or a commit.
_DIGEST_BEFORE = re.compile(
    r"(?i)(?:^|[;&|(`]|\$\()\s*(?:sudo\s+)?(?:git|hg)\s+\S|"
    r"(?<![a-z0-9])(?:sha-?(?:1|224|256|384|512)?(?:sum)?|shasum|md5(?:sum)?|b2sum|"
    r"blake2[bs]?|digest|checksum|commit|rev(?:ision)?)(?![a-z])"
)
# ... or after it, a checksum tool checking it: `echo <sha256>  app.tar.gz | sha256sum -c`.
_DIGEST_CHECKED_AFTER = re.compile(
    r"(?i)(?<![a-z0-9])(?:sha\d*sum|shasum|md5sum|b2sum)\b[^|;&\n]{0,64}?\s(?:-c|--check)(?![\w\-])"
)
MAX_CONTEXT = 200  # characters of the line looked at on either side

_LONE_NINE_DIGITS = re.compile(r"\s*[\"'(]?(\d{9})[\"')]?[.,;:!?]?\s*")


def _entropy(run: str) -> float:
    n = len(run)
    return -sum(k / n * math.log2(k / n) for k in Counter(run).values())


def _line_around(text: str, start: int, end: int) -> tuple[str, str]:
    """The same line's text before [start, end) and after it, bounded."""
    line_start = text.rfind("\n", max(0, start - MAX_CONTEXT), start) + 1
    line_end = text.find("\n", end, end + MAX_CONTEXT)
    if line_end < 0:
        line_end = min(len(text), end + MAX_CONTEXT)
    return text[max(line_start, start - MAX_CONTEXT) : start], text[end:line_end]


def _named_as_digest(text: str, start: int, end: int) -> bool:
    if text[end : end + 1] == "@":
        return False  # https://<key>@host: the user part of a URL holds a credential
    before, after = _line_around(text, start, end)
    return bool(_DIGEST_BEFORE.search(before) or _DIGEST_CHECKED_AFTER.search(after))


def hex_keys(text: str, before: str = "") -> Iterable[Hit]:
    """Runs of 32 or more hex characters, unless the line says they are a digest. `before` is
    what was typed on the same line just before this run (a pause split the line)."""
    if not text:
        return
    joined = before + text
    offset = len(before)
    for m in _HEX_RUN.finditer(text):
        run = m.group()
        if run.isdigit() or not any(c.isdigit() for c in run):
            continue  # a long number, or letters only ("deadbeefcafe..."): no key
        if _entropy(run) < MIN_HEX_ENTROPY:
            continue
        if _named_as_digest(joined, offset + m.start(), offset + m.end()):
            continue
        yield Hit(RANDOM_TOKEN, m.start(), m.end())


def looks_like_typed_key(run: str) -> bool:
    """Whether a run of 32 or more base64-like characters (not all hex) is a key as typed: a
    looser test than the one for text on screen, where words and numbers glued together by
    OCR look random too, and a test that accepts keys of one case."""
    body = run.rstrip("=")
    n = len(body)
    if n < MIN_TYPED_KEY:
        return False
    if not any(c.isdigit() for c in body) or not any(c.isalpha() for c in body):
        return False
    if body.count("/") > n // 16 + 1 or body.count("-") + body.count("_") > n // 8:
        return False  # a path or a long identifier
    if _entropy(body) < MIN_KEY_ENTROPY:
        return False
    if any(c.isupper() for c in body) and any(c.islower() for c in body):
        return wordlike_share(body) < MAX_TYPED_WORDLIKE_SHARE and not _LONG_LOWER_RUN.search(body)
    switches = sum(1 for a, b in zip(body, body[1:], strict=False) if a.isdigit() != b.isdigit())
    return switches >= n * MIN_SWITCHES_SHARE


def base64_keys(text: str) -> Iterable[Hit]:
    for m in _KEY_RUN.finditer(text):
        # "https://<key>@host": the slashes before the key belong to the URL.
        run = m.group().lstrip("/")
        if all(c in _HEX_DIGITS or c == "-" for c in run):
            continue  # hex (hex_keys decides, with the line's context), or a UUID
        if looks_like_typed_key(run):
            yield Hit(RANDOM_TOKEN, m.end() - len(run), m.end())


def lone_ssn(text: str) -> Iterable[Hit]:
    """Nine digits that are the whole run (spaces, quotes or a full stop aside) and a valid US
    SSN: area not 000, 666 or 9xx, group not 00, serial not 0000."""
    m = _LONE_NINE_DIGITS.fullmatch(text)
    if m is not None and ssn.is_valid(m.group(1)):
        yield Hit("SSN", m.start(1), m.end(1))


def typed_only(text: str, before: str = "") -> list[Hit]:
    """Hits of the typed-text rules in `text`; `before` is the line's text typed before it."""
    return [*hex_keys(text, before), *base64_keys(text), *lone_ssn(text)]
