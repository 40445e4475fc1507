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

from app.core.redact import secrets
from app.core.redact.key_cells import labelled_key_cells
from app.core.redact.layout import Join, column_rows, join_geometry, joined_hits, joined_lines
from app.core.redact.ocr import TextBox
from app.core.redact.text import Hit, TextScrubber

# OCR misreads that matter for detection; swapped character for character so positions hold.
_DIGIT_LOOKALIKES = str.maketrans("OoDlIiSsBZz", "00011155822")
# ("|" is not a 1 here: table borders read as "|" next to numbers.)
_DIGITISH_TOKEN = re.compile(r"[0-9OoDlIiSsBZz][0-9OoDlIiSsBZz \-]{10,}[0-9OoDlIiSsBZz]")
# The bars between the cells of a table drawn in text ("| 0039 377 280 610 |") read as a
# lone 1, I or l; next to a number they make it a longer one that no detector takes. Only
# where a line has three or more: a lone "1" or "I" is as likely a count or a word.
_LONE_BAR = re.compile(r"(?<![^ ])[1Il](?![^ ])")
MIN_BARS = 3
_COMMA_IN_WORD = re.compile(r"(?<=[A-Za-z0-9]),(?=[A-Za-z]{2,})")
# The engine reads the hook of a J or the stem of an I or l as a "]" of its own ("Pnt]JKwm").
# Between two letters or digits a "]" closes nothing that code or prose writes.
_BRACKET_IN_WORD = re.compile(r"(?<=[A-Za-z0-9])\](?=[A-Za-z0-9])")
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
# "SECRET_KEY = abc": thin "=" glyphs are read as "-". Only spaced, after a secret's name.
_DASH_FOR_EQUALS = re.compile(r"(?i)(?<=key |ken |ret |ord |swd |pwd )-(?= \S)")
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


# The engine's dictionary holds CJK punctuation, and it reads ")" or "," now and then as its
# full-width form ("(415） 757-1957"). Mapped one for one onto ASCII, as NFKC would.
_FULL_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20, 0x3002: 0x2E}


def ocr_variants(text: str) -> list[str]:
    """The text as read, plus a reading with typical OCR confusions undone (same length)."""
    fixed = text if text.isascii() else text.translate(_FULL_WIDTH)
    if len(_LONE_BAR.findall(text)) >= MIN_BARS:
        fixed = _LONE_BAR.sub("|", fixed)
    fixed = _COMMA_IN_WORD.sub(".", fixed)
    fixed = _BRACKET_IN_WORD.sub("I", fixed)
    fixed = _DIGITISH_TOKEN.sub(_digitish, fixed)
    if "@" in fixed:
        fixed = _TLD.sub(_tld, fixed)
    fixed = _AWS_MIXED_CASE.sub(_aws_case, fixed)
    fixed = _JWT_LEAD.sub("eyJ", fixed)
    fixed = _DASH_FOR_EQUALS.sub("=", fixed)
    return [text] if fixed == text else [text, fixed]


# -- spaces the engine put inside a token -------------------------------------------------
# "ey JhbGciOi...", "ghp_ab12 Cd34...", "https: //bob :pw@host": the engine reads a gap in the
# glyphs as a space. Pieces are joined again where both sides look like parts of a token
# (digits, mixed case, the punctuation tokens and URLs are made of), and only detectors with
# a strict format run on the joined text, so ordinary words next to a token stay apart.
_TOKEN_PUNCT = frozenset("_-./:@=+")
_CASE_CHANGE = re.compile(r"[a-z][A-Z]")
_URL_SCHEMES = (
    r"(?i:https?|ftps?|s?ftp|ssh|git|postgres(?:ql)?|mysql|mongodb(?:\+srv)?|redis|amqps?)"
)
_SPACED_URL_CREDENTIALS = re.compile(
    rf"{_URL_SCHEMES}://[A-Za-z0-9._~%!$&'()*+,;=\-]{{0,128}}:(?!\d+(?![^\s/?#]))[^\s/@]{{1,256}}@?"
)
MAX_JOINED_PIECES = 12
# Where a token of a strict format could begin, even with a space read inside its prefix.
_TOKEN_HINT = re.compile(
    r"ey ?J|g ?h ?[pousr] ?_|github_pat|A ?[KSGIRN] ?[IPRO] ?A|xox|AIza|[srp]k_|sk-|glpat|npm_|"
    r"hf_|SG\.|: ?/ ?/|(?i:bearer) "
)


