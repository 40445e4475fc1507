"""Generators of personal data, secrets and look-alike ordinary values, written for this
evaluation alone (no Faker): every value is built from a seeded random source and checked
against the rule that makes it real (Luhn, ISO 13616 mod 97, libphonenumber validity, the
SSA's area/group/serial rules)."""

from __future__ import annotations

import base64
import json
import random
import string
import struct

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.us import ssn as stdnum_ssn

GIVEN = {
    "DE": ("Jonas", "Lena", "Matthias", "Sabine", "Jürgen", "Katrin", "Florian", "Anke"),
    "FR": ("Camille", "Mathieu", "Élodie", "Antoine", "Sandrine", "Julien", "Manon", "Rémi"),
    "GB": ("Oliver", "Harriet", "Callum", "Imogen", "Rhys", "Fiona", "Alistair", "Bethan"),
    "US": ("Tyler", "Brianna", "Marcus", "Jasmine", "Cody", "Shannon", "Dwayne", "Kelsey"),
}
FAMILY = {
    "DE": ("Brandt", "Köhler", "Vogel", "Hartmann", "Lindner", "Seidel", "Ostermann"),
    "FR": ("Lefèvre", "Moreau", "Garnier", "Chevalier", "Rousseau", "Fontaine", "Mercier"),
    "GB": ("Pritchard", "Whitfield", "Ashworth", "Hughes", "Barlow", "Kendrick", "Doyle"),
    "US": ("Ramirez", "Oconnell", "Whitaker", "Nguyen", "Hollis", "Castillo", "Brennan"),
}
MAIL_DOMAINS = {
    "DE": ("posteo.de", "gmx.net", "web.de", "kanzlei-vogel.de", "stadtwerke-nord.de"),
    "FR": ("orange.fr", "laposte.net", "free.fr", "cabinet-moreau.fr", "mairie-lyon.fr"),
    "GB": ("btinternet.com", "sky.com", "nhs.net", "whitfield-legal.co.uk", "council.gov.uk"),
    "US": ("outlook.com", "yahoo.com", "icloud.com", "hollis-dental.com", "uni.edu"),
}
_WORD_LIST = """
quarterly figures draft review meeting shipment warehouse pallet schedule
invoice supplier agreement renewal budget forecast migration cluster staging
rollout incident postmortem customer feedback survey onboarding training
laptop replacement printer toner office kitchen parking permit holiday
rota handover backlog sprint estimate blocker dependency release notes
appointment reminder follow-up proposal quote discount contract signature
delivery address changed moved confirmed pending cancelled approved rejected
tomorrow afternoon morning evening weekend Monday Thursday Friday lunch
coffee train delayed platform airport hotel booking receipt expenses claim
monitor keyboard battery charger adapter firmware update reboot restart
dashboard report export spreadsheet column filter total average chart
north south regional branch team lead manager director assistant intern
"""
WORDS = tuple(_WORD_LIST.split())
TLDS = ("internal", "corp.local", "example.net", "svc.cluster.local")
_B62 = string.ascii_letters + string.digits
_B32 = string.ascii_uppercase + "234567"
_HEX = "0123456789abcdef"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Values:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, seq):  # type: ignore[no-untyped-def]
        return self.rng.choice(seq)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    # -- people ----------------------------------------------------------------------
    def country(self) -> str:
        return self.pick(("DE", "FR", "GB", "US"))

    def person(self, country: str) -> tuple[str, str]:
        return self.pick(GIVEN[country]), self.pick(FAMILY[country])

    def email(self, country: str | None = None) -> tuple[str, str]:
        country = country or self.country()
        first, last = (_ascii(n.lower()) for n in self.person(country))
        style = self.pick(("first.last", "f.last", "firstlast", "first_last", "plus"))
        local = {
            "first.last": f"{first}.{last}",
            "f.last": f"{first[0]}.{last}",
            "firstlast": f"{first}{last}{self.rng.randint(1, 99)}",
            "first_last": f"{first}_{last}",
            "plus": f"{first}+{self.pick(('shop', 'work', 'lists'))}",
        }[style]
        return f"{local}@{self.pick(MAIL_DOMAINS[country])}", style

    def phone(self, country: str | None = None) -> tuple[str, str]:
        """A valid number in one of the ways people in `country` write it."""
        country = country or self.country()
        starts = {
            "DE": ("151", "160", "170", "172", "176", "30", "40", "89", "221", "711"),
            "FR": ("6", "7", "1", "4", "5"),
            "GB": ("7", "20", "161", "131", "113"),
            "US": ("212", "415", "617", "312", "503", "713"),
        }[country]
        fmt = phonenumbers.PhoneNumberFormat
        while True:
            nsn = self.pick(starts)
            length = {"DE": self.rng.randint(10, 11), "FR": 9, "GB": 10, "US": 10}[country]
            nsn += self.chars("0123456789", length - len(nsn))
            if country == "US":
                nsn = nsn[:3] + self.pick("23456789") + nsn[4:]
            try:
                number = phonenumbers.parse(nsn, country)
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(number):
                continue
            national = phonenumbers.format_number(number, fmt.NATIONAL)
            intl = phonenumbers.format_number(number, fmt.INTERNATIONAL)
            break
        cc = intl.split(" ")[0]
        style = self.pick(("national", "national", "00", "+", "variant"))
        if style == "national":
            text = national
        elif style == "00":
            text = "00" + intl[1:].replace("-", " ")
        elif style == "+":
            text = intl
        elif country == "DE":
            text = national.replace(" ", "/", 1)  # 0171/2345678
        elif country == "FR":
            text = national.replace(" ", ".")  # 06.12.34.56.78
        elif country == "GB":
            text = f"{cc} (0){intl[len(cc) :]}"  # +44 (0)7911 123456
        else:
            text = national.replace("(", "").replace(") ", ".").replace("-", ".")
        return text, f"{country} {style}"

    # -- money and ids ----------------------------------------------------------------
    def card(self) -> tuple[str, str]:
        brand = self.pick(("visa", "mastercard", "amex", "discover"))
        prefix, length = {
            "visa": ("4", 16),
            "mastercard": (str(self.rng.randint(51, 55)), 16),
            "amex": (self.pick(("34", "37")), 15),
            "discover": ("6011", 16),
        }[brand]
        body = prefix + self.chars("0123456789", length - len(prefix) - 1)
        digits = body + luhn_digit(body)
        groups = (
            [digits[:4], digits[4:10], digits[10:]]
            if length == 15
            else [digits[i : i + 4] for i in range(0, 16, 4)]
        )
        sep = self.pick((".", " ", "-", ""))
        name = {".": "dotted", " ": "spaced", "-": "dashed", "": "plain"}[sep]
        return sep.join(groups), f"{brand} {name}"

    def iban(self) -> tuple[str, str]:
        while True:
            country = self.pick(("DE", "FR", "GB", "NL", "AT", "CH"))
            digits = "0123456789"
            if country == "DE":
                bban = self.chars(digits, 18)
            elif country == "FR":
                bank, branch, account = (self.chars(digits, n) for n in (5, 5, 11))
                key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
                bban = f"{bank}{branch}{account}{key:02d}"
            elif country == "GB":
                bban = self.pick(("NWBK", "BARC", "LOYD", "MIDL")) + self.chars(digits, 14)
            elif country == "NL":
                bban = self.pick(("ABNA", "RABO", "INGB")) + self.chars(digits, 10)
            elif country == "AT":
                bban = self.chars(digits, 16)
            else:
                bban = self.chars(digits, 17)
            value = country + iban_check(country, bban) + bban
            if stdnum_iban.is_valid(value):
                break
        case = self.pick(("upper", "lower"))
        grouped = self.pick((True, False))
        text = " ".join(value[i : i + 4] for i in range(0, len(value), 4)) if grouped else value
        text = text.lower() if case == "lower" else text
        return text, f"{country} {case} {'grouped' if grouped else 'compact'}"

    def ssn(self) -> tuple[str, str]:
        while True:
            area = self.rng.randint(1, 899)
            group, serial = self.rng.randint(1, 99), self.rng.randint(1, 9999)
            value = f"{area:03d}-{group:02d}-{serial:04d}"
            if area != 666 and stdnum_ssn.is_valid(value):
                break
        sep = self.pick(("-", "", ".", " "))
        name = {"-": "dashed", "": "compact", ".": "dotted", " ": "spaced"}[sep]
        return value.replace("-", sep), name

    # -- secrets -------------------------------------------------------------------------
    def aws_key(self) -> tuple[str, str]:
        prefix = self.pick(("AKIA", "ASIA"))
        return prefix + self.chars(_B32, 16), prefix

    def github_token(self) -> tuple[str, str]:
        kind = self.pick(("ghp", "gho", "ghs", "ghu", "github_pat"))
        if kind == "github_pat":
            return f"github_pat_{self.chars(_B62, 22)}_{self.chars(_B62, 59)}", kind
        return f"{kind}_{self.chars(_B62, 36)}", kind

    def jwt(self) -> tuple[str, str]:
        alg = self.pick(("HS256", "RS256", "ES256"))
        header = {"alg": alg, "typ": "JWT"}
        if alg != "HS256":
            header["kid"] = self.chars(_B62, 12)
        claims = {
            "iss": f"https://auth.{self.pick(TLDS)}/",
            "sub": self.chars("0123456789", self.rng.randint(5, 12)),
            "aud": self.pick(("api", "billing", "console")),
            "exp": 1760000000 + self.rng.randint(0, 10**7),
            "scope": " ".join(self.rng.sample(("read", "write", "admin", "openid", "email"), 2)),
        }
        sig_bytes = {"HS256": 32, "RS256": 256, "ES256": 64}[alg]
        sig = b64url(self.rng.randbytes(sig_bytes))
        token = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        return f"{token}.{sig}", alg

    def bearer(self) -> tuple[str, str]:
        style = self.pick(("opaque", "dotted", "prefixed"))
        if style == "opaque":
            return self.chars(_B62, self.rng.randint(32, 48)), style
        if style == "dotted":
            return f"{self.chars(_B62, 6)}.{self.chars(_B62 + '-_', 60)}", style
        return f"at_{self.chars(_B62, 40)}", style

    def api_token(self) -> tuple[str, str]:
        """A key as a dashboard cell shows it, often with nothing around it naming it."""
        style = self.pick(("bare", "bare", "sk_live", "xoxb", "hex40"))
        if style == "bare":
            return self.chars(_B62, self.rng.choice((32, 40))), style
        if style == "sk_live":
            return f"sk_live_{self.chars(_B62, 24)}", style
        if style == "xoxb":
            n = "0123456789"
            return f"xoxb-{self.chars(n, 11)}-{self.chars(n, 12)}-{self.chars(_B62, 24)}", style
        return self.chars(_HEX, 40), style

    def password(self) -> tuple[str, str]:
        style = self.pick(("symbols", "hex", "base64", "words"))
        if style == "symbols":
            value = self.chars(_B62, 10) + self.pick("!#%*+-?") + self.chars(_B62, 3)
        elif style == "hex":
            value = self.chars(_HEX, self.pick((32, 48)))
        elif style == "base64":
            value = base64.b64encode(self.rng.randbytes(30)).decode()
        else:
            value = "-".join(self.rng.sample(WORDS, 3)) + str(self.rng.randint(10, 99))
        return value, style

    def url_password(self) -> tuple[str, str]:
        value = self.chars(_B62, self.rng.randint(12, 20)) + self.pick(("", "!", "_x"))
        return value, "url"

    def private_key(self) -> tuple[list[str], str]:
        """BEGIN line, body lines, END line of a PEM block shaped like a real key."""
        kind = self.pick(("rsa", "pkcs8", "ec", "openssh"))
        if kind == "rsa":
            der = self._rsa_der()
            title, width = "RSA PRIVATE KEY", 64
        elif kind == "pkcs8":
            alg = bytes.fromhex("300d06092a864886f70d0101010500")
            der = _der(0x30, _der_int(0) + alg + _der(0x04, self._rsa_der()))
            title, width = "PRIVATE KEY", 64
        elif kind == "ec":
            der = _der(
                0x30,
                _der_int(1)
                + _der(0x04, self.rng.randbytes(32))
                + _der(0xA0, bytes.fromhex("06082a8648ce3d030107"))
                + _der(0xA1, _der(0x03, b"\x00\x04" + self.rng.randbytes(64))),
            )
            title, width = "EC PRIVATE KEY", 64
        else:
            der = self._openssh()
            title, width = "OPENSSH PRIVATE KEY", 70
        body = base64.b64encode(der).decode()
        lines = [body[i : i + width] for i in range(0, len(body), width)]
        return [f"-----BEGIN {title}-----", *lines, f"-----END {title}-----"], kind

    def _rsa_der(self) -> bytes:
        def big(n: int) -> bytes:
            return _der_int_bytes(b"\x80" + self.rng.randbytes(n - 1))

        parts = _der_int(0) + big(128) + _der_int(65537) + big(128)
        parts += b"".join(big(64) for _ in range(5))
        return _der(0x30, parts)

    def _openssh(self) -> bytes:
        def s(data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + data

        public = s(b"ssh-ed25519") + s(self.rng.randbytes(32))
        check = self.rng.randbytes(4)
        private = check + check + public + s(self.rng.randbytes(64)) + s(b"deploy@build")
        private += bytes(range(1, 1 + (-len(private)) % 8))
        return (
            b"openssh-key-v1\x00"
            + s(b"none")
            + s(b"none")
            + s(b"")
            + struct.pack(">I", 1)
            + s(public)
            + s(private)
        )

    # -- look-alikes that must stay readable ------------------------------------------------
    def hash(self) -> str:
        return self.chars(_HEX, self.pick((7, 12, 40, 64)))

    def reference(self) -> str:
        r = self.rng
        return self.pick(
            (
                f"REF-{r.randint(10**8, 10**9 - 1)}",
                _not_luhn(f"{r.randint(10**14, 10**15 - 1)}"),  # 16 digits, not a card
                f"1Z{self.chars(_B32[:26] + '0123456789', 16)}",
                f"PO {r.randint(4000000, 4999999)}",
                f"case #{r.randint(100000, 999999)}",
                f"Az. {r.randint(10, 99)}/{r.randint(1000, 9999)}/{r.randint(100, 999)}",
            )
        )

    def number(self) -> str:
        r = self.rng
        return self.pick(
            (
                f"{r.randint(2020, 2027)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
                f"v{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)}",
                f"{r.randint(1, 250)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"{r.randint(1, 65535)}",
                f"{r.randint(1, 9999)},{r.randint(0, 99):02d} €",
            )
        )

    def uuid(self) -> str:
        h = self.chars(_HEX, 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def words(self, n: int) -> str:
        return " ".join(self.pick(WORDS) for _ in range(n))


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _not_luhn(body: str) -> str:
    """`body` and a last digit that makes it fail the Luhn check."""
    return body + str((int(luhn_digit(body)) + 1 + len(body) % 9) % 10)


def iban_check(country: str, bban: str) -> str:
    moved = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in moved))
    return f"{98 - number % 97:02d}"


def _ascii(name: str) -> str:
    return name.translate(str.maketrans("äöüéèêëàçïî", "aoueeeeacii"))


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _der_int(value: int) -> bytes:
    return _der_int_bytes(value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big"))


def _der_int_bytes(raw: bytes) -> bytes:
    if raw[0] & 0x80:
        raw = b"\x00" + raw
    return _der(0x02, raw)
