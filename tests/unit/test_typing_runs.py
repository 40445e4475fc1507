import itertools
from collections import Counter

from app.core.capture.input import key_category
from app.core.model import RawInput
from app.core.redact.typing import Staged, TypingRuns


class Keyboard:
    """Feeds key events through TypingRuns and collects what it releases."""

    def __init__(self) -> None:
        self.counter = itertools.count()
        self.counts: Counter[str] = Counter()
        self.runs = TypingRuns(lambda: next(self.counter), self.counts)
        self.out: list[Staged] = []
        self.clock = 0.0

    def _raw(self, action: str, key: str, char: str | None) -> RawInput:
        self.clock += 0.05
        return RawInput("key", self.clock, 1000 + self.clock, action, key, char)

    def tap(self, key: str, char: str | None = None, sensitive: bool = False) -> None:
        for action in ("down", "up"):
            raw = self._raw(action, key, char if action == "down" else None)
            self.out += self.runs.key(raw, next(self.counter), sensitive=sensitive)

    def type(self, text: str, sensitive: bool = False) -> None:
        for ch in text:
            self.tap("space" if ch == " " else key_category(ch), ch, sensitive)

    def end(self) -> list[Staged]:
        self.out += self.runs.flush(self.clock + 1)
        return sorted(self.out, key=lambda s: s.seq)

    def texts(self) -> list[str]:
        return [s.data["text"] for s in self.end() if s.type == "text"]


def test_plain_run_keeps_characters_and_adds_text_summary() -> None:
    kb = Keyboard()
    kb.type("hello world")
    events = kb.end()
    downs = [e.data["char"] for e in events if e.type == "key" and e.data["action"] == "down"]
    assert "".join(downs) == "hello world"
    assert [e.data["text"] for e in events if e.type == "text"] == ["hello world"]


def test_email_in_typed_text_becomes_placeholder_and_keys_lose_characters() -> None:
    kb = Keyboard()
    kb.type("mail bob@example.com ok")
    events = kb.end()
    assert kb.texts() == ["mail [EMAIL] ok"]
    kept = "".join(e.data["char"] or "" for e in events if e.type == "key")
    assert "bob" not in kept and "example" not in kept
    assert kept == "mail  ok"
    assert kb.counts["EMAIL"] == 1
    redacted = [e for e in events if e.data.get("redacted") == "EMAIL"]
    assert len(redacted) == len("bob@example.com")
    assert all(e.data["key"] in ("letter", "symbol") for e in redacted)


def test_backspaces_are_applied_before_detection() -> None:
    kb = Keyboard()
    kb.type("4111 1111 1111 11x")
    kb.tap("backspace")
    kb.type("11")
    assert kb.texts() == ["[CARD]"]
    kept = [e.data["char"] for e in kb.end() if e.type == "key" and e.data["char"]]
    assert kept == []  # the deleted "x" sat inside the card number and is cleared too


def test_enter_ends_a_run() -> None:
    kb = Keyboard()
    kb.type("ls")
    kb.tap("enter")
    kb.type("pwd")
    assert kb.texts() == ["ls", "pwd"]


def test_hotkey_is_not_typed_text_and_keeps_its_character() -> None:
    kb = Keyboard()
    kb.type("ab")
    kb.out += kb.runs.key(kb._raw("down", "ctrl_l", None), next(kb.counter), sensitive=False)
    kb.out += kb.runs.key(kb._raw("down", "letter", "s"), next(kb.counter), sensitive=False)
    events = kb.end()
    assert [e.data["text"] for e in events if e.type == "text"] == ["ab"]
    assert any(e.data.get("char") == "s" for e in events)


def test_sign_in_prompt_keeps_categories_only() -> None:
    kb = Keyboard()
    kb.type("hunter2", sensitive=True)
    events = kb.end()
    assert all(e.data.get("char") is None for e in events)
    assert [e.data["key"] for e in events if e.data["action"] == "down"] == ["letter"] * 6 + [
        "digit"
    ]
    assert kb.texts() == []
    assert kb.counts["PASSWORD_PROMPT_KEY"] == 7


def test_text_summary_is_stamped_when_the_run_ended() -> None:
    kb = Keyboard()
    kb.type("abc")
    kb.tap("enter")
    events = kb.end()
    text = next(e for e in events if e.type == "text")
    enter = next(e for e in events if e.data.get("key") == "enter")
    assert text.mono >= enter.mono


