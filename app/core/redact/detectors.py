"""Structured personal data that needs more than a pattern: phone numbers (libphonenumber),
bank accounts and national identifiers (python-stdnum validators), and custom policy terms.

A regular expression proposes candidates; a validator (check digits, numbering plans)
accepts them, which keeps ordinary numbers such as order ids and versions untouched.
"""

from __future__ import annotations

import locale
import re
from collections.abc import Callable, Iterable, Sequence

import phonenumbers
from stdnum import iban
from stdnum.br import cpf
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.us import ssn

from app.core.redact.text import Hit

# Delimited by character class rather than \b: on screen these are often glued to words.
_IBAN = re.compile(r"(?<![A-Z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}(?![A-Z0-9])")
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


def phones(region: str) -> Callable[[str], Iterable[Hit]]:
    def detect(text: str) -> Iterable[Hit]:
        if not _PHONE_LEAD.search(text):
            return
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


def ibans(text: str) -> Iterable[Hit]:
    for m in _IBAN.finditer(text):
        if iban.is_valid(m.group()):
            yield Hit("IBAN", m.start(), m.end())


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
