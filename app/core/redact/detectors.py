"""Structured personal data that needs more than a pattern: phone numbers (libphonenumber),
bank accounts and national identifiers (python-stdnum validators), and custom policy terms.

A regular expression proposes candidates; a validator (check digits, numbering plans)
accepts them, which keeps ordinary numbers such as order ids and versions untouched.
"""

from __future__ import annotations

import itertools
import locale
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache

import phonenumbers
from stdnum import iban, numdb
from stdnum.br import cpf
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.us import ssn

from app.core.redact.text import Hit

# Delimited by character class rather than \b: on screen these are often glued to words. The
# length comes from the country's format, so a glued word after the number does not matter.
_IBAN_START = re.compile(r"(?<![A-Z0-9])[A-Z]{2}(?=[0-9OoIlSsZzB]{2})")
# Characters OCR confuses. Where the format fixes the kind (digit or letter) the character is
# read as that kind; where it allows both, the other readings are tried, a few at a time.
_AS_DIGIT = str.maketrans("OoDQIl|iZzSsBGbgq", "00001111225588669")
_AS_LETTER = str.maketrans("0125864", "OIZSBGA")
_OTHER_READINGS = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}
_OTHER_READINGS |= {"2": "Z", "Z": "2", "6": "G", "G": "6", "L": "I1"}
MAX_IBAN_READINGS = 16
_SSN = re.compile(r"(?<![\d-])\d{3}[- ]\d{2}[- ]\d{4}(?![\d-])")
# Candidate shape -> validator; each label is what the placeholder says.
_NATIONAL_IDS: list[tuple[str, re.Pattern[str], Callable[[str], bool]]] = [
    ("NATIONAL_ID", re.compile(r"\b\d{3}\.?\d{3}\.?\d{3}-?\d{2}\b"), cpf.is_valid),  # BR CPF
    ("NATIONAL_ID", re.compile(r"\b\d{2} ?\d{3} ?\d{3} ?\d{3}\b"), idnr.is_valid),  # DE Steuer-ID
    (
        "NATIONAL_ID",
        re.compile(r"\b[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b"),
        nir.is_valid,
    ),
    ("NATIONAL_ID", re.compile(r"\b\d{8}-?[A-Z]\b"), dni.is_valid),  # ES DNI
    ("NATIONAL_ID", re.compile(r"\b[XYZ]-?\d{7}-?[A-Z]\b"), nie.is_valid),  # ES NIE
    (
        "NATIONAL_ID",
        re.compile(r"\b[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]\b"),
        codicefiscale.is_valid,
    ),
    ("NATIONAL_ID", re.compile(r"\b\d{4} ?\d{4} ?\d{4}\b"), aadhaar.is_valid),  # IN Aadhaar
]
_PHONE_LEAD = re.compile(r"[+(]?\d")
# A bare run of digits is only a phone number next to a word that says so; otherwise it is
# as likely an order, invoice or ticket number.
_PHONE_WORD = re.compile(
    r"(?i)(?:phone|tel|call|mobile|cell|fax|whatsapp|sms|text me|ring|number|contact|\bnr\b|☎|📞)"
)
MAX_PHONE_TEXT = 20_000  # longer text is scanned in slices so matching stays bounded
# "on+393912853357ticket": OCR dropped the spaces around an international number, and the
# matcher refuses numbers touching letters. The touching letter is blanked (same length, so
# positions hold); a "+" followed by digits is distinctive enough to allow it.
_INTERNATIONAL = re.compile(r"\+\d[\d ()./\-]{6,24}\d")


def default_region() -> str:
    """The user's country for numbers written without +country code (US if unknown)."""
    try:
        name = locale.getlocale()[0] or ""
    except ValueError:
        name = ""
    match = re.search(r"_([A-Z]{2})", name)
    return match.group(1) if match else "US"


def _strictly_grouped(match: phonenumbers.PhoneNumberMatch, region: str) -> bool:
    raw = match.raw_string
    return any(
        True
        for _ in phonenumbers.PhoneNumberMatcher(
            raw, region, leniency=phonenumbers.Leniency.STRICT_GROUPING, max_tries=5
        )
    )


def _unglue_international(text: str) -> str:
    chars: list[str] | None = None
    for m in _INTERNATIONAL.finditer(text):
        for i in (m.start() - 1, m.end()):
            if 0 <= i < len(text) and text[i].isascii() and text[i].isalpha():
                chars = chars or list(text)
                chars[i] = " "
    return "".join(chars) if chars else text


