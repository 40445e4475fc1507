"""Typed text is held to its own rules: a key typed with nothing naming it and nine digits typed
on their own are redacted, while the same characters on screen, digests named by the line
they are typed in, and numbers in code stay readable."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from app.core.capture.input import key_category
from app.core.model import RawInput
from app.core.redact.text import TextScrubber, scrub
from app.core.redact.typed_only import typed_only
from app.core.redact.typing import Staged, TypingRuns
from app.core.settings import Settings
from tests.unit.cpu import cpu_timer

HEX40 = "b13301db507487e57186341214889ce9af652022"
HEX32 = "9e107d9d372bb6826bd81d3542a419d6"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
BASE32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # a TOTP seed typed by hand
BASE36 = "k3v9x2m7q8w1z5n4b6c0p2r7t9y3u8e1"
BASE62 = "aZ3kQ9xP2mW7rT5vB8nY4cL6dF1gH0jK2026"  # a year inside does not make it a word


class Keyboard:
    """Types into TypingRuns with the scrubber the recorder builds from its settings."""

    def __init__(self) -> None:
        self.counter = itertools.count()
        self.counts: Counter[str] = Counter()
        scrubber = TextScrubber.from_settings(Settings())
        self.runs = TypingRuns(lambda: next(self.counter), self.counts, scrubber.scrub)
        self.out: list[Staged] = []
        self.clock = 0.0

    def type(self, text: str) -> None:
        for ch in text:
            name = "space" if ch == " " else key_category(ch)
            for action in ("down", "up"):
                self.clock += 0.05
                raw = RawInput(
                    "key",
                    self.clock,
                    1000 + self.clock,
                    action,
                    name,
                    ch if action == "down" else None,
                )
                self.out += self.runs.key(raw, next(self.counter), sensitive=False)

    def pause(self) -> None:
        self.clock += 2.0
        self.out += self.runs.pause(self.clock)

    def texts(self) -> list[str]:
        self.out += self.runs.flush(self.clock + 1)
        return [s.data["text"] for s in self.out if s.type == "text"]

    def kept_chars(self) -> str:
        return "".join(s.data.get("char") or "" for s in self.out if s.type == "key")


def typed(text: str) -> str:
    kb = Keyboard()
    kb.type(text)
    return " | ".join(kb.texts())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEX40, "[TOKEN]"),  # a 40-character hex key typed alone
        (HEX32, "[TOKEN]"),
        (HEX32.upper(), "[TOKEN]"),
        (f"export TWILIO_AUTH={HEX32}", "export TWILIO_AUTH=[SECRET]"),
        (
            f"curl -u api:{SHA256} https://api.example.com",
            "curl -u api:[TOKEN] https://api.example.com",
        ),
        (f"key-{HEX32}", "[TOKEN]"),  # a key with its prefix
        (BASE32, "[TOKEN]"),
        (BASE36, "[TOKEN]"),
        (BASE62, "[TOKEN]"),
        ("123456789", "[SSN]"),  # nine digits typed alone: an SSN field of a form
        (" 832902255.", " [SSN]."),
        ("379599009", "[SSN]"),
    ],
)
def test_typed_keys_and_lone_ssns_are_redacted(text: str, expected: str) -> None:
    assert typed(text) == expected


def test_a_hex_key_in_a_url_is_redacted_even_in_a_git_command() -> None:
    out = typed(f"git clone https://{HEX40}@github.com/o/r.git")
    assert out.startswith("git clone https://[")
    assert HEX40[:4] not in out


def test_a_lone_ssn_leaves_no_digit_in_the_key_events() -> None:
    kb = Keyboard()
    kb.type("832902255")
    assert kb.texts() == ["[SSN]"]
    assert kb.kept_chars() == ""
    assert kb.counts["SSN"] == 1


@pytest.mark.parametrize(
    "text",
    [
        f"git checkout {HEX40}",  # every hex run in a git command is an object id
        f"git show {HEX40}",
        f"git log --oneline {HEX40[:12]}..{HEX40}",
        f"git cherry-pick -x {HEX40} && git push origin main",
        f"hg update {HEX40}",
        f"docker pull registry.example.com/app@sha256:{SHA256}",
        f"echo {SHA256}  app.tar.gz | sha256sum -c",
        f"sha256sum says {SHA256}",
        f"expected_sha256 = '{SHA256}'",
        f"reverted commit {HEX40} yesterday",
        f"https://github.com/o/r/commit/{HEX40}",
        "request_id = '123e4567-e89b-12d3-a456-426614174000'",  # a UUID keeps its dashes
        "git checkout 3f9c4a1",  # a short commit
        "f" * 40,  # filler, no key
        "deadbeef" * 5,
        "12345678901234567890123456789012345",  # a long number
        "getUserAccountSettingsForTenant2024",  # an identifier run together
        "test_user_can_delete_account_when_admin2",
        "feature/JIRA-1234-add-login-page-for-admins",
        "src/components/UserProfileSettingsPanel2.tsx",
        "ubuntu2204ltsamd64servercloudimage",
        "MAX_UPLOAD_BYTES = 268435456",  # nine digits in code
        "SELECT * FROM orders WHERE id = 123456789;",
        "order 123456789 shipped",
        "ticket 832902255",
        "666123456",  # not a valid SSN: area 666
        "900123456",  # area 9xx
        "123006789",  # group 00
        "123450000",  # serial 0000
        "12345678",  # eight digits
        "1234567890",  # ten digits: an epoch time, a phone number without a word
        "$123456789",
        "#123456789",  # an order number
        "12345-6789",  # a ZIP+4 code
        "1733390000.123",
    ],
)
def test_digests_code_and_other_numbers_stay_readable_when_typed(text: str) -> None:
    assert typed(text) == text


def test_a_commit_typed_after_a_pause_still_reads_as_a_commit() -> None:
    kb = Keyboard()
    kb.type("git checkout ")
    kb.pause()  # looks the commit up in the log
    kb.type(HEX40)
    assert kb.texts() == ["git checkout ", HEX40]


def test_the_line_before_gathers_over_several_pauses() -> None:
    kb = Keyboard()
    kb.type("git show ")
    kb.pause()
    kb.type("--stat ")
    kb.pause()
    kb.type(HEX40)
    assert kb.texts() == ["git show ", "--stat ", HEX40]


def test_git_must_be_the_command_to_make_hex_a_commit() -> None:
    # A folder named git is no git command: the key is a secret (its name ends in KEY).
    assert typed(f"cd ~/git && export DATADOG_KEY={HEX32}") == (
        "cd ~/git && export DATADOG_KEY=[SECRET]"
    )
    assert typed(f"cd ~/git && export DATADOG_TAGS={HEX32}") == (
        "cd ~/git && export DATADOG_TAGS=[TOKEN]"
    )
    assert typed(f"cd ~/app && git show {HEX40}") == f"cd ~/app && git show {HEX40}"
    assert typed(f"  sudo git checkout {HEX40}") == f"  sudo git checkout {HEX40}"


def test_a_key_typed_after_a_pause_and_a_line_break_is_redacted() -> None:
    kb = Keyboard()
    kb.type("git checkout main ")
    kb.pause()
    kb.out += kb.runs.flush(kb.clock)  # Enter ends the line
    kb.type(HEX40)
    assert kb.texts() == ["git checkout main ", "[TOKEN]"]


def test_a_key_named_by_a_word_is_still_a_secret_not_a_digest() -> None:
    assert typed(f"password_hash = '{HEX32}'") == "password_hash = '[SECRET]'"


@pytest.mark.parametrize("text", [HEX40, SHA256, BASE32, "832902255", "commit " + HEX40])
def test_on_screen_and_title_scrubbing_is_unchanged(text: str) -> None:
    """On screen a bare digest (`git log`) or a nine-digit id in a table is common: the
    screen and window-title scrubber keeps them, only typed text treats them as data."""
    assert scrub(text)[0] == text


def test_rules_report_positions_in_the_run_not_in_the_line_before() -> None:
    hits = typed_only(HEX40, "the new key is ")
    assert [(h.category, h.start, h.end) for h in hits] == [("TOKEN", 0, len(HEX40))]


@pytest.mark.parametrize(
    "text",
    [
        "a1" * 2048,  # a run of key characters as long as a typing run can be
        ("9f" * 20 + " ") * 100,  # many hex runs, each checked for its line's context
        "git " * 1000 + HEX40,
        "/" * 4096,
    ],
)
def test_typed_rules_stay_fast_on_hostile_input(text: str) -> None:
    with cpu_timer() as timer:
        typed_only(text, "git show " * 20)
    assert timer.seconds < 0.05
