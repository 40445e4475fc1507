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

from app.core.redact.text import Hit, inside_digest

# Numbers are checked against many regions' plans, whose patterns would otherwise fall out of
# the re module's small cache and be compiled again on every check.
phonenumbers.re_util.enable_pattern_cache()

# Delimited by character class rather than \b: on screen these are often glued to words. The
# length comes from the country's format, so a glued word after the number does not matter.
# A country code in lower case ("de89 3704 ...", as people type it) starts a word and is
# followed by real digits; OCR confusions are only undone in upper-case ones.
_IBAN_START = re.compile(
    r"(?<![A-Z0-9])[A-Z]{2}(?=[0-9OoIlSsZzB]{2})|(?<![A-Za-z0-9])[a-z]{2}(?=\d\d)"
)
# Characters OCR confuses. Where the format fixes the kind (digit or letter) the character is
# read as that kind; where it allows both, the other readings are tried, a few at a time.
_AS_DIGIT = str.maketrans("OoDQIl|iZzSsBGbgq", "00001111225588669")
_AS_LETTER = str.maketrans("0125864", "OIZSBGA")
_OTHER_READINGS = {"0": "O", "O": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8"}
_OTHER_READINGS |= {"2": "Z", "Z": "2", "6": "G", "G": "6", "L": "I1"}
MAX_IBAN_READINGS = 16
_SSN = re.compile(
    r"(?<![\d-])\d{3}[- ]\d{2}[- ]\d{4}(?![\d-])|(?<![\d.])\d{3}\.\d{2}\.\d{4}(?![\d.])"
)
# Nine digits in a row are as often an order or account number: only beside a word that says
# what they are.
_SSN_COMPACT = re.compile(r"(?<![\d.\-])\d{9}(?![\d]|[.\-]\d)")
_SSN_WORD = re.compile(r"(?i)(?<![a-z])(?:ssn|ss#|social|soc ?sec|taxpayer|tin|itin)(?![a-z])")
SSN_WORD_WINDOW = 32
# Without such a word, nine digits standing alone inside a sentence, between words, are read
# as an SSN too (a chat line, a message): an order, ticket or account number is named by the
# word before it or glued to its label, and numbers in tables and listings (sizes, inodes)
# have more numbers beside them.
_WORD_BEFORE = re.compile(r"([A-Za-z]{2,})[,:]? $")
_SENTENCE_AFTER = re.compile(r"(?:[ ,.!?;:]+[A-Za-z]|[.!?]?\s*$)")
_NUMBER_NAME = re.compile(
    r"(?i)^(?:ref|reference|order|invoice|ticket|case|po|no|nr|num|number|id|tracking|account|"
    r"acct|customer|client|member|policy|claim|booking|confirmation|transaction|txn|receipt|"
    r"serial|item|sku|part|build|version|port|pid|uid|gid|inode|size|bytes|total|count|routing|aba)$"
)
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


# Regions whose national formats (numbers written without +country code) are tried when the
# policy names none: the machine's locale says nothing about whose numbers appear on screen (a
# build server's C.UTF-8 resolves to US). International numbers (+49..., 0049...) carry their
# country and are recognised for every region libphonenumber knows, whatever this list says.
DEFAULT_PHONE_REGIONS = (
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "SE", "NO", "DK", "FI", "PL",
    "PT", "IE", "CZ", "JP", "IN", "BR", "MX", "AU", "CN", "KR", "ZA", "TR", "SG",
)  # fmt: skip
# Digits with the separators phone numbers are written with: where the matcher is run.
# Single separators only: columns of numbers in a table or `top` are not one number.
_PHONE_CLUSTER = re.compile(r"\(?\d(?:(?:[ ./\-]|\)[ \-]?| ?\()?\d){6,16}")
MAX_CLUSTER_GROUPS = 8
_DIGIT_RUN = re.compile(r"\d+")
_NON_DIGIT = re.compile(r"\D")
# Full checks (one region's matcher on one cluster) per text: digit-dense text cannot make
# the check of one line cost more than a few milliseconds. Clusters past the budget are left
# to the international check; the cache below makes repeated clusters free.
MAX_REGION_CHECKS = 24
CLUSTER_CACHE_SIZE = 2048
# Shapes that a valid-looking national number can take by accident: dates, decimal amounts.
_DATE_OR_AMOUNT = re.compile(
    r"(?<!\d)(?:\d{1,2}[./\-]\d{1,2}[./\-](?:19|20)\d\d|(?:19|20)\d\d[./\-]\d{1,2}[./\-]\d{1,2})"
    r"(?!\d)|\d{3,}\.\d{2}(?!\d)|\d,\d{3}\b"
)
# Four numbers of at most three digits with dots: an IPv4 address (checked octet by octet).
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
# A word that says a phone number follows, glued to it where OCR dropped the space
# ("call01914960757if").
_PHONE_WORD_GLUED = re.compile(r"(?i)(?:phone|tel|call|mobile|cell|fax|whatsapp|sms)\.?:?$")
_INTERNATIONAL_00 = re.compile(r"(?<![\d+])00(?=[1-9](?:[ ()./\-]{0,2}\d){6,})")


def default_region() -> str:
    """The user's country for numbers written without +country code (US if unknown)."""
    try:
        name = locale.getlocale()[0] or ""
    except ValueError:
        name = ""
    match = re.search(r"_([A-Z]{2})", name)
    return match.group(1) if match else "US"


def phone_regions(preferred: Sequence[str] = ()) -> tuple[str, ...]:
    """Regions to read national numbers for: policy's own list, else a broad default set.
    Unknown codes are left out, so a typo in policy cannot stop detection."""
    known = phonenumbers.SUPPORTED_REGIONS
    wanted = [r.upper() for r in preferred] or list(DEFAULT_PHONE_REGIONS)
    return tuple(dict.fromkeys(r for r in wanted if r in known)) or DEFAULT_PHONE_REGIONS


def _groups(text: str) -> list[int]:
    return [len(g) for g in _DIGIT_RUN.findall(text)]


def _cuts(groups: list[int]) -> set[int]:
    return set(itertools.accumulate(groups[:-1]))


def _written_as_phone(raw: str, number: phonenumbers.PhoneNumber, region: str) -> bool | None:
    """Whether a national number is written the way its country writes numbers: True with
    the separators exactly where the national format has them, or led by a trunk prefix ("0"
    in most of Europe); None (only with a word such as "phone" beside it) with some of them
    left out; False for dates and amounts, which can be valid numbers in a country with
    8-digit numbers such as Denmark."""
    if _DATE_OR_AMOUNT.search(raw):
        return False
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    written, usual = _cuts(_groups(raw)), _cuts(_groups(national))
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = meta.national_prefix if meta is not None else None
    if written == usual or (trunk and raw.lstrip("(").startswith(trunk)):
        return True
    return None if written <= usual else False


# The kinds of number a region's plan lists; a valid number is one of them.
_NUMBER_TYPES = (
    "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number",
    "voip", "pager", "uan", "voicemail",
)  # fmt: skip


@cache
def _national_pattern(region: str) -> tuple[str, re.Pattern[str], bool]:
    """A region's trunk prefix and a pattern that every valid national significant number
    of it matches. The matcher (leniency VALID) keeps only numbers of one of the kinds the
    plan lists, for the region or another one sharing its country code (Canada's numbers
    parse as "US"), so the union of those kinds' patterns lets far fewer digit runs through
    than the plan's general pattern: in the columns of figures of `top`, most regions are
    never tried. Where the plan strips trunk prefixes by rules of its own (Japan, Brazil,
    ...), the general pattern is kept, since the digits tried here might not be those the
    matcher parses. The flag says which of the two it is."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.general_desc is None or not meta.general_desc.national_number_pattern:
        return "", re.compile(r"(?!)"), True
    trunk = meta.national_prefix or ""
    simple = meta.national_prefix_transform_rule is None and (
        meta.national_prefix_for_parsing in (None, meta.national_prefix)
    )
    if not simple:
        return trunk, re.compile(meta.general_desc.national_number_pattern), False
    shared = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code or 0, (region,))
    kinds = []
    for other in shared:
        plan = phonenumbers.PhoneMetadata.metadata_for_region(other)
        for kind in _NUMBER_TYPES:
            desc = getattr(plan, kind, None) if plan is not None else None
            if desc is not None and desc.national_number_pattern:
                kinds.append(f"(?:{desc.national_number_pattern})")
    if not kinds:
        return trunk, re.compile(meta.general_desc.national_number_pattern), False
    return trunk, re.compile("|".join(kinds)), True


_CAPTURED_DIGITS = re.compile(r"\(\\d(?:\{(\d+)(?:,(\d+))?\})?\)")
_FORMAT_GROUP = re.compile(r"\\\d")


@cache
def _national_groupings(region: str) -> frozenset[tuple[int, ...]] | None:
    """The lengths of the digit groups (two or more) that the region's country writes
    national numbers in, by the formats of its plan (and those of the regions sharing its
    country code), any neighbouring groups written together; None where some format is not
    plain groups of digits, so nothing can be ruled out. A number written otherwise is only
    a phone number with a word that says so (see _written_as_phone)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    found: set[tuple[int, ...]] = set()
    trunks: set[int] = set()
    for other in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code or 0, (region,)):
        plan = phonenumbers.PhoneMetadata.metadata_for_region(other)
        for form in plan.number_format if plan is not None else ():
            pattern, written = form.pattern or "", form.format or ""
            ranges = [
                (int(lo), int(hi or lo)) if lo else (1, 1)
                for lo, hi in _CAPTURED_DIGITS.findall(pattern)
            ]
            plain = _CAPTURED_DIGITS.sub("", pattern) == ""
            if not ranges or not plain or re.search(r"\d", _FORMAT_GROUP.sub("", written)):
                return None
            for joins in itertools.product((False, True), repeat=len(ranges) - 1):
                blocks = [ranges[0]]
                for joined, (lo, hi) in zip(joins, ranges[1:], strict=True):
                    if joined:
                        blocks[-1] = (blocks[-1][0] + lo, blocks[-1][1] + hi)
                    else:
                        blocks.append((lo, hi))
                if len(blocks) > 1:
                    found.update(itertools.product(*(range(lo, hi + 1) for lo, hi in blocks)))
        if plan is not None and plan.national_prefix:
            trunks.add(len(plan.national_prefix))
    # The national format may write the trunk prefix into the first group or before it
    # ("0501 234 56 88", "8 (495) ..."). Digits written without it, one group as much
    # shorter at the end, have their spaces where the format does, and pass as written so.
    for trunk in trunks:
        for first, *rest, last in list(found):
            if last > trunk:
                found.add((first + trunk, *rest, last - trunk))
                found.add((trunk, first, *rest, last - trunk))
    return frozenset(found)