def _tokenish(piece: str) -> bool:
    return (
        any(c.isdigit() or c in _TOKEN_PUNCT for c in piece)
        or _CASE_CHANGE.search(piece) is not None
        or (len(piece) >= 4 and piece.isupper())
    )


def _joinable(left: str, right: str) -> bool:
    if left.endswith("ey") and right.startswith("J"):
        return True  # "ey JhbG": the start of a JWT split after its first two letters
    return _tokenish(left) and _tokenish(right)


def despaced(text: str) -> tuple[str, list[int]] | None:
    """The text with single spaces between token-like pieces removed, and for each character
    its position in `text`; None when no space qualifies."""
    pieces = text.split(" ")
    if len(pieces) < 2:
        return None
    out: list[str] = []
    origin: list[int] = []
    pos = 0
    joined_run = 0
    changed = False
    for k, piece in enumerate(pieces):
        if k:
            prev = pieces[k - 1]
            if prev and piece and joined_run < MAX_JOINED_PIECES and _joinable(prev, piece):
                joined_run += 1
                changed = True
            else:
                out.append(" ")
                origin.append(pos - 1)
                joined_run = 0
        out.extend(piece)
        origin.extend(range(pos, pos + len(piece)))
        pos += len(piece) + 1
    return ("".join(out), origin) if changed else None


def _strict_tokens(text: str) -> Iterable[Hit]:
    for category, pattern in secrets.TOKENS:
        for m in pattern.finditer(text):
            body = m.group()
            if category != "JWT" and not (
                any(c.isdigit() for c in body) and any(c.isalpha() for c in body)
            ):
                continue
            yield Hit(category, m.start(), m.end())
    if "//" in text:
        for m in _SPACED_URL_CREDENTIALS.finditer(text):
            yield Hit("URL_CREDENTIALS", m.start(), m.end())
    # "Bearer mRDrPj .M9Vu…": the credentials after the scheme, whatever their format.
    for m in secrets.BEARER.finditer(text):
        if secrets.is_literal(m.group(1)):
            yield Hit("SECRET", m.start(1), m.end(1))


# A piece of mixed case before a space and more token characters after it: a random key
# whose underscore or dash the engine read as a space ("cWIoIXpAEcGotSr X3-TGDsH").
_SPLIT_KEY = re.compile(
    r"(?=[A-Za-z0-9_\-]*[a-z])(?=[A-Za-z0-9_\-]*[A-Z])[A-Za-z0-9_\-]{8,} [A-Za-z0-9_\-]{3,}"
)
MIN_KEY_PIECE = 3
MAX_KEY_PIECES = 3
# Stricter than for a run read whole: identifiers in code, each with a digit, sit side by side.
MAX_SPLIT_KEY_WORDLIKE = 0.35


# A space the engine read beside a dash or an underscore inside a key: those narrow glyphs
# stand in blank columns as wide as a space's ("...MGQuYnb- rGu5"), and no key is written
# with a space after its dash.
_SPACE_AT_JOINER = re.compile(
    r"(?<=[A-Za-z0-9][_\-]) (?=[A-Za-z0-9])|(?<=[A-Za-z0-9]) (?=[_\-][A-Za-z0-9])"
)


def _split_key(text: str, start: int, end: int) -> bool:
    """Whether a random-looking run found with spaces taken out is one key the engine split:
    two or three pieces of a few characters, none a random token on its own (a key followed
    by a word or a number is the key alone, found without joining), hardly any words; or
    one key whose only spaces sit beside its dashes or underscores."""
    run = text[start:end]
    if " " not in _SPACE_AT_JOINER.sub("", run):
        return True
    pieces = run.split(" ")
    if len(pieces) > MAX_KEY_PIECES or any(len(p) < MIN_KEY_PIECE for p in pieces):
        return False
    wordlike = secrets.wordlike_share("".join(pieces))
    if all(not secrets.looks_random(p) for p in pieces):
        return wordlike < MAX_SPLIT_KEY_WORDLIKE
    # Pieces random on their own are one key only if each is key material: a key followed
    # by a word or a number is the key alone.
    return wordlike < MAX_KEY_PIECE_WORDLIKE and all(map(_key_piece, pieces))