def test_a_pause_inside_a_word_holds_the_run_so_the_whole_item_is_seen() -> None:
    kb = Keyboard()
    kb.type("mail ann.lee@exam")
    assert kb.runs.pause(kb.clock + 1) == []  # held: the address is not finished
    kb.type("ple.com")
    assert kb.texts() == ["mail [EMAIL]"]


def test_a_pause_after_a_space_releases_the_run() -> None:
    kb = Keyboard()
    kb.type("hello there ")
    released = kb.runs.pause(kb.clock + 1)
    assert [e.data["text"] for e in released if e.type == "text"] == ["hello there "]


def test_a_held_run_is_released_after_the_longest_hold() -> None:
    from app.core.redact.typing import MAX_HOLD_S

    kb = Keyboard()
    kb.type("abc")
    assert kb.runs.pause(kb.clock + MAX_HOLD_S + 1) != []


def _altgr_type(kb: Keyboard, text: str, modifiers: tuple[str, ...]) -> None:
    """Type `text`, producing "@" the way a German layout does: AltGr (or Ctrl+Alt) + Q."""
    for ch in text:
        if ch != "@":
            kb.type(ch)
            continue
        for mod in modifiers:
            kb.out += kb.runs.key(kb._raw("down", mod, None), next(kb.counter), sensitive=False)
        kb.tap("symbol", "@")
        for mod in reversed(modifiers):
            kb.out += kb.runs.key(kb._raw("up", mod, None), next(kb.counter), sensitive=False)


def test_altgr_characters_stay_in_the_run_so_an_address_is_still_caught() -> None:
    for modifiers in (("alt_gr",), ("ctrl_l", "alt_gr")):
        kb = Keyboard()
        _altgr_type(kb, "mail bob@example.com now", modifiers)
        out = kb.end()
        assert [s.data["text"] for s in out if s.type == "text"] == ["mail [EMAIL] now"]
        assert not any(s.data.get("char") == "@" for s in out), modifiers


def test_ctrl_or_ctrl_alt_with_a_letter_is_still_a_hotkey_not_text() -> None:
    for modifiers in (("ctrl_l",), ("ctrl_l", "alt_l")):
        kb = Keyboard()
        kb.type("draft")
        for mod in modifiers:
            kb.out += kb.runs.key(kb._raw("down", mod, None), next(kb.counter), sensitive=False)
        kb.tap("letter", "t")
        for mod in modifiers:
            kb.out += kb.runs.key(kb._raw("up", mod, None), next(kb.counter), sensitive=False)
        assert kb.texts() == ["draft"]


def test_a_pause_between_groups_of_a_number_holds_the_run() -> None:
    kb = Keyboard()
    kb.type("card 4111 1111 ")
    kb.out += kb.runs.pause(kb.clock + 1.0)  # looks at the card
    kb.clock += 1.0
    kb.type("1111 1111 thanks")
    assert kb.texts() == ["card [CARD] thanks"]


def test_a_pause_after_an_ordinary_word_still_ends_the_run() -> None:
    kb = Keyboard()
    kb.type("meeting at ")
    kb.out += kb.runs.pause(kb.clock + 1.0)
    kb.clock += 1.0
    kb.type("noon")
    assert kb.texts() == ["meeting at ", "noon"]


def test_a_pause_after_a_country_code_or_a_bracketed_group_holds_the_run() -> None:
    for first, rest, expected in (
        ("call me at +1 ", "509-559-1194", "call me at [PHONE]"),
        ("ruf mich an: +33 4 ", "56 78 78 67", "ruf mich an: [PHONE]"),
        ("mon portable (713) ", "929-5513", "mon portable [PHONE]"),
        ("+44 (0) ", "161 602 5535", "[PHONE]"),
    ):
        kb = Keyboard()
        kb.type(first)
        assert kb.runs.pause(kb.clock + 1.0) == [], first  # looks up the rest of the number
        kb.clock += 1.0
        kb.type(rest)
        assert kb.texts() == [expected]


def test_a_pause_after_a_single_digit_in_prose_still_ends_the_run() -> None:
    kb = Keyboard()
    kb.type("see you at 3 ")
    kb.out += kb.runs.pause(kb.clock + 1.0)
    kb.clock += 1.0
    kb.type("then")
    assert kb.texts() == ["see you at 3 ", "then"]
