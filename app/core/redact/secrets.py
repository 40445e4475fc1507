"""Secrets in text: private keys, access tokens of known shapes, credentials in URLs, values
after a word that names a secret, and long random tokens that stand alone.

A word such as "password" or "token" is only a reason to look at what follows it. Source code
is full of such words followed by expressions (`token = request.headers.get(...)`,
`API_KEY = os.environ["API_KEY"]`) and of placeholders (`<redacted>`, `changeme`, `***`);
those are kept. A value is a literal that could be the secret itself.

Without such a word, a token is taken for a secret when it looks random: long, made of
letters of both cases and digits, with few word-like runs. Hexadecimal strings are left alone
on purpose: commits, checksums and digests (git, sha256sum, container images, lock files) are
written in hex and fill code and logs, and a hex key is rarely shown without a word naming it
(which the keyword rules catch). UUIDs are hex too.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from app.core.redact.text import WEAK_CATEGORY, Hit

PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----"
    r"(?:.{0,10000}?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----|.{0,10000})",
    re.DOTALL,
)
# scheme://user:password@host. The user part uses the characters URLs allow there (no "["
# of an IPv6 host, no "/"). Without an "@" (OCR read it as "e" or "q", or the line wrapped
# before it) the part after the colon is still a password unless it is a port number.
_SCHEME = r"(?<![A-Za-z0-9+.\-])[a-zA-Z][a-zA-Z0-9+.\-]{0,15}://"
_USERINFO = r"[A-Za-z0-9._~%!$&'()*+,;=\-]{0,128}"
URL_CREDENTIALS = re.compile(rf"{_SCHEME}{_USERINFO}:[^\s/@]{{1,128}}@")
URL_CREDENTIALS_NO_AT = re.compile(rf"{_SCHEME}{_USERINFO}:(?!\d+(?![^\s/?#]))[^\s/@]{{1,256}}")
# A word glued to a common scheme ("onboardinghttps://", where OCR dropped the space or a row
# was joined to the one before) is not part of the URL.
_GLUED_SCHEME = re.compile(r"(?i)[a-z]{3,}?(https?|ftps?|sftp|ssh|git|wss?)://")

TOKENS: list[tuple[str, re.Pattern[str]]] = [
    # On screen, tokens are often glued to the words around them, so they are delimited by
    # what they are made of rather than by \b. A key followed by a capitalised word
    # ("...CFWLLanguage") still ends where the word begins.
    (
        "AWS_KEY",
        re.compile(
            r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}(?![0-9]|[A-Z](?![a-z]))"
        ),
    ),
    # Prefixes distinctive enough to need no boundary on the left ("tokenghp_...").
    (
        "GITHUB_TOKEN",
        re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ),
    # The x may be a capital one where a token starts a sentence or OCR reads it so.
    ("SLACK_TOKEN", re.compile(r"\b[xX]ox[abposr]-[A-Za-z0-9\-]{10,250}\b")),
    ("GOOGLE_API_KEY", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("STRIPE_KEY", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,247}\b")),
    (
        "API_KEY",
        re.compile(
            r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,250}|glpat-[A-Za-z0-9_\-]{20,64}|"
            r"npm_[A-Za-z0-9]{36}|hf_[A-Za-z0-9]{30,40}|SG\.[\w\-]{22}\.[\w\-]{43})(?![\w\-])"
        ),
    ),
    # "eyJ" is '{"' in base64: every JSON header and payload starts with it.
    ("JWT", re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
]

# "password: hunter2", "DB_PASSWORD=...", "SECRET_KEY = ...", "apiKey: ...".
# Names may end identifiers (DB_PASSWORD, REDIS_AUTH; a bare "auth" is a log word) or start
# a camel-case part (accessToken); OCR may read o as 0 and s as 5.
# In prose and on screen the parts of a name may be apart ("API key:", "Secret key =", OCR
# reading SECRET_KEY's underscore as a space).
_NAME = (
    r"(?:pa[s5]{2}(?:w[o0]rd|wd|phrase)?|pwd|secret|token|(?<=_)auth|api[_\- ]?key|"
    r"access[_\- ]?key|"
    r"private[_\- ]?key|auth[_\- ]?key|client[_\- ]?secret|credentials?)"
    r"(?:[_\-. ]?(?:key|token|secret|value|string|hash|b64|base64))?"
)
_NAME_START = r"(?:(?<![A-Za-z0-9])|(?-i:(?<=[a-z0-9])(?=[A-Z])))"
# Quotes end a value, typographic ones included (OCR reads ' as ’ or ′).
_VALUE = r"[^\s\"'=`‘’′“”″´＇＂«»‹›„‚]"
KEYWORD_VALUE = re.compile(
    rf"(?i){_NAME_START}{_NAME}(?![A-Za-z0-9])[\"']?\s{{0,3}}(:=|=>|[:=])\s{{0,3}}[\"']?"
    rf"((?:bearer|basic|token)\s+)?({_VALUE}{{4,256}})"
)
# "--password hunter2", "--api-key abc...": a command-line option and its argument.
KEYWORD_OPTION = re.compile(
    rf"(?i)(?<![\w\-])--(?:[a-z0-9]{{1,20}}-){{0,3}}{_NAME}(?:-[a-z0-9]{{1,20}}){{0,2}}"
    rf"\s{{1,3}}[\"']?(?!-)({_VALUE}{{4,256}})"
)
# "the new key is 4f2a...": a plain "key" too, unless a word before it says it is no secret.
KEYWORD_IS_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9])(?:{_NAME}|(key))\s+(?:is|was)\s+[\"']?"
    r"((?=[^\s\"']*[A-Za-z])(?=[^\s\"']*\d)[^\s\"']{4,128})"
)
# Keys that are not secrets: a public key, database and sort keys, keyboard shortcuts.
NOT_SECRET_KEY = re.compile(
    r"(?i)\b(?:public|primary|foreign|sort|partition|row|cache|shortcut|hot|keyboard|"
    r"license|product|idempotency|lookup)\b"
)
# "API key 4f2a...", "token  9c1e...": a name and, after a space, key material (letters and
# digits, 16 or more, not a path or an option): a label and its value without a colon.
KEYWORD_SPACE_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9]){_NAME}(?![A-Za-z0-9])[ \t]{{1,8}}(?![/.\-])"
    r"((?=[A-Za-z0-9+/_\-]*\d)(?=[A-Za-z0-9+/_\-]*[A-Za-z])[A-Za-z0-9+/_\-]{16,512}={0,2})"
    r"(?![^\s,;)])"
)
# "webhook_key = 2f6c...", "signingKey: ...": any other name that ends in "key" (and no word
# of it says the key is a lookup key or a public one, see NOT_SECRET_KEY_PARTS) names a secret
# when its value is key material, letters and digits with nothing of a path or a key name.
KEY_NAME_VALUE = re.compile(
    r"(?<![A-Za-z0-9_\-.])((?i:(?:[a-z0-9]{2,24}[_\-.]){1,3}key)|"
    r"[a-z][a-z0-9]{1,23}(?:[A-Z][a-z0-9]{1,23}){0,2}Key)[\"']?\s{0,3}(?::=|=>|[:=])\s{0,3}[\"']?"
    r"((?=[A-Za-z0-9+/_\-]*\d)(?=[A-Za-z0-9+/_\-]*[A-Za-z])[A-Za-z0-9+/_\-]{16,512}={0,2})"
    r"(?![^\s,;)\"'])"
)
_NAME_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
NOT_SECRET_KEY_PARTS = frozenset(
    ("public", "primary", "foreign", "sort", "partition", "row", "cache", "shortcut", "hot")
    + ("keyboard", "license", "product", "idempotency", "lookup", "host", "verify")
    + ("verification", "s3", "object", "bucket", "map", "dict", "index", "group", "routing")
    + ("dedup", "unique", "composite", "translation", "i18n", "message", "storage", "cursor")
)


def names_a_lookup_key(name: str) -> bool:
    """Whether a name ending in "key" says what kind of key is not a secret (sort_key)."""
    return any(part.lower() in NOT_SECRET_KEY_PARTS for part in _NAME_PARTS.findall(name))


# "Authorization: Bearer abc...": the scheme is always followed by its credentials, so a scheme
# glued to them (OCR dropped the space) is still the scheme, not part of the secret.
AUTHORIZATION = re.compile(
    r"(?i)(?<![A-Za-z0-9])(?:proxy-)?authorization[\"']?\s{0,3}[:=]\s{0,3}[\"']?"
    rf"(?:(?:bearer|basic|token|digest|negotiate)\s*)?({_VALUE}{{4,256}})"
)
BEARER = re.compile(r"(?i)(?<![A-Za-z0-9])bearer\s+([A-Za-z0-9._~+/\-]{12,}=*)")
# The MySQL and MariaDB clients take the password glued to -p ("mysql -uroot -pS3cr3t!"; a
# lone -p asks for it, -P is the port); sshpass takes it after -p.
_MYSQL_CLIENT = r"(?i:mysql[a-z]*|mariadb(?:-[a-z]+)?|mycli)"
GLUED_PASSWORD_OPTION = re.compile(
    rf"(?<![\w\-.]){_MYSQL_CLIENT}(?=\s)[^\n|;&]{{0,200}}?\s-p[\"']?(?!-)({_VALUE}{{1,256}})"
)
SSHPASS = re.compile(rf"(?<![\w\-.])sshpass\s+-p\s*[\"']?({_VALUE}{{1,256}})")

# -- values, not expressions ------------------------------------------------------------
_PLACEHOLDERS = frozenset(
    (
        "redacted",
        "replace_me",
        "replaceme",
        "changeme",
        "change_me",
        "changeit",
        "change-me",
        "placeholder",
        "example",
        "dummy",
        "secret",
        "secrets",
        "password",
        "passwd",
        "token",
        "none",
        "null",
        "nil",
        "undefined",
        "true",
        "false",
        "todo",
        "tbd",
        "notset",
        "not_set",
        "unset",
        "empty",
        "required",
        "optional",
        "hidden",
        "masked",
        "sample",
        "test",
        "string",
        "str",
        "bytes",
        "int",
        "number",
        "boolean",
        "bool",
        "any",
        "object",
        "dict",
        "list",
        "text",
        "varchar",
        "input",
        "prompt",
        "getpass",
        "self",
        "this",
        "await",
        "new",
        "function",
        "lambda",
        "return",
        "const",
        "let",
        "var",
        "void",
        "env",
        "environ",
        "config",
        "settings",
    )
)
_TEMPLATE = re.compile(
    r"(?i)^(?:[$%]|\{|<[^>]*>|\[[^\]]*\]|process\.env|os\.(?:environ|getenv)|env\(|"
    r"(?:your|my|insert|enter|put|replace|add)[_\-]|.*_here$)"
)
_NUMBER_LITERAL = re.compile(r"^0[xob][0-9a-fA-F_]{1,16}$")
_MASK = re.compile(r"^[x*•●·.#_\-]+$", re.IGNORECASE)
# An identifier, a dotted path, then a call or a subscript: request.headers.get(, os.environ[
_EXPRESSION = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:[(\[]|$)")
_DOTTED = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+[,;)]*$")
# Ends in a call whose arguments begin with a string or nothing: `getpass.getpass("`, also as
# OCR reads it (`getpass+getpass(`).
_CALL_AT_END = re.compile(r"[A-Za-z_][\w$]{2,}\($")


def is_literal(value: str, assignment: str = ":") -> bool:
    """Whether a value after a secret-naming word could be the secret: not a placeholder, a
    template, a mask, a call, a subscript or an attribute path. After "=" (code), a bare
    identifier without digits is a variable, not a password."""
    core = value.rstrip(",;):")
    lowered = core.lower()
    if lowered in _PLACEHOLDERS or _MASK.match(core) or _TEMPLATE.match(core):
        return False
    if _NUMBER_LITERAL.match(core):
        return False  # ES_PASSWORD = 0x0020: a flag's value
    if _DOTTED.match(core) or _CALL_AT_END.search(value):
        return False
    m = _EXPRESSION.match(core)
    if m and core[m.end() - 1 : m.end()] in ("(", "["):
        return False
    # After "=" a bare identifier without digits is a variable: `token = token_value`.
    return not (
        assignment != ":" and m and m.end() == len(core) and not any(c.isdigit() for c in core)
    )


# -- random-looking tokens ----------------------------------------------------------------
_TOKEN_RUN = re.compile(r"(?<![A-Za-z0-9+/_\-.])[A-Za-z0-9+/_\-]{20,512}={0,2}(?![A-Za-z0-9+/_\-])")
_HEXISH = frozenset("0123456789abcdefABCDEF-")
# The category of a token found by its looks alone. It yields to any other hit it overlaps: a
# random-looking run that holds a token of a known kind ("testkeyAKIA...", an IBAN glued to a
# word) is that item and the word glued to it, not one long key.
RANDOM_TOKEN = WEAK_CATEGORY
# Words and acronyms inside a run: camel-case identifiers (setHorizontalScrollBarPolicy) are
# almost all words; in a random base62 key of 32 characters about a quarter of the characters
# fall in such runs by chance, rarely more than half.
_WORDLIKE = re.compile(r"[A-Z]?[a-z]{3,}")
MAX_WORDLIKE_SHARE = 0.6
# Four digits or ten small letters in a row: a year, a count or words glued together. In a
# random base62 key of 40 characters either happens about once in forty.
_GLUED_TEXT = re.compile(r"\d{4}|[a-z]{10}")
MIN_TOKEN_ENTROPY = 3.6  # bits per character; random base62 of 20 gives 3.9 or more


# A word in small letters glued to a code in capitals and digits ("reference1ZW2ABIW2MWPSF03WA",
# where OCR dropped the space): the case is mixed only by the word. In a random key small and
# capital letters are mixed all along.
_WORD_GLUED_TO_CODE = re.compile(
    r"^(?:[A-Z]?[a-z]{3,}[A-Z0-9_\-+/]+|[A-Z0-9_\-+/]+[A-Z]?[a-z]{3,})$"
)


def wordlike_share(token: str) -> float:
    """The share of a token's characters that fall in runs reading as words."""
    return sum(len(w) for w in _WORDLIKE.findall(token)) / max(1, len(token))