MIN_KEY_PIECE_MATERIAL = 8
# Short pieces of a random key hold a run reading as a word about as often as not
# ("UkuwCiLQn"); a word itself is one ("Tomorrow", "Reviewed").
MAX_KEY_PIECE_WORDLIKE = 0.5


def _key_piece(piece: str) -> bool:
    """A piece of a key: letters mixed with digits or of both cases, not mostly words."""
    upper = any(c.isupper() for c in piece)
    lower = any(c.islower() for c in piece)
    digit = any(c.isdigit() for c in piece)
    return (
        len(piece) >= MIN_KEY_PIECE_MATERIAL
        and ((upper and lower) or (digit and (upper or lower)))
        and secrets.wordlike_share(piece) < MAX_KEY_PIECE_WORDLIKE
    )


# A line that assigns a secret ("DB_PASSWORD=fMZ1jLt LM1+fV6", "token: ab12 Cd34"): the name
# of one somewhere before the "=" or ":" (see secrets.KEYWORD_VALUE).
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)(?:pa[s5]{2}|pwd|secret|token|key|auth|credential).{0,40}?[=:]"
)


_CLOSING = "\"'`,;)"
_PASSWORD_SYMBOL = re.compile(r"[!#$%^&*?~]")


def _value_split_at_the_end(text: str) -> Iterable[Hit]:
    """A secret's value that ends its line (but for a closing quote or comma), with a space
    the engine read into it: a value in an assignment has no space, so a last piece that
    looks like part of a token or a password (digits, mixed case, the punctuation of keys,
    symbols) belongs to it ("password: hunter2 today" stays)."""
    body = text.rstrip()
    space = body.rfind(" ")
    if space < 1 or body[space - 1] in "=: " or _SECRET_ASSIGNMENT.search(body, 0, space) is None:
        return
    tail = body[space + 1 :]
    piece = tail.rstrip(_CLOSING)  # what ends the value: a quote, a comma
    if len(piece) < MIN_KEY_PIECE or not (_tokenish(piece) or _PASSWORD_SYMBOL.search(piece)):
        return
    joined = body[:space] + tail
    for hit in secrets.secrets(joined):
        if hit.category == "SECRET" and hit.start < space < hit.end:
            yield Hit("SECRET", hit.start, hit.end + 1)


# "Camille Moreau <julien52 @mairie-lyon.f>": what a mail header or a commit's author puts in
# angle brackets around an "@" is an address, even where the engine lost a letter of it.
_BRACKETED_ADDRESS = re.compile(r"<([A-Za-z0-9._%+\-]{1,64} ?@ ?[A-Za-z0-9][A-Za-z0-9.\-]{0,252})>")


# '"owner": "rhysbar low96@nhs.net"': a quoted address with a space the engine read into its
# local part; a string that is one address and a word before it would not be quoted so.
_QUOTED_SPLIT_ADDRESS = re.compile(
    r"(?<=[\"'])[A-Za-z0-9._%+\-]{1,64} [A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}"
    r"(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}(?=[\"'])"
)


def _ocr_only(text: str) -> Iterable[Hit]:
    for m in _AWS_KEY_ONE_SHORT.finditer(text):
        yield Hit("AWS_KEY", m.start(), m.end())
    if "@" in text:
        for m in _BRACKETED_ADDRESS.finditer(text):
            yield Hit("EMAIL", m.start(1), m.end(1))
        for m in _QUOTED_SPLIT_ADDRESS.finditer(text):
            yield Hit("EMAIL", m.start(), m.end())
    if " " in text and ("=" in text or ":" in text):
        yield from _value_split_at_the_end(text)
    if " " not in text:
        return
    strict = _TOKEN_HINT.search(text) is not None
    split_key = _SPLIT_KEY.search(text) is not None
    if not (strict or split_key):
        return
    found = despaced(text)
    if found is None:
        return
    joined, origin = found
    hits = list(_strict_tokens(joined)) if strict else []
    if split_key:
        hits += secrets.random_tokens(joined)
    for hit in hits:
        start, end = origin[hit.start], origin[hit.end - 1] + 1
        if " " not in text[start:end]:
            continue  # found without joining
        if hit.category == secrets.RANDOM_TOKEN and not _split_key(text, start, end):
            continue
        yield Hit(hit.category, start, end)  # the whole item, across the engine's spaces


