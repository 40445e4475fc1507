"""Labelled synthetic text for the redaction evaluation: personal data and secrets embedded in
ordinary text, generated from a fixed seed so every run sees the same corpus.

Text is built from fragments. A fragment is either one labelled item (a piece of personal
data, or one ordinary word or number that must stay readable) or unlabelled filler (spaces,
punctuation glued to personal data). The screen builders draw the fragments and compute a box
for each labelled one; the typing evaluation types them.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import string
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.us import ssn as stdnum_ssn

# What the quality targets are measured on: data with a fixed shape that a detector can know.
STRUCTURED = (
    "EMAIL",
    "PHONE",
    "CARD",
    "IBAN",
    "SSN",
    "AWS_KEY",
    "GITHUB_TOKEN",
    "JWT",
    "TOKEN",  # a random token with no word beside it (a table cell, a dashboard)
    "PRIVATE_KEY",  # the body rows of a PEM block, on screen only
)
# What is typed: a private key is pasted, not typed, and spans lines.
TYPED_STRUCTURED = tuple(c for c in STRUCTURED if c != "PRIVATE_KEY")
# Also generated, reported on their own rows: values behind a secret-naming word depend on the
# word, and names have no detector at all (there is no named-entity step).
CONTEXTUAL = ("SECRET",)
OUT_OF_SCOPE = ("NAME",)
PII_CATEGORIES = STRUCTURED + CONTEXTUAL + OUT_OF_SCOPE

# Kinds of ordinary text. All but "word" look like numbers or codes and are the hard cases.
NEGATIVE_KINDS = (
    "word",
    "date",
    "time",
    "version",
    "order_id",
    "amount",
    "ip",
    "hash",
    "uuid",
    "count",
)

PHONE_COUNTRIES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "ja_JP")
IBAN_COUNTRIES = ("de_DE", "fr_FR", "en_GB", "nl_NL", "es_ES", "it_IT", "pl_PL")
_B32 = string.ascii_uppercase + "234567"
_ALNUM = string.ascii_letters + string.digits
_B64URL = string.ascii_letters + string.digits + "-_"


@dataclass(frozen=True)
class Item:
    """One labelled piece of text. `category` is a PII category or a negative kind."""

    tag: str
    category: str
    text: str
    pii: bool
    variant: str = ""

    @property
    def structured(self) -> bool:
        return self.category in STRUCTURED


@dataclass
class Text:
    """A line or paragraph: fragments of (text, tag or None), and the labelled items."""

    fragments: list[tuple[str, str | None]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @property
    def plain(self) -> str:
        return "".join(t for t, _ in self.fragments)

    def spans(self) -> dict[str, tuple[int, int]]:
        """Character range of every labelled fragment in `plain`."""
        out, pos = {}, 0
        for text, tag in self.fragments:
            if tag is not None:
                out[tag] = (pos, pos + len(text))
            pos += len(text)
        return out


@dataclass(frozen=True)
class Pii:
    category: str
    text: str
    variant: str


_FIELD = re.compile(r"\{(\w+)\}")


class Corpus:
    """Generators of personal data, secrets, ordinary words and look-alike numbers."""

    def __init__(self, seed: int, region: str = "US") -> None:
        self.rng = random.Random(seed)
        self.region = region
        self._fakers: dict[str, Faker] = {}
        self._tags = itertools.count()
        self.seed = seed

    def faker(self, locale: str = "en_US") -> Faker:
        if locale not in self._fakers:
            fake = Faker(locale)
            fake.seed_instance(self.seed * 1000 + len(self._fakers))
            self._fakers[locale] = fake
        return self._fakers[locale]

    def tag(self) -> str:
        return f"t{next(self._tags)}"

    # -- personal data and secrets -----------------------------------------------------
    def pii(self, category: str) -> Pii:
        return getattr(self, category.lower())()

    def email(self) -> Pii:
        fake = self.faker()
        style = self.rng.choice(("faker", "free", "company", "dotted", "plus"))
        if style == "faker":
            text = fake.email()
        elif style == "free":
            text = fake.free_email()
        elif style == "company":
            text = fake.company_email()
        elif style == "dotted":
            first, last = fake.first_name().lower(), fake.last_name().lower()
            domain = self.rng.choice(("mail.example.co.uk", "corp.example.de", "example.org"))
            text = f"{first}.{last}@{domain}"
        else:
            text = f"{fake.user_name()}+{self.rng.choice(('news', 'billing', 'x1'))}@gmail.com"
        return Pii("EMAIL", text, style)

    def phone(self) -> Pii:
        locale = self.rng.choice(PHONE_COUNTRIES)
        country = locale.split("_")[1]
        fake = self.faker(locale)
        fmt = phonenumbers.PhoneNumberFormat
        for _ in range(1000):
            raw = re.split(r"\s*(?:x|ext\.?)\s*\d+$", fake.phone_number())[0]
            try:
                number = phonenumbers.parse(raw, country)
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(number):
                continue
            # National formats of every country generated here are expected to be found,
            # whatever the machine's own locale (the recorder reads a broad set of them).
            styles = ["international", "e164", "as-generated", "national", "00"]
            style = self.rng.choice(styles)
            if style == "as-generated":
                text = raw
            elif style == "national":
                text = phonenumbers.format_number(number, fmt.NATIONAL)
            elif style == "international":
                text = phonenumbers.format_number(number, fmt.INTERNATIONAL)
            elif style == "00":
                text = "00" + phonenumbers.format_number(number, fmt.INTERNATIONAL)[1:]
            else:
                text = phonenumbers.format_number(number, fmt.E164)
            return Pii("PHONE", text, f"{country}-{style}")
        raise RuntimeError(f"no valid phone number generated for {locale}")

    def card(self) -> Pii:
        number = self.faker().credit_card_number()
        assert luhn.is_valid(number)
        style = self.rng.choice(("plain", "spaced", "spaced", "dashed", "dotted"))
        if style == "plain":
            text = number
        else:
            sizes = (4, 6, 5) if len(number) == 15 else (4,) * 5
            groups, pos = [], 0
            for size in sizes:
                if pos < len(number):
                    groups.append(number[pos : pos + size])
                    pos += size
            if pos < len(number):
                groups[-1] += number[pos:]
            text = {"spaced": " ", "dashed": "-", "dotted": "."}[style].join(groups)
        return Pii("CARD", text, f"{len(number)}-digit {style}")

    def iban(self) -> Pii:
        locale = self.rng.choice(IBAN_COUNTRIES)
        value = self.faker(locale).iban()
        assert stdnum_iban.is_valid(value)
        style = self.rng.choice(("compact", "grouped", "lower"))
        text = value if style == "compact" else " ".join(re.findall(".{1,4}", value))
        if style == "lower":
            text = text.lower()
        return Pii("IBAN", text, f"{value[:2]} {style}")

    def ssn(self) -> Pii:
        while True:
            value = self.faker().ssn()
            if stdnum_ssn.is_valid(value):
                style = self.rng.choice(("dashed", "dashed", "dotted"))
                return Pii("SSN", value if style == "dashed" else value.replace("-", "."), style)

    def ssn_compact(self) -> Pii:
        """Nine digits without separators: only recognisable beside a word that names them,
        so templates use it where one does."""
        value = self.ssn().text
        return Pii("SSN", re.sub(r"\D", "", value), "compact")

    def aws_key(self) -> Pii:
        prefix = self.rng.choice(("AKIA", "AKIA", "ASIA"))
        return Pii("AWS_KEY", prefix + "".join(self.rng.choices(_B32, k=16)), prefix)

    def github_token(self) -> Pii:
        kind = self.rng.choice(("ghp", "ghp", "gho", "github_pat"))
        if kind == "github_pat":
            body = "".join(self.rng.choices(_ALNUM, k=22)) + "_"
            body += "".join(self.rng.choices(_ALNUM, k=59))
            return Pii("GITHUB_TOKEN", "github_pat_" + body, kind)
        return Pii("GITHUB_TOKEN", f"{kind}_" + "".join(self.rng.choices(_ALNUM, k=36)), kind)

    def jwt(self) -> Pii:
        def b64(obj: dict[str, object]) -> str:
            raw = json.dumps(obj, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        style = self.rng.choice(("HS256", "HS256", "RS256 long"))
        header = b64({"alg": style.split()[0], "typ": "JWT"})
        claims: dict[str, object] = {"sub": str(self.rng.randrange(10**6)), "iat": 1700000000}
        if style != "HS256":
            # An identity token with claims and a 2048-bit signature: several rows long.
            fake = self.faker()
            claims |= {"name": fake.name(), "email": fake.email(), "scope": "openid profile"}
        signature = "".join(self.rng.choices(_B64URL, k=43 if style == "HS256" else 342))
        return Pii("JWT", f"{header}.{b64(claims)}.{signature}", style)

    def token(self) -> Pii:
        """A generated key with no prefix or word to know it by: base62 or base64url."""
        style = self.rng.choice(("base62", "base64url"))
        alphabet = _ALNUM if style == "base62" else _B64URL
        while True:
            text = "".join(self.rng.choices(alphabet, k=self.rng.choice((24, 32, 40))))
            if text[0] not in "-_" and text[-1] not in "-_":
                return Pii("TOKEN", text, style)

    def private_key_rows(self, rows: int) -> list[str]:
        """The base64 body of a PEM private key, 64 characters a row."""
        raw = bytes(self.rng.randrange(256) for _ in range(48 * rows))
        body = base64.b64encode(raw).decode()
        return [body[i : i + 64] for i in range(0, len(body), 64)]

    def secret(self) -> Pii:
        style = self.rng.choice(("password", "hex"))
        if style == "password":
            value = self.faker().password(length=self.rng.randint(10, 16), special_chars=False)
        else:
            value = "".join(self.rng.choices("0123456789abcdef", k=32))
        return Pii("SECRET", value, style)

    def name(self) -> Pii:
        return Pii("NAME", self.faker().name(), "full name")

    # -- ordinary text ---------------------------------------------------------------
    def negative(self, kind: str) -> str:
        r = self.rng
        year = r.randint(2019, 2026)
        month, day = r.randint(1, 12), r.randint(1, 28)
        if kind == "date":
            return r.choice(
                (
                    f"{year}-{month:02d}-{day:02d}",
                    f"{day:02d}/{month:02d}/{year}",
                    f"{month}/{day}/{year}",
                    f"{day:02d}.{month:02d}.{year}",
                )
            )
        if kind == "time":
            return f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"
        if kind == "version":
            return r.choice(
                (
                    f"v{r.randint(0, 12)}.{r.randint(0, 40)}.{r.randint(0, 99)}",
                    f"{r.randint(1, 5)}.{r.randint(0, 20)}.{r.randint(0, 9)}-rc{r.randint(1, 4)}",
                    f"{year}.{month}.{r.randint(1, 9)}",
                )
            )
        if kind == "order_id":
            return r.choice(
                (
                    f"ORD-{year}-{r.randint(0, 999999):06d}",
                    f"#{r.randint(10**7, 10**8 - 1)}",
                    f"INV-{year}-{r.randint(1, 9999):04d}",
                    # Amazon-style 3-7-7 digits: looks like phone numbers glued together.
                    f"{r.randint(100, 999)}-{r.randint(10**6, 10**7 - 1)}-{r.randint(10**6, 10**7 - 1)}",
                    f"{r.randint(10**9, 10**10 - 1)}",
                )
            )
        if kind == "amount":
            return r.choice(
                (
                    f"${r.randint(1, 9)},{r.randint(0, 999):03d}.{r.randint(0, 99):02d}",
                    f"€{r.randint(1, 999)}.{r.randint(0, 99):02d}",
                    f"{r.randint(1, 99999)}.{r.randint(0, 99):02d}",
                )
            )
        if kind == "ip":
            return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        if kind == "hash":
            return "".join(r.choices("0123456789abcdef", k=r.choice((7, 12))))
        if kind == "uuid":
            return str(self.faker().uuid4())
        if kind == "sha256":
            return "".join(r.choices("0123456789abcdef", k=64))
        if kind == "year":
            return str(year)
        if kind == "count":
            return str(
                r.choice((r.randint(0, 999), r.randint(1000, 99999), r.randint(10**5, 10**7)))
            )
        raise ValueError(kind)

    def sentence(self, words: int = 8) -> str:
        return self.faker().sentence(nb_words=words).rstrip(".")

    # -- assembling text ---------------------------------------------------------------
    def fill(self, template: str) -> Text:
        """Build a Text from a template: {CATEGORY} is personal data, {kind} ordinary text of
        that kind, {sentence} a few ordinary words; the rest is literal ordinary text."""
        out = Text()
        pos = 0
        pieces: list[tuple[str, str | None]] = []  # (text, PII category or negative kind)
        for m in _FIELD.finditer(template):
            if m.start() > pos:
                pieces.append((template[pos : m.start()], "word"))
            name = m.group(1)
            if name.isupper():
                pieces.append((name, None))
            elif name == "sentence":
                pieces.append((self.sentence(self.rng.randint(3, 8)), "word"))
            elif name == "word":
                pieces.append((self.faker().word(), "word"))
            else:
                pieces.append((self.negative(name), name))
            pos = m.end()
        if pos < len(template):
            pieces.append((template[pos:], "word"))
        for i, (text, kind) in enumerate(pieces):
            if kind is None:
                self.add_pii(out, self.pii(text))
                continue
            glued_left = i > 0 and pieces[i - 1][1] is None
            glued_right = i + 1 < len(pieces) and pieces[i + 1][1] is None
            self.add_plain(out, text, kind, glued_left, glued_right)
        return out

    def add_pii(self, out: Text, pii: Pii) -> None:
        tag = self.tag()
        out.fragments.append((pii.text, tag))
        out.items.append(Item(tag, pii.category, pii.text, True, pii.variant))

    def add_plain(
        self,
        out: Text,
        text: str,
        kind: str,
        glued_left: bool = False,
        glued_right: bool = False,
    ) -> None:
        """Ordinary text, one labelled item per whitespace-separated token. A token touching
        personal data without a space ("user=" in "user=bob@x.org") is left unlabelled: any
        box over the data must touch it."""
        parts = re.split(r"(\s+)", text)
        for j, part in enumerate(parts):
            if not part:
                continue
            is_token = not part.isspace()
            first = all(not p for p in parts[:j])
            last = all(not p for p in parts[j + 1 :])
            glued = (first and glued_left) or (last and glued_right)
            core = part.strip(string.punctuation) if kind == "word" else part
            if not is_token or glued or not any(c.isalnum() for c in core):
                out.fragments.append((part, None))
                continue
            if kind == "word" and core != part:
                # Keep punctuation out of the labelled box: "done," -> "done" + ","
                lead = part[: part.index(core)]
                trail = part[part.index(core) + len(core) :]
                if lead:
                    out.fragments.append((lead, None))
                self._plain_item(out, core, kind)
                if trail:
                    out.fragments.append((trail, None))
            else:
                self._plain_item(out, part, kind)

    def _plain_item(self, out: Text, token: str, kind: str) -> None:
        tag = self.tag()
        out.fragments.append((token, tag))
        out.items.append(Item(tag, kind, token, False))


# -- templates -----------------------------------------------------------------------------
# Terminal lines: logs, shell commands and configuration, as a developer's screen shows them.
TERMINAL_TEMPLATES = (
    "{date} {time} INFO  auth: login ok user={EMAIL} ip={ip} took {count}ms",
    "{date} {time} WARN  billing: card {CARD} declined for order {order_id} amount {amount}",
    "{date} {time} DEBUG crm: callback for {NAME} on {PHONE} ticket {order_id}",
    "{date} {time} INFO  payouts: sent {amount} to {IBAN} ref {order_id}",
    "{date} {time} INFO  kyc: verified SSN {SSN} for applicant {uuid}",
    "export AWS_ACCESS_KEY_ID={AWS_KEY}",
    "export DB_PASSWORD={SECRET}",
    "$ git clone https://{GITHUB_TOKEN}@github.com/acme/{word}.git",
    "Authorization: Bearer {JWT}",
    "Authorization: Bearer {SECRET}",
    "curl -H 'Authorization: token {GITHUB_TOKEN}' https://api.github.com/user",
    "{sentence} {EMAIL} {sentence}",
    "{sentence} {PHONE} {sentence}",
    "{time} <{NAME}> you can text me at {PHONE} after {time}",
    "| {order_id} | {NAME} | {EMAIL} | {PHONE} | {amount} |",
    "| {order_id} | {CARD} | {date} | {amount} |",
    "{date} {time} ERROR payments: refund to {CARD} failed code {count}",
    "aws_access_key_id = {AWS_KEY}",
    "password: {SECRET}",
    "api_key={SECRET} region=eu-west-1 build={version}",
    "{date} {time} INFO  sepa mandate {order_id} iban={IBAN} status=active",
    "ssn={SSN} dob={date} case {order_id}",
    "ssn={SSN_COMPACT} dob={date} case {order_id}",
    "$ ./deploy.sh --version {version} --build {count} --commit {hash}",
    "{date} {time} INFO  http GET /api/v2/orders/{order_id} 200 {count}ms",
    "  {count} pts/3  {time} python3 worker.py --port {count} --id {uuid}",
    "{date} {time} INFO  {sentence} ({version}, {hash})",
    "Invoice {order_id} dated {date}: total {amount}, paid {date} at {time}",
    "{sentence} {count} {sentence} {date}",
    "| {word} | {TOKEN} | {date} | active |",
    "  {word}-api-key    {TOKEN}    created {date}",
    "SECRET_KEY = '{SECRET}'",
    "token = request.headers.get('X-{word}-Token')  # {sentence}",
    "password = getpass.getpass('Password for {word}: ')",
    "API_KEY = os.environ['API_KEY']",
    "api_key: <redacted>   # set in {word}.env",
    "$ git log --oneline -1 {hash}",
)

# Documents: sentences that carry personal data the way letters, tickets and notes do.
DOCUMENT_SENTENCES = (
    "You can reach {NAME} at {PHONE} or by mail at {EMAIL}.",
    "Please transfer the deposit of {amount} to {IBAN} before {date}.",
    "The card {CARD} was charged {amount} on {date} for invoice {order_id}.",
    "Her social security number is {SSN} according to the form dated {date}.",
    "The staging key {AWS_KEY} was rotated in release {version}.",
    "Use the token {GITHUB_TOKEN} only for the nightly build.",
    "The session cookie held {JWT} until it expired.",
    "The database password is {SECRET} until the audit.",
    "Send the signed copy to {EMAIL} and call {PHONE} if anything is unclear.",
    "Refunds go back to the original card, here {CARD}.",
    "{sentence}.",
    "{sentence}, {sentence}.",
    "Order {order_id} shipped on {date} at {time} and weighed {count} grams.",
    "Version {version} fixes the crash reported in ticket {order_id}.",
    "{sentence} on {date}.",
    "Direct debit from {IBAN} starts next month.",
    "The contractor gave {SSN} as the taxpayer number.",
)

# Typed text: what a person types into chat, forms, terminals and search boxes.
TYPED_TEMPLATES = {
    "EMAIL": ("my email is {EMAIL} thanks", "{EMAIL}", "send it to {EMAIL} please", "cc {EMAIL}"),
    "PHONE": ("call me at {PHONE}", "{PHONE}", "my number is {PHONE} after 6pm", "tel {PHONE}"),
    "CARD": ("card number {CARD} exp 09/27", "{CARD}", "pay with {CARD}", "use {CARD} cvc 123"),
    "IBAN": ("iban {IBAN}", "{IBAN}", "please wire it to {IBAN} today", "account {IBAN} ok"),
    "SSN": (
        "my ssn is {SSN}",
        "{SSN}",
        "SSN: {SSN}",
        "social {SSN} dob 01/02/1980",
        "ssn {SSN_COMPACT}",
        "SSN: {SSN_COMPACT}",
    ),
    "AWS_KEY": ("export AWS_ACCESS_KEY_ID={AWS_KEY}", "{AWS_KEY}", "key {AWS_KEY} works"),
    "GITHUB_TOKEN": ("git push https://{GITHUB_TOKEN}@github.com/a/b", "{GITHUB_TOKEN}"),
    "JWT": ("Authorization: Bearer {JWT}", "{JWT}", "token is {JWT} for staging"),
    "TOKEN": ("{TOKEN}", "the new key {TOKEN} works", "| prod | {TOKEN} |"),
    "SECRET": (
        "password: {SECRET}",
        "api_key={SECRET}",
        "the password is {SECRET}",
        "SECRET_KEY = '{SECRET}'",
        "mysql -u app --password {SECRET} -h db",
        'const accessToken = "{SECRET}";',
    ),
}
TYPED_NEGATIVE_TEMPLATES = (
    "{sentence}",
    "{sentence} {count}",
    "meeting on {date} at {time}",
    "upgrade to {version} tonight",
    "order {order_id} arrived",
    "invoice {order_id} total {amount}",
    "ping {ip}",
    "git checkout {hash}",
    "see ticket {order_id} from {date}",
    "{count} items for {amount}",
    "request id {uuid}",
    "{sentence} by {date}",
)

# Typed code without secrets: what a developer types into an editor or a shell. Many lines
# name secrets (token, password, API_KEY) but hold an expression, a placeholder or a digest,
# not a value; a redaction there is a false positive.
TYPED_CODE_NEGATIVE_TEMPLATES = (
    'token = request.headers.get("Authorization")',
    'password = getpass.getpass("Password: ")',
    'API_KEY = os.environ["API_KEY"]',
    'api_key = os.getenv("{word}_API_KEY")',
    "SECRET_KEY = os.environ.get('SECRET_KEY', '')",
    "const token = await getToken({word});",
    "const { accessToken } = useAuth();",
    "let password = form.password.value;",
    "if (!token) throw new Error('{sentence}');",
    "self.password = password",
    "def login(user: str, password: str) -> Token:",
    "password: str = Field(..., min_length={count})",
    "api_key: <redacted>",
    "password: REPLACE_ME",
    "DB_PASSWORD=changeme",
    'secret = "xxx"',
    "token: ***",
    "export GITHUB_TOKEN=$GITHUB_TOKEN_FROM_VAULT",
    'curl -H "Authorization: Bearer $TOKEN" https://api.example.com/v{count}/{word}',
    "password_hash = bcrypt.hashpw(password.encode(), salt)",
    "git checkout {hash}",
    "git cherry-pick {hash} && git push origin {word}",
    "docker pull registry.example.com/{word}@sha256:{sha256}",
    "echo {sha256}  {word}.tar.gz | sha256sum -c",
    "pip install {word}=={version}",
    "npm install {word}@{version} --save",
    "kubectl rollout restart deployment/{word} -n {word}",
    "SELECT * FROM orders WHERE id = {count} AND created > '{date}';",
    "for i in range({count}):",
    "logger.info('order %s paid %s', {count}, amount)",
    "assert response.status_code == {count}, response.text",
    "timeout = {count}  # seconds",
    "max_retries: {count}",
    "url: https://{word}.example.com:{count}/api",
    "DATABASE_URL=postgres://localhost:5432/{word}",
    "ssh -p {count} deploy@{ip}",
    "ping -c 4 {ip}",
    "request_id = '{uuid}'",
    'version = "{version}"',
    "cron: '{count} 3 * * *'",
    "token_type = 'bearer'",
    "refresh_token = response.json()['refresh_token']",
    "session_token = secrets.token_urlsafe({count})",
    "const API_BASE = 'https://api.example.com/v2';",
    "# rotate the api key every {count} days",
    "{word}_count += {count}",
    "elif order_id == {count}:",
    "invoice_total = round({amount}, 2)",
    "created_at = datetime({year}, 5, 1, 12, 30)",
    "getElementsByTagName('{word}').item({count})",
)
