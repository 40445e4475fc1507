"""Detector coverage beyond the basic shapes: phone numbers of many countries whatever the
locale, SSN, card and IBAN variants, keyword secrets in code, random-looking tokens, and the
code and digests that must stay readable."""

from __future__ import annotations

import locale

import pytest

from app.core.redact.text import TextScrubber, find, scrub
from app.core.settings import Settings, SettingsError
from tests.unit.cpu import cpu_timer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ruf mich an: 030 12345678", "ruf mich an: [PHONE]"),  # DE landline
        ("Handy 0171 1234567", "Handy [PHONE]"),  # DE mobile
        ("tel 01 23 45 67 89", "tel [PHONE]"),  # FR
        ("portable 06 12 34 56 78 merci", "portable [PHONE] merci"),
        ("call 020 7946 0958 today", "call [PHONE] today"),  # GB London
        ("0049 30 12345678 bitte", "[PHONE] bitte"),  # 00 international prefix
        ("0044 20 7946 0958", "[PHONE]"),
        ("+33 1 23 45 67 89", "[PHONE]"),
        ("office (415) 555-2671", "office [PHONE]"),
    ],
)
def test_phone_numbers_of_many_countries(text: str, expected: str) -> None:
    assert scrub(text)[0] == expected


def test_phone_numbers_do_not_depend_on_the_locale() -> None:
    saved = locale.setlocale(locale.LC_ALL)
    try:
        locale.setlocale(locale.LC_ALL, "C.UTF-8")
        scrubber = TextScrubber.from_settings(Settings())
        assert scrubber.scrub("Tel. 030 12345678")[0] == "Tel. [PHONE]"
        assert scrubber.scrub("tel 01 23 45 67 89")[0] == "tel [PHONE]"
    finally:
        locale.setlocale(locale.LC_ALL, saved)


def test_policy_can_name_the_phone_regions() -> None:
    german = TextScrubber.from_settings(Settings(phone_regions=("DE",)))
    assert german.scrub("Tel. 030 12345678")[0] == "Tel. [PHONE]"
    assert german.scrub("tel 01 23 45 67 89")[0] == "tel 01 23 45 67 89"  # French format
    assert german.scrub("+33 1 23 45 67 89")[0] == "[PHONE]"  # international: any country
    with pytest.raises(SettingsError, match="phone_regions"):
        Settings(phone_regions=("XX",)).validate()


@pytest.mark.parametrize(
    "text",
    [
        "meeting on 09.08.2022 15:00",  # a date, valid as a French number
        "2023-02-16 12:00",  # a date, valid as a Danish number
        "invoice 62131.46 24",  # an amount
        "order 608-4789416-4601517",
        "1234 5678-9012 3452",
        "for i in range(1680013):",
        "request id fd22b037-1112-4b73-ac05-e009b116d7c6",
        "build 2024.5.1 took 1234 5678 ms",
    ],
)
def test_digit_runs_that_are_not_phone_numbers(text: str) -> None:
    assert scrub(text)[0] == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ssn 123.45.6789", "ssn [SSN]"),
        ("SSN: 123456789", "SSN: [SSN]"),
        ("social security 123456789 on file", "social security [SSN] on file"),
        ("card 4111.1111.1111.1111 exp", "card [CARD] exp"),
        ("iban de89 3704 0044 0532 0130 00", "iban [IBAN]"),
        ("iban de89370400440532013000 ok", "iban [IBAN] ok"),
        ("gb82west12345698765432", "[IBAN]"),
    ],
)
def test_ssn_card_and_iban_variants(text: str, expected: str) -> None:
    assert scrub(text)[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("can you put 832902255 on the form", "can you put [SSN] on the form"),
        ("[09:14] Ana: mine is 379599009 thanks", "[09:14] Ana: mine is [SSN] thanks"),
        ("here it is 832902255.", "here it is [SSN]."),
    ],
)
def test_compact_ssn_inside_a_sentence(text: str, expected: str) -> None:
    assert scrub(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "ticket 832902255 is closed",  # named as another kind of number
        "invoice: 832902255 paid",
        "-rw-r--r-- 1 bob staff 832902255 Dec  5 12:00 a.bin",  # a listing's size
        "moved 832902255 rows in 12 s",  # more numbers beside it
        "832902255",  # nothing says what it is
    ],
)
def test_compact_nine_digits_named_or_in_listings_are_kept(text: str) -> None:
    assert scrub(text)[0] == text