# Spaces beside an "@" between two address characters: OCR puts them there, addresses have none.
_SPACED_AT = re.compile(r"(?<=[A-Za-z0-9._%+\-])( ?)@( ?)(?=[A-Za-z0-9])")
# And beside the dots of the domain after it ("bob@sky. com").
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9\-]{1,63}")
_DOMAIN_DOT = re.compile(r"( ?)\.( ?)([A-Za-z0-9\-]{1,63})(?![A-Za-z0-9\-])")
MAX_DOMAIN_LABELS = 8
# Top-level domains common enough that a spaced dot before one ends an address that already
# looked whole ("bob@mail.example. com"); anywhere else a spaced dot after a whole address
# ends a sentence ("write to bob@example.org. then").
_COMMON_TLDS = frozenset(
    ("com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "io", "dev", "app")
    + ("co", "me", "ai", "eu", "uk", "de", "fr", "es", "it", "nl", "be", "at", "ch", "se")
    + ("no", "dk", "fi", "pl", "pt", "ie", "cz", "ru", "ua", "jp", "cn", "in", "au", "nz")
    + ("ca", "us", "br", "mx", "ar", "za")
)


def _spaces_in_domain(text: str, after_at: int) -> set[int]:
    m = _DOMAIN_LABEL.match(text, after_at)
    if m is None:
        return set()
    spaces: set[int] = set()
    at, labels = m.end(), 1
    while labels <= MAX_DOMAIN_LABELS:
        dot = _DOMAIN_DOT.match(text, at)
        if dot is None:
            break
        spaced = [dot.start(g) for g in (1, 2) if dot.end(g) > dot.start(g)]
        label = dot.group(3)
        if spaced and (not label.islower() or (labels > 1 and label not in _COMMON_TLDS)):
            break
        spaces.update(spaced)
        at, labels = dot.end(), labels + 1
    return spaces


def _spaces_in_address(text: str) -> set[int]:
    spaces: set[int] = set()
    for m in _SPACED_AT.finditer(text):
        spaces.update(m.start(g) for g in (1, 2) if m.end(g) > m.start(g))
        spaces.update(_spaces_in_domain(text, m.end()))
    return spaces


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
        dropped = _spaces_in_address(text) if "@" in text else set()
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
# Rows read together along a chain of wrapped rows: windows of this many rows, each sharing
# this many with the next, so an item over up to CHAIN_OVERLAP + 1 rows lies whole in one.
CHAIN_WINDOW = 8
CHAIN_OVERLAP = 3
MAX_CHAIN_ROWS = 400


class LineHits:
    """Detector hits for the lines on screen, cached by text since most lines stay put."""

    def __init__(self, scrubber: TextScrubber) -> None:
        self.scrubber = scrubber
        self._cache: dict[str, list[Hit]] = {}
        # The joins of the lines last seen, by their geometry (see join_geometry).
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
        key = tuple(join_geometry(ln) for ln in lines)
        if key != self._joins[0]:
            self._joins = (key, joined_lines(lines))
        return self._joins[1]

    def find(self, lines: Sequence[TextBox]) -> list[list[Hit]]:
        """For each line, the character ranges to cover."""
        readings = [Reading.of(line) for line in lines]
        hits = [self.line_hits(line, r) for line, r in zip(lines, readings, strict=True)]
        joins = self.joins(lines)
        for join in joins:
            first, second = readings[join.first], readings[join.second]
            on_first, on_second = joined_hits(first.text, second.text, join, self.text_hits)
            hits[join.first] += self._on_line(first, on_first)
            hits[join.second] += self._on_line(second, on_second)
        for index, found in self._chain_hits(readings, joins):
            hits[index] += self._on_line(readings[index], found)
        for index in private_key_lines(lines):
            hits[index].append(Hit("PRIVATE_KEY", 0, len(lines[index].text)))
        for index in labelled_key_cells(lines):
            hits[index].append(Hit("SECRET", 0, len(lines[index].text)))
        return hits

    def _chain_hits(
        self, readings: Sequence[Reading], joins: Sequence[Join]
    ) -> Iterable[tuple[int, list[Hit]]]:
        """Items wrapped over three rows or more (a JWT in a narrow terminal): the rows of a
        chain of joins read as one text, in overlapping windows. Only matches that run over
        at least three rows are taken; two rows are the joins' own business."""
        following = {j.first: j for j in joins}
        preceded = {j.second for j in joins}
        for head in following:
            if head in preceded:
                continue
            chain = [head]
            while chain[-1] in following and len(chain) <= MAX_CHAIN_ROWS:
                chain.append(following[chain[-1]].second)
            for part in _unbroken_parts(chain, readings):
                seps = [min(following[i].separators, key=len) for i in part[:-1]]
                step = CHAIN_WINDOW - CHAIN_OVERLAP
                for at in range(0, max(1, len(part) - CHAIN_OVERLAP), step):
                    window = part[at : at + CHAIN_WINDOW]
                    yield from self._window_hits(readings, window, seps[at : at + len(window) - 1])

    def _window_hits(
        self, readings: Sequence[Reading], window: list[int], seps: list[str]
    ) -> Iterable[tuple[int, list[Hit]]]:
        starts: list[int] = []
        text = ""
        for k, index in enumerate(window):
            if k:
                text += seps[k - 1]
            starts.append(len(text))
            text += readings[index].text
        for hit in self.text_hits(text):
            rows = [
                k
                for k, start in enumerate(starts)
                if start < hit.end and hit.start < start + len(readings[window[k]].text)
            ]
            if len(rows) < 3:
                continue
            for k in rows:
                start, length = starts[k], len(readings[window[k]].text)
                a, b = max(hit.start, start) - start, min(hit.end, start + length) - start
                if b > a:
                    yield window[k], [Hit(hit.category, a, b)]


def _unbroken_parts(chain: list[int], readings: Sequence[Reading]) -> Iterable[list[int]]:
    """The parts of a chain of wrapped rows that an item over three rows or more can lie
    in: a run of rows that read as one token (not as words, see _NOT_KEY_ROW), with the rows
    either side, where such an item begins and ends. An item that runs over a row covers it
    whole, and no detected item is words apart. The rows of `top` or of a log, as wide as
    their terminal, chain up on every frame and are words: they cost nothing here."""
    start = None
    for k in range(1, len(chain) - 1):
        unbroken = not _NOT_KEY_ROW.search(readings[chain[k]].text.strip())
        if unbroken and start is None:
            start = k
        elif not unbroken and start is not None:
            yield chain[start - 1 : k + 1]
            start = None
    if start is not None:
        yield chain[start - 1 :]


# A PEM private key is one item from its BEGIN line to its END line: every row between them is
# key material, read well or badly. Where the END line is not visible (scrolled off, not yet
# printed), the rows go on to the end of the visible block.
_PEM_BEGIN = re.compile(r"(?i)BEGIN[ A-Z0-9]{0,30}PRIVATE ?KEY")
_PEM_END = re.compile(r"(?i)END[ A-Z0-9]{0,30}PRIVATE ?KEY")
# A row of a key's body as read: base64, with a few spaces or misread marks at most.
_PEM_BODY = re.compile(r"^[A-Za-z0-9+/=]{16,}(?:[ .,:;|'\-][A-Za-z0-9+/=]{2,}){0,4}$")


# Three spaces or more between words: a row of ordinary output, never base64 key material
# (the engine puts at most a stray space or two inside a body row).
_NOT_KEY_ROW = re.compile(r"\S+ \S+ \S+ \S")


def private_key_lines(lines: Sequence[TextBox]) -> list[int]:
    """The lines that are part of a private key block (not its BEGIN line, which the
    detectors find), in the block of rows below a BEGIN line or above an END line."""
    found: list[int] = []
    for i, line in enumerate(lines):
        if _PEM_BEGIN.search(line.text):
            for row in column_rows(lines, i, 1):
                if any(_PEM_END.search(lines[k].text) for k in row):
                    found += row
                    break
                if any(_NOT_KEY_ROW.search(lines[k].text.strip()) for k in row):
                    break  # words: the output after the key (its END row misread)
                found += row
        elif _PEM_END.search(line.text):
            found.append(i)
            # The rows above, up to the BEGIN line or as far as they read as key material.
            for row in column_rows(lines, i, -1):
                if any(_PEM_BEGIN.search(lines[k].text) for k in row):
                    break
                if not all(_PEM_BODY.match(lines[k].text.strip()) for k in row):
                    break
                found += row
    return sorted(set(found))