def phones(region: str) -> Callable[[str], Iterable[Hit]]:
    def detect(text: str) -> Iterable[Hit]:
        if not _PHONE_LEAD.search(text):
            return
        if "+" in text:
            text = _unglue_international(text)
        for offset in range(0, len(text), MAX_PHONE_TEXT):
            chunk = text[offset : offset + MAX_PHONE_TEXT + 64]
            # International numbers (+...) are distinctive; national ones must also be grouped
            # the way the country writes them, or dates and order ids would pass as phones.
            for match in phonenumbers.PhoneNumberMatcher(
                chunk, region, leniency=phonenumbers.Leniency.VALID, max_tries=200
            ):
                raw = match.raw_string
                if raw.startswith("+") or (
                    _strictly_grouped(match, region)
                    and (
                        not raw.isdigit()
                        or _PHONE_WORD.search(chunk, max(0, match.start - 24), match.start)
                    )
                ):
                    yield Hit("PHONE", offset + match.start, offset + match.end)

    return detect


@cache
def _iban_format(country: str) -> str | None:
    """One letter per character after the check digits: n digit, a letter, c either."""
    info = numdb.get("iban").info(country)[0][1]
    bban = info.get("bban") if info else None
    if not bban:
        return None
    return "".join(kind * int(n) for n, kind in re.findall(r"(\d+)!([nac])", bban))


def _iban_chars(text: str, pos: int, count: int) -> tuple[str, int] | None:
    """`count` letters and digits from `pos`, single spaces between them allowed."""
    out: list[str] = []
    i = pos
    while len(out) < count and i < len(text):
        ch = text[i]
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif not (ch == " " and out and i + 1 < len(text) and text[i + 1].isalnum()):
            break
        i += 1
    return ("".join(out), i) if len(out) == count else None


def _iban_readings(country: str, body: str, kinds: str) -> Iterable[str]:
    """The IBAN as the format says it must read (a digit where only digits may stand), then a
    bounded number of alternatives where the character could be read more than one way."""
    first: list[str] = []
    others: list[tuple[int, str]] = []
    for i, (ch, kind) in enumerate(zip(body, kinds, strict=True)):
        if kind == "n":
            ch = ch.translate(_AS_DIGIT)
            if not ch.isdigit():
                return
            first.append(ch)
            continue
        if ch == "l":  # a small l is a capital I as often as an L
            ch = "I"
        ch = ch.upper()
        if kind == "a":
            ch = ch.translate(_AS_LETTER)
            if not ch.isalpha():
                return
        first.append(ch)
        others += [(i, alt) for alt in _OTHER_READINGS.get(ch, "") if kind == "c" or alt.isalpha()]
    yield country + "".join(first)
    tried = 1
    for size in (1, 2):
        for combo in itertools.combinations(others, size):
            if tried >= MAX_IBAN_READINGS:
                return
            if len({i for i, _ in combo}) < size:
                continue
            variant = list(first)
            for i, alt in combo:
                variant[i] = alt
            tried += 1
            yield country + "".join(variant)


def _mod97(candidate: str) -> bool:
    """The IBAN checksum alone, cheap enough to try every reading with."""
    moved = candidate[4:] + candidate[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def ibans(text: str) -> Iterable[Hit]:
    pos = 0
    while m := _IBAN_START.search(text, pos):
        pos = m.end()
        kinds = _iban_format(m.group())
        if kinds is None:
            continue
        found = _iban_chars(text, m.end(), 2 + len(kinds))
        if found is None:
            continue
        body, end = found
        if end < len(text) and text[end].isdigit():
            continue  # part of a longer number
        readings = _iban_readings(m.group(), body, "nn" + kinds)
        if any(_mod97(r) and iban.is_valid(r) for r in readings):
            yield Hit("IBAN", m.start(), end)
            pos = end


def national_ids(text: str) -> Iterable[Hit]:
    for m in _SSN.finditer(text):
        if ssn.is_valid(m.group().replace(" ", "-")):
            yield Hit("SSN", m.start(), m.end())
    for label, pattern, valid in _NATIONAL_IDS:
        for m in pattern.finditer(text):
            if valid(m.group()):
                yield Hit(label, m.start(), m.end())


def custom(terms: Sequence[str], patterns: Sequence[str]) -> Callable[[str], Iterable[Hit]]:
    """Policy's own words (whole words, any case) and regular expressions."""
    compiled = [re.compile(p) for p in patterns]
    if terms:
        words = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True) if t)
        compiled.append(re.compile(rf"(?i)(?<!\w)(?:{words})(?!\w)"))

    def detect(text: str) -> Iterable[Hit]:
        for pattern in compiled:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    yield Hit("CUSTOM", m.start(), m.end())

    return detect
