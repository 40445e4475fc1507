"""The independent evaluation's generators make what they claim: valid personal data, secrets
shaped like real ones, look-alikes that fail the checks, and the same text for the same seed."""

from __future__ import annotations

import base64
import random

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

from tests.redaction_eval.independent import content
from tests.redaction_eval.independent.values import Values


def values(seed: int = 7) -> Values:
    return Values(random.Random(seed))


def test_personal_data_passes_its_checks() -> None:
    v = values()
    for _ in range(200):
        card, _ = v.card()
        assert luhn.is_valid("".join(c for c in card if c.isdigit()))
        number, _ = v.iban()
        assert iban.is_valid(number.upper())
        value, style = v.ssn()
        digits = "".join(c for c in value if c.isdigit())
        assert ssn.is_valid(digits), (value, style)
        phone, variant = v.phone()
        region = variant.split()[0]
        parsed = phonenumbers.parse("+" + phone[2:] if phone.startswith("00") else phone, region)
        assert phonenumbers.is_valid_number(parsed), (phone, variant)


def test_formats_the_issue_names_are_all_generated() -> None:
    v = values(11)
    variants = {v.phone()[1] for _ in range(400)} | {v.card()[1] for _ in range(200)}
    variants |= {v.iban()[1] for _ in range(200)} | {v.ssn()[1] for _ in range(100)}
    for country in ("DE", "FR", "GB"):
        assert f"{country} national" in variants and f"{country} 00" in variants
    assert any(x.endswith("dotted") for x in variants if x.split()[0] in ("visa", "amex"))
    assert any("lower" in x for x in variants)
    assert {"compact", "dotted"} <= variants


def test_references_are_not_cards() -> None:
    v = values(3)
    sixteen = [r for r in (v.reference() for _ in range(500)) if r.isdigit() and len(r) == 16]
    assert sixteen and not any(luhn.is_valid(r) for r in sixteen)


def test_private_keys_are_pem_blocks_of_der() -> None:
    v = values(5)
    kinds = set()
    for _ in range(40):
        lines, kind = v.private_key()
        kinds.add(kind)
        assert lines[0].startswith("-----BEGIN ") and lines[-1].startswith("-----END ")
        der = base64.b64decode("".join(lines[1:-1]))
        assert der[:1] == b"\x30" or der.startswith(b"openssh-key-v1\x00")
        assert len(lines) >= 4  # at least two body lines: a multi-line secret
    assert kinds == {"rsa", "pkcs8", "ec", "openssh"}


def test_same_seed_same_screen_text() -> None:
    first = content.terminal_session(values(42), 60, 120)
    second = content.terminal_session(values(42), 60, 120)
    assert first.texts() == second.texts()
    assert first.spans() == second.spans()


def test_wrapped_urls_wrap_inside_the_password() -> None:
    for seed in range(20):
        cols = 80 + seed * 7
        doc = content.wrapped_urls(values(seed), cols)
        for line, start, end, key in doc.spans():
            if doc.items[key].label.category == "URL_PASSWORD":
                assert start < cols < end, (seed, doc.texts()[line])


def test_labelled_spans_spell_their_items() -> None:
    doc = content.mail_message(values(9))
    doc.extend(content.config_file(values(10), "json"))
    texts = doc.texts()
    for line, start, end, key in doc.spans():
        assert texts[line][start:end] in doc.items[key].parts
    sensitive = {i.label.category for i in doc.items.values() if i.label.sensitive}
    assert {"EMAIL", "SECRET", "AWS_KEY"} <= sensitive