def _blank_ipv4(m: re.Match[str]) -> str:
    if all(int(octet) <= 255 for octet in m.group().split(".")):
        return " " * len(m.group())
    return m.group()


def _unglued(piece: str, glued_word: bool) -> str:
    """The cluster with the letters touching it blanked (same length), when a word that says
    a phone number follows is glued to its front: the matcher refuses digits glued to
    letters, as they usually are part of an identifier."""
    if not glued_word:
        return piece
    chars = list(piece)
    for i in (0, len(chars) - 1):
        if chars[i].isalpha():
            chars[i] = " "
    return "".join(chars)


def _unglue_international(text: str) -> str:
    chars: list[str] | None = None
    for m in _INTERNATIONAL.finditer(text):
        for i in (m.start() - 1, m.end()):
            if 0 <= i < len(text) and text[i].isascii() and text[i].isalpha():
                chars = chars or list(text)
                chars[i] = " "
    return "".join(chars) if chars else text


def _as_plus(text: str) -> str:
    """ "0049 30 ..." as " +49 30 ...": the 00 international prefix, same length."""
    return _INTERNATIONAL_00.sub(" +", text)


def phones(regions: Sequence[str] | str = ()) -> Callable[[str], Iterable[Hit]]:
    """Phone numbers: international ones of any country, national ones of `regions`."""
    tried = phone_regions((regions,) if isinstance(regions, str) else regions)

    patterns = [(r, *_national_pattern(r), _national_groupings(r)) for r in tried]
    cache: dict[tuple[str, bool], list[tuple[str, int, int, bool]]] = {}

    def regions_for(piece: str, worded: bool) -> list[str]:
        """The regions in which some run of the piece's digit groups could be a number: a
        cheap test against the plan's pattern, before the full matcher runs. Without a
        word that says a phone number is near (`worded`), only a number of two or more
        groups, led by the trunk prefix or grouped as the country groups its numbers, is
        kept (see national): for the runs of figures of a table or `top`, the matcher then
        runs for few regions, or none."""
        groups = _DIGIT_RUN.findall(piece)[:MAX_CLUSTER_GROUPS]
        spans = []
        for i in range(len(groups)):
            digits = ""
            for j in range(i, len(groups)):
                digits += groups[j]
                if len(digits) > 17:
                    break
                if len(digits) >= 4:
                    spans.append((digits, tuple(len(g) for g in groups[i : j + 1])))
        found = []
        for region, trunk, pattern, strict, groupings in patterns:
            # Digits led by the trunk prefix are written as usual whatever their groups, and
            # they may be dialled abroad (Japan's "010" is its international prefix too).
            led = bool(trunk) and any(g.startswith(trunk) for g in groups)
            grouped = worded or led or groupings is None
            for digits, lengths in spans:
                if len(digits) < 7 and not strict:
                    continue  # the general pattern lets any short run through
                if not grouped and lengths not in (groupings or ()):
                    continue  # one group, or groups no number of the region is written in
                nsn = digits[len(trunk) :] if trunk and digits.startswith(trunk) else digits
                # Parsing strips a trunk prefix only where what is left is a number.
                if pattern.fullmatch(nsn) or pattern.fullmatch(digits):
                    found.append(region)
                    break
        return found

    def matches(piece: str, budget: list[int], worded: bool) -> list[tuple[str, int, int, bool]]:
        """(raw, start, end, grouped as usual) of the national numbers in a cluster, cached
        by its text."""
        found = cache.get((piece, worded))
        if found is not None:
            return found
        found = []
        if budget[0] <= 0:
            return found
        candidates = regions_for(piece, worded)[: budget[0]]
        if not candidates:
            return found
        for region in candidates:
            budget[0] -= 1
            for match in phonenumbers.PhoneNumberMatcher(
                piece, region, leniency=phonenumbers.Leniency.VALID, max_tries=5
            ):
                raw = match.raw_string
                written = _written_as_phone(raw, match.number, region)
                if not raw.startswith("+") and written is not False:
                    found.append((raw, match.start, match.end, written is True))
            if found:
                break
        if len(cache) >= CLUSTER_CACHE_SIZE:
            cache.clear()
        cache[(piece, worded)] = found
        return found

    def national(chunk: str, start: int, end: int, budget: list[int]) -> Hit | None:
        # One character either side, so the matcher sees a letter glued to the digits (the
        # middle of a UUID or a hash is not a phone number).
        glued = start > 0 and _PHONE_WORD_GLUED.search(chunk, max(0, start - 12), start)
        start, end = max(0, start - 1), min(len(chunk), end + 1)
        # Every window the check below looks in for such a word, of any match in the piece.
        worded = bool(_PHONE_WORD.search(chunk, max(0, start - 24), end))
        for raw, a, b, usual in matches(_unglued(chunk[start:end], bool(glued)), budget, worded):
            at = start + a
            if chunk[max(0, at - 1) : at] == "#" or chunk[max(0, at - 2) : at] == "# ":
                continue  # "#32488844": an order or ticket number
            if (len(_groups(raw)) == 1 or not usual) and not _PHONE_WORD.search(
                chunk, max(0, at - 24), at
            ):
                continue  # as likely an order or ticket number
            return Hit("PHONE", at, start + b)
        return None

    def detect(text: str) -> Iterable[Hit]:
        if not _PHONE_LEAD.search(text):
            return
        original = text
        if "00" in text:
            text = _as_plus(text)
        if "+" in text:
            text = _unglue_international(text)
        for offset in range(0, len(text), MAX_PHONE_TEXT):
            chunk = text[offset : offset + MAX_PHONE_TEXT + 64]
            international: list[Hit] = []
            if "+" in chunk:
                # Numbers with their country code are distinctive: any country's will do.
                for match in phonenumbers.PhoneNumberMatcher(
                    chunk, "US", leniency=phonenumbers.Leniency.VALID, max_tries=200
                ):
                    if match.raw_string.startswith("+") and not inside_digest(
                        original, offset + match.start, offset + match.end
                    ):
                        start = match.start
                        if original[offset + start - 1 : offset + start + 1] == "00":
                            start -= 1  # read as " +": the box covers the "00"
                        international.append(Hit("PHONE", start, match.end))
            yield from (Hit(h.category, offset + h.start, offset + h.end) for h in international)
            budget = [MAX_REGION_CHECKS]
            # Dates and amounts are blanked first (same length): "2024-05-01 42" is no number.
            numbers = _DATE_OR_AMOUNT.sub(lambda d: " " * len(d.group()), chunk)
            if "." in numbers:
                numbers = _IPV4.sub(_blank_ipv4, numbers)
            for m in _PHONE_CLUSTER.finditer(numbers):
                if any(h.start < m.end() and m.start() < h.end for h in international):
                    continue
                hit = national(chunk, m.start(), m.end(), budget)
                if hit is not None:
                    yield Hit("PHONE", offset + hit.start, offset + hit.end)

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
    if body.islower():
        # As typed, in lower case ("gb29nwbk6016..."): nothing to read back; the small l of
        # a bank code ("midl") is an L, not an I misread.
        yield country + body.upper()
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
        country = m.group().upper()
        kinds = _iban_format(country)
        if kinds is None:
            continue
        found = _iban_chars(text, m.end(), 2 + len(kinds))
        if found is None:
            continue
        body, end = found
        if end < len(text) and text[end].isdigit():
            continue  # part of a longer number
        readings = _iban_readings(country, body, "nn" + kinds)
        if m.group().islower():
            readings = itertools.islice(readings, 1)  # typed: exactly as written
        if any(_mod97(r) and iban.is_valid(r) for r in readings):
            yield Hit("IBAN", m.start(), end)
            pos = end