def looks_random(token: str) -> bool:
    """Whether a run of base64/base62 characters looks like a generated key: letters of both
    cases (and digits in a short one), few runs that read as words, and high entropy.
    Hexadecimal runs are digests (see the module notes); many slashes make a path."""
    body = token.rstrip("=")
    n = len(body)
    if n < 20 or all(c in _HEXISH for c in body):
        return False
    if not any(c.isupper() for c in body) or not any(c.islower() for c in body):
        return False
    if n < 24 and not any(c.isdigit() for c in body):
        return False  # short and without digits: as likely a word run together
    if body.count("/") > n // 16 + 1 or body.count("-") + body.count("_") > n // 8:
        return False  # a path or a long-winded identifier
    if wordlike_share(body) >= MAX_WORDLIKE_SHARE:
        return False
    if _GLUED_TEXT.search(body) or _WORD_GLUED_TO_CODE.match(body):
        return False  # words or a number run together, as OCR reads them without spaces
    counts = Counter(body)
    entropy = -sum(k / n * math.log2(k / n) for k in counts.values())
    return entropy >= MIN_TOKEN_ENTROPY


def random_tokens(text: str) -> Iterable[Hit]:
    for m in _TOKEN_RUN.finditer(text):
        if looks_random(m.group()):
            yield Hit(RANDOM_TOKEN, m.start(), m.end())


