"""Secrets and numbers found by what stands around them: a column or row label naming a key,
a password glued to a client's -p option, a name and its value without a colon, a phone word
glued to a number by OCR; and the look-alikes the same rules must leave readable."""

from __future__ import annotations

import pytest

from app.core.redact.ocr import TextBox
from app.core.redact.ocr_text import LineHits, _ocr_only
from app.core.redact.text import TextScrubber, find, scrub
from app.core.settings import Settings
from tests.unit.cpu import cpu_timer

HEX40 = "9f3b6c1e0a7d4f2b8c5e1a9d3f7b2c6e0a4d8f1b"
HEX40_B = "3c77e0d12b9a4f6e8d1c5b7a2e9f0d4c6b8a1e3f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mysql -uroot -pS3cr3t! shop", "mysql -uroot -p[SECRET] shop"),
        (
            "mysqldump -u app -p'pa55w0rd' shop > x.sql",
            "mysqldump -u app -p'[SECRET]' shop > x.sql",
        ),
        ("mariadb -h db -u root -pcorrect-horse-battery7", "mariadb -h db -u root -p[SECRET]"),
        ("sshpass -p hunter22 ssh bob@build", "sshpass -p [SECRET] ssh bob@build"),
        ("SECRET KEY='T4LmE3op8NI0kB'", "SECRET KEY='[SECRET]'"),  # OCR: _ read as a space
        ("API key: 3f9c2a1b7e8d4c6a5b3f", "API key: [SECRET]"),
        (f"API key {HEX40}", "API key [SECRET]"),
        (f"csrf token {HEX40} expires", "csrf token [SECRET] expires"),
        (f"the new key is {HEX40}", "the new key is [SECRET]"),
        ("Xoxb-80184185391-951138305192-CMiKrAsAnnMMpBKW35KaoUYc", "[SLACK_TOKEN]"),
        ("bitte an gb77midl65763323942485 überweisen", "bitte an [IBAN] überweisen"),
        ("my social is 132015092 for the form", "my social is [SSN] for the form"),
        (f"webhook_key = {HEX40}", "webhook_key = [SECRET]"),
        (f'signingKey: "{HEX40_B}",', 'signingKey: "[SECRET]",'),
        ("hmac-key: dGhpcyBpcyBhIHNlY3JldCBrZXk0MTI=", "hmac-key: [SECRET]"),
        ("REDIS_AUTH=15d23330aae0210879b6007f4bb666a5", "REDIS_AUTH=[SECRET]"),
        ("BASIC_AUTH=firmware-assistant-column86", "BASIC_AUTH=[SECRET]"),
    ],
)
def test_secrets_and_numbers_found_by_their_context(text: str, expected: str) -> None:
    assert scrub(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "mysql -u root -p",  # asks for the password
        "mysql -u root -p -P 3306 shop",  # -P is the port
        "mysql -u root -p$MYSQL_PWD",
        "mysql -u root -ppassword",  # a placeholder
        "pwd /home/bob/project2024xyz",
        "password reset link sent",
        "Token expires in 3600 seconds",
        "the key is F5",
        f"the cache key is {HEX40}",
        f"public key {HEX40}",
        f"git show {HEX40}",
        "password = getpass.getpass('Password: ')",
        "password =_getpass+getpass('Password for parent: ')",  # as OCR reads it
        "secret key = settings.SECRET_KEY",
        "token value = getToken()",
        "upstream 68.15.39.40 ok",  # an IPv4 address, not a phone number
        "host 192.168.1.254 up since 2024-05-01",
        "reference1ZW2ABIW2MWPSF03WA",  # a word glued to a tracking number
        # Keys that are names of things, not secrets, whatever their value looks like.
        f"sort_key = {HEX40}",
        f"partition_key: {HEX40}",
        f"cacheKey = {HEX40}",
        "s3_key = uploads/2024/report-final.csv",
        "redis_key = user:1234:profile",
        "monkey = 3f9c2a1b7e8d4c6a5b3f",
        "auth: login ok for bob2",
    ],
)
def test_look_alikes_stay_readable(text: str) -> None:
    assert scrub(text)[0] == text


def test_a_word_glued_to_a_url_scheme_stays_outside_the_box() -> None:
    text = "restart onboardinghttps://ci-bot:Az9r5wju"
    assert scrub(text)[0] == "restart onboarding[URL_CREDENTIALS]"
    assert scrub("git+https://bob:pw12@host/x")[0] == "[URL_CREDENTIALS]host/x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("andcall01914960757if anything", "andcall[PHONE]if anything"),
        ("Tel:02079460958", "Tel:[PHONE]"),
    ],
)
def test_a_phone_number_glued_to_its_phone_word(text: str, expected: str) -> None:
    assert scrub(text)[0] == expected