@pytest.mark.parametrize(
    "text",
    [
        "order 123456789 shipped",  # nine digits with no SSN word
        "commit 3f9c4111111111111111e0",  # digits inside a hex digest
        "sha256 9a0b4111111111111111ffe3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c",
        "123e4567-e89b-12d3-a456-426614174000",  # the last group of a UUID
        "ref INV-2024-234567890123",
        "de89 3704 0044 0532 0130 02",  # lower case, checksum wrong
    ],
)
def test_digit_runs_in_digests_and_references_are_kept(text: str) -> None:
    assert scrub(text)[0] == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SECRET_KEY = 'django-8f#k2j!x9q@w3e4r5t6y7u8i9o0p'", "SECRET_KEY = '[SECRET]'"),
        ('SECRET_KEY = "s3cr3tV4lu3"', 'SECRET_KEY = "[SECRET]"'),
        ("const accessToken = 'abcDEF123456ghiJKL'", "const accessToken = '[SECRET]'"),
        ("auth_token: 9f8a7b6c5d4e", "auth_token: [SECRET]"),
        ("mysql --password hunter2pass -h db", "mysql --password [SECRET] -h db"),
        ('password = "hunter2!"', 'password = "[SECRET]"'),
        ("postgres://app:S3cr3tPw@db:5432/app", "[URL_CREDENTIALS]db:5432/app"),
        ("https://bob:s3cretexample.com/x", "[URL_CREDENTIALS]/x"),  # the @ read as e
        ("| prod | kX9fQ2mZ7LpA3vR8tW1yB6nC4dE0gHjK | active |", "| prod | [TOKEN] | active |"),
        ("OPENAI sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t", "OPENAI [API_KEY]"),
    ],
)
def test_secrets_in_code_and_tables(text: str, expected: str) -> None:
    assert scrub(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        'token = request.headers.get("X-Token")',
        'password = getpass.getpass("Password: ")',
        'API_KEY = os.environ["API_KEY"]',
        "api_key = os.getenv('API_KEY')",
        "api_key: <redacted>",
        "password: REPLACE_ME",
        "DB_PASSWORD=changeme",
        'secret = "xxx"',
        "password: ********",
        "token: ***",
        "const token = await getToken();",
        "self.password = password",
        "token: string;",
        "def login(username: str, password: str) -> Token:",
        "export GITHUB_TOKEN=${GITHUB_TOKEN}",
        "Authorization: Bearer ${TOKEN}",
        'headers = {"Authorization": f"Bearer {token}"}',
        "see http://localhost:8080/path",
        "git checkout 3f9c2a1b7e8d4c6a5b3f2e1d0c9b8a7f6e5d4c3b",
        "sha256:4f1d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d",
        "document.getElementsByTagName2Node",
        # Words and numbers run together, as OCR reads them without spaces:
        "Mentionfather can9643339Earlysimpledatathese standard",
        "Customersince5/27/2019",
        "2020-01-21forinvoiceINV-2025-1241.",
        "the taxpayer number.Order #32488844 shipped",
        "/usr/lib/python3/dist-packages/PyQt5/QtWidgets",
    ],
)
def test_code_without_secrets_is_kept(text: str) -> None:
    assert scrub(text)[0] == text


@pytest.mark.parametrize(
    "text",
    [
        "12 34 56 78 90 " * 400,  # digit groups a phone number could be made of
        "0" + " 0".join(str(i % 97) for i in range(3000)),
        "password = " + "a." * 3000,
        "aB3" * 3000,
        "https://" + "u" * 5000 + ":" + "p" * 5000,
        "--password " * 2000,
    ],
)
def test_new_detectors_stay_fast_on_hostile_input(text: str) -> None:
    find("")  # the first call loads the detectors
    with cpu_timer() as timer:
        find(text)
    assert timer.seconds < 0.1


def test_the_cheap_test_before_the_phone_matcher_lets_every_kind_of_valid_number_through() -> None:
    """Regions are tried on a run of digits only where some of its digit groups form a
    number of a kind the region's plan lists; no valid number may be kept from the matcher."""
    import phonenumbers

    from app.core.redact.detectors import DEFAULT_PHONE_REGIONS, _national_pattern

    kinds = [
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.VOIP,
    ]
    for region in DEFAULT_PHONE_REGIONS:
        trunk, pattern, _ = _national_pattern(region)
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            nsn = phonenumbers.national_significant_number(example)
            assert pattern.fullmatch(nsn) or pattern.fullmatch(trunk + nsn), (region, kind)


def test_numbers_grouped_as_no_country_writes_them_skip_the_matcher_and_lose_no_hit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a word that says a phone number is near, only a number of two or more groups,
    led by its trunk prefix or grouped as its country writes numbers, is a hit; figures
    grouped otherwise (the columns of `top`) are not even given to the matcher. Every hit
    found with every grouping tried is found."""
    import random

    import phonenumbers

    from app.core.redact import detectors

    rng = random.Random(7)
    texts = []
    for region in detectors.DEFAULT_PHONE_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            digits = phonenumbers.national_significant_number(example)
            cuts = sorted(rng.sample(range(1, len(digits)), k=min(3, len(digits) - 1)))
            regrouped = " ".join(digits[a:b] for a, b in zip([0, *cuts], [*cuts, None]))
            for number in (national, national.lstrip("0("), regrouped, digits):
                texts += [f"office {number} today", f"phone {number}", f"{number} 4 12"]
    for _ in range(300):  # runs of figures as tables and `top` show them
        groups = [str(rng.randrange(10 ** rng.randint(1, 6))) for _ in range(rng.randint(2, 6))]
        texts.append(" ".join(groups))
    runs = [0]
    matcher = phonenumbers.PhoneNumberMatcher

    def counted(*args: object, **kwargs: object) -> object:
        runs[0] += 1
        return matcher(*args, **kwargs)

    monkeypatch.setattr(phonenumbers, "PhoneNumberMatcher", counted)
    found = [set(detectors.phones()(text)) for text in texts]
    grouped_runs, runs[0] = runs[0], 0
    monkeypatch.setattr(detectors, "_national_groupings", lambda region: None)
    every_grouping = [set(detectors.phones()(text)) for text in texts]
    lost = [(t, b - a) for t, a, b in zip(texts, found, every_grouping, strict=True) if b - a]
    assert not lost
    assert sum(map(bool, found)) > len(texts) // 4  # most example numbers are found
    assert grouped_runs < 0.7 * runs[0]