def secrets(text: str) -> Iterable[Hit]:
    for m in PRIVATE_KEY.finditer(text):
        yield Hit("PRIVATE_KEY", m.start(), m.end())
    if "://" in text:
        for pattern in (URL_CREDENTIALS, URL_CREDENTIALS_NO_AT):
            for m in pattern.finditer(text):
                glued = _GLUED_SCHEME.match(m.group())
                yield Hit("URL_CREDENTIALS", m.start() + (glued.start(1) if glued else 0), m.end())
    for category, pattern in TOKENS:
        for m in pattern.finditer(text):
            yield Hit(category, m.start(), m.end())
    for m in KEYWORD_VALUE.finditer(text):
        if is_literal(m.group(3), m.group(1)):
            yield Hit("SECRET", m.start(3), m.end(3))
    for m in KEYWORD_OPTION.finditer(text):
        if is_literal(m.group(1), "="):
            yield Hit("SECRET", m.start(1), m.end(1))
    for m in KEYWORD_IS_VALUE.finditer(text):
        before = text[max(0, m.start() - 16) : m.start()].split()
        if m.group(1) and before and NOT_SECRET_KEY.match(before[-1]):
            continue  # "the cache key is 9f2c...": a digest
        if is_literal(m.group(2)):
            yield Hit("SECRET", m.start(2), m.end(2))
    for m in KEY_NAME_VALUE.finditer(text):
        if not names_a_lookup_key(m.group(1)) and is_literal(m.group(2)):
            yield Hit("SECRET", m.start(2), m.end(2))
    for pattern in (KEYWORD_SPACE_VALUE, AUTHORIZATION, BEARER, GLUED_PASSWORD_OPTION, SSHPASS):
        for m in pattern.finditer(text):
            if is_literal(m.group(1)):
                yield Hit("SECRET", m.start(1), m.end(1))
    yield from random_tokens(text)