def test_a_key_the_engine_split_at_a_space_is_covered_whole() -> None:
    text = "cWIoIXpAEcGotSr X3-TGDsH"  # the key's underscore read as a space
    assert [text[h.start : h.end] for h in _ocr_only(text)] == [text]
    for kept in (
        "see getElementById2 andMore33 toThe44End",  # identifiers side by side
        "Km6mzhINHgh21SJgwlyTRWZEDflhHpJe 84.147.26.147 2024-03-05",  # a key, then more
        "setHorizontalScrollBar Policy2 AlwaysOff",
    ):
        assert [kept[h.start : h.end] for h in _ocr_only(kept)] == []


def test_a_key_read_with_a_space_beside_its_dash_is_covered_whole() -> None:
    # A dash or an underscore stands in blank columns as wide as a space, and the engine
    # reads one there even where the key goes on.
    for text, key in (
        ("| RHB1L_SpllsELgoU1LfeEuNdyXv1MGQuYnb- rGu5 | active |", "RHB1L_Spll"),
        ("token Km6mzhINHgh21SJgwlyTRWZEDflhH _pJe and more", "Km6mzhINHg"),
    ):
        start = text.index(key)
        end = text.index(" ", text.index(" ", start) + 1)
        assert any(h.start <= start and end <= h.end for h in _ocr_only(text)), text
    for kept in ("the well-known - fact", "Km6mzhINHgh21SJgwlyTRWZEDflhHpJe - 84.147"):
        assert [kept[h.start : h.end] for h in _ocr_only(kept)] == []


# -- tables and forms ----------------------------------------------------------------------
CHAR_W, ROW_H = 8, 24


def _cell(text: str, x: int, row: int) -> TextBox:
    return TextBox(x, 10 + row * ROW_H, len(text) * CHAR_W, 18, text, 0.9)


def _covered_texts(lines: list[TextBox]) -> set[str]:
    found = LineHits(TextScrubber.from_settings(Settings())).find(lines)
    return {
        line.text[h.start : h.end] for line, hits in zip(lines, found, strict=True) for h in hits
    }


def test_hex_keys_under_a_key_heading_are_covered_and_digests_beside_them_are_not() -> None:
    lines = [
        _cell("Name", 10, 0),
        _cell("API key", 300, 0),  # a centred heading over a wide column
        _cell("Fingerprint", 800, 0),
        _cell("billing-prod", 10, 1),
        _cell(HEX40, 200, 1),
        _cell(HEX40_B, 700, 1),
        _cell("ci-runner", 10, 2),
        _cell("sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2", 200, 2),
        _cell("0e00a6d39d2458400e2e9fd904317d026631cbe9", 700, 2),
        _cell("legacy", 10, 3),
        _cell("revoked", 200, 3),
    ]
    covered = _covered_texts(lines)
    assert HEX40 in covered
    assert HEX40_B not in covered  # under "Fingerprint"
    assert "0e00a6d39d2458400e2e9fd904317d026631cbe9" not in covered
    assert not covered & {"revoked", "billing-prod", "API key"}


def test_short_cells_aligned_left_under_a_centred_heading_stay_in_its_column() -> None:
    # The heading sits over the middle of a wide column; most cells do not reach under it.
    lines = [_cell("Name", 10, 0), _cell("Key", 560, 0), _cell("Created", 1000, 0)]
    for row in range(1, 8):
        lines += [_cell(f"svc-{row}", 10, row), _cell("AKIA2P37YJW7JVBRPQBI", 200, row)]
        lines.append(_cell("2 days ago", 980, row))
    lines += [_cell("deploy", 10, 8), _cell(HEX40, 200, 8), _cell("never", 980, 8)]
    covered = _covered_texts(lines)
    assert HEX40 in covered
    assert not covered & {"deploy", "never", "Key"}


def test_a_row_label_names_the_key_beside_it() -> None:
    lines = [
        _cell("Access token", 10, 0),
        _cell(HEX40, 400, 0),
        _cell("Commit", 10, 1),
        _cell(HEX40_B, 400, 1),
    ]
    covered = _covered_texts(lines)
    assert HEX40 in covered
    assert HEX40_B not in covered


@pytest.mark.parametrize("heading", ["Public key", "Primary key", "Key ID", "Shortcut key"])
def test_headings_of_keys_that_are_not_secrets(heading: str) -> None:
    lines = [_cell(heading, 200, 0), _cell(HEX40, 200, 1)]
    assert HEX40 not in _covered_texts(lines)


def test_a_key_column_ends_where_its_table_does() -> None:
    lines = [
        _cell("Key", 200, 0),
        _cell(HEX40, 200, 1),
        _cell("Build log", 200, 8),  # far below: another block
        _cell(HEX40_B, 200, 9),
    ]
    covered = _covered_texts(lines)
    assert HEX40 in covered
    assert HEX40_B not in covered


@pytest.mark.parametrize(
    "text",
    [
        "mysql " * 3000,
        "mysql -u " + "x " * 5000 + "-p",
        "token " * 3000,
        "key is " * 3000,
        "aB3 " * 3000,
    ],
)
def test_context_rules_stay_fast_on_hostile_input(text: str) -> None:
    find("")  # the first call loads the detectors
    with cpu_timer() as timer:
        find(text)
        list(_ocr_only(text))
    assert timer.seconds < 0.2