def _part_of_identifier(text: str, start: int, end: int) -> bool:
    """Digits joined to more of an identifier by a dash, an underscore or a slash: the last
    group of a UUID, the tail of a reference such as INV-2024-123456789012."""
    return (start > 0 and text[start - 1] in "-_/") or (end < len(text) and text[end] in "-_/")


def _in_sentence(text: str, start: int, end: int) -> bool:
    """Whether the digits at [start, end) stand between words of a sentence: a word before
    them that does not name a kind of number, and a word or the end of the sentence after,
    with no other number within a few characters."""
    before = _WORD_BEFORE.search(text, max(0, start - 40), start)
    if before is None or _NUMBER_NAME.match(before.group(1)):
        return False
    if not _SENTENCE_AFTER.match(text, end):
        return False
    return not any(c.isdigit() for c in text[end : end + 16])


def national_ids(text: str) -> Iterable[Hit]:
    for m in _SSN.finditer(text):
        if ssn.is_valid(_NON_DIGIT.sub("", m.group())) and not inside_digest(
            text, m.start(), m.end()
        ):
            yield Hit("SSN", m.start(), m.end())
    for m in _SSN_COMPACT.finditer(text):
        near = _SSN_WORD.search(
            text, max(0, m.start() - SSN_WORD_WINDOW), m.end() + SSN_WORD_WINDOW
        )
        named = near is not None or _in_sentence(text, m.start(), m.end())
        if named and ssn.is_valid(m.group()) and not inside_digest(text, m.start(), m.end()):
            yield Hit("SSN", m.start(), m.end())
    for label, pattern, valid in _NATIONAL_IDS:
        for m in pattern.finditer(text):
            if valid(m.group()) and not _part_of_identifier(text, m.start(), m.end()):
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
