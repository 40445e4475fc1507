import itertools
import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.actions import distill_actions
from app.core.capture.input import key_category
from app.core.model import RawInput
from app.core.redact.typing import Staged, TypingRuns


class Recording:
    """Builds a segment's items in the order the capture loop stores them: keys go through
    the real typing runs, a click ends a run before its `mouse_down` frame, and so on."""

    def __init__(self, screen: bool = True) -> None:
        self.screen = screen  # False: screenshots are off, no frames at all
        self.seq = itertools.count()
        self.typing = TypingRuns(lambda: next(self.seq), Counter())
        self.staged: list[Staged] = []
        self.t = 0.0
        self.frames = 0

    def wait(self, seconds: float) -> "Recording":
        self.t = round(self.t + seconds, 4)
        return self

    def _emit(self, type_: str, **data: Any) -> None:
        self.staged.append(Staged(next(self.seq), self.t, self.t, type_, data))

    def frame(self, trigger: str = "interval") -> "Recording":
        if not self.screen:
            return self
        self.frames += 1
        name = f"frames/{self.frames:06d}.png"
        self._emit("frame", frame=self.frames, file=name, w=1920, h=1080, trigger=trigger)
        return self

    def key(self, action: str, key: str, char: str | None = None, sensitive: bool = False) -> None:
        raw = RawInput("key", self.t, self.t, action, key, char)
        self.staged += self.typing.key(raw, next(self.seq), sensitive=sensitive)

    def tap(self, key: str, char: str | None = None, sensitive: bool = False) -> "Recording":
        self.key("down", key, char, sensitive)
        self.wait(0.03)
        self.key("up", key, None, sensitive)
        return self.wait(0.09)

    def type(self, text: str, sensitive: bool = False) -> "Recording":
        for ch in text:
            if ch == "\b":
                self.tap("backspace", sensitive=sensitive)
            else:
                self.tap("space" if ch == " " else key_category(ch), ch, sensitive)
        return self

    def hotkey(self, modifiers: list[str], key: str, char: str | None) -> "Recording":
        for mod in modifiers:
            self.key("down", mod)
            self.wait(0.05)
        self.tap(key, char)
        for mod in reversed(modifiers):
            self.key("up", mod)
        return self.wait(0.1)

    def pause(self) -> "Recording":
        self.wait(1.0)
        self.staged += self.typing.pause(self.t)
        return self.frame("typing_pause")

    def button(self, action: str, x: int, y: int, button: str = "left") -> "Recording":
        self.staged += self.typing.flush(self.t)
        if action == "down":
            self.frame("mouse_down")
        self._emit("mouse_button", action=action, button=button, x=x, y=y)
        return self

    def click(self, x: int, y: int, button: str = "left") -> "Recording":
        self.button("down", x, y, button).wait(0.07)
        return self.button("up", x, y, button).wait(0.1)

    def move(self, x: int, y: int) -> "Recording":
        self._emit("mouse_move", x=x, y=y)
        return self.wait(0.05)

    def scroll(self, dy: int, x: int = 500, y: int = 400) -> "Recording":
        self.staged += self.typing.flush(self.t)
        self._emit("scroll", dx=0, dy=dy, x=x, y=y)
        return self.wait(0.06)

    def window(self, app: str, title: str, excluded: bool = False) -> "Recording":
        self.staged += self.typing.flush(self.t)
        extra = {"excluded": True} if excluded else {}
        self._emit(
            "window", app=app, title="" if excluded else title, x=0, y=0, w=800, h=600, **extra
        )
        if not excluded:
            self.frame("window_change")
        return self

    def items(self) -> list[dict[str, Any]]:
        self.staged += self.typing.flush(self.t)
        ordered = sorted(self.staged, key=lambda s: s.seq)
        return [{"t": s.mono, "type": s.type, **s.data} for s in ordered]

    def actions(self) -> list[dict[str, Any]]:
        return distill_actions(self.items())


def kinds(actions: list[dict[str, Any]]) -> list[str]:
    return [a["type"] for a in actions]


# -- mouse -------------------------------------------------------------------------------
def test_click_at_the_press_position_with_the_frame_taken_for_it() -> None:
    rec = Recording().frame("segment_start").wait(2).click(640, 360)
    assert rec.actions() == [{"t": 2.0, "type": "click", "frame": 2, "x": 640, "y": 360}]


def test_double_and_triple_clicks_replace_the_single_clicks() -> None:
    double = Recording().wait(1).click(100, 200).click(101, 201).wait(2).click(400, 50)
    assert [(a["type"], a["t"], a["x"]) for a in double.actions()] == [
        ("double_click", 1.0, 100),
        ("click", 3.34, 400),
    ]
    triple = Recording().click(100, 200).click(100, 200).click(102, 199)
    assert kinds(triple.actions()) == ["triple_click"]


def test_slow_or_distant_second_click_stays_a_click() -> None:
    slow = Recording().click(100, 200).wait(0.6).click(100, 200)
    distant = Recording().click(100, 200).click(160, 200)
    assert kinds(slow.actions()) == ["click", "click"]
    assert kinds(distant.actions()) == ["click", "click"]


def test_right_and_middle_clicks_do_not_combine_into_a_double_click() -> None:
    rec = Recording().click(10, 20, "right").click(10, 20, "right").click(30, 40, "middle")
    assert kinds(rec.actions()) == ["right_click", "right_click", "middle_click"]


def test_drag_follows_the_moves_between_press_and_release() -> None:
    rec = Recording().frame().wait(1).button("down", 100, 100).wait(0.05)
    for x, y in [(140, 120), (220, 180), (300, 220)]:
        rec.move(x, y)
    rec.button("up", 300, 220)
    assert rec.actions() == [
        {
            "t": 1.0,
            "type": "drag",
            "frame": 2,
            "button": "left",
            "x": 100,
            "y": 100,
            "x2": 300,
            "y2": 220,
            "duration": 0.2,
        }
    ]


def test_jitter_within_the_threshold_is_a_click_but_a_round_trip_is_a_drag() -> None:
    jitter = Recording().button("down", 100, 100).move(102, 103).button("up", 101, 101)
    round_trip = Recording().button("down", 100, 100).move(180, 100).button("up", 100, 100)
    assert kinds(jitter.actions()) == ["click"]
    assert kinds(round_trip.actions()) == ["drag"]


def test_segment_cut_mid_click_keeps_the_press_and_drops_the_lone_release() -> None:
    first = Recording().frame().wait(3).button("down", 50, 60)
    assert first.actions() == [
        {"t": 3.0, "type": "click", "frame": 2, "x": 50, "y": 60, "incomplete": True}
    ]
    second = Recording().button("up", 50, 60).wait(1).click(70, 80)
    assert [(a["type"], a["x"]) for a in second.actions()] == [("click", 70)]


# -- keyboard ----------------------------------------------------------------------------
def test_typing_with_backspaces_is_one_action_and_absorbs_its_keys() -> None:
    rec = Recording().frame().wait(1).type("helo\blo world").tap("enter")
    actions = rec.actions()
    assert actions == [
        {"t": 1.0, "type": "type", "frame": 1, "text": "hello world", "redactions": []},
        {"t": 2.56, "type": "key", "frame": 1, "key": "enter", "count": 1},
    ]


def test_shifted_capitals_stay_inside_the_run() -> None:
    rec = Recording()
    rec.key("down", "shift")
    rec.tap("letter", "H")
    rec.key("up", "shift")
    rec.type("i there")
    assert [(a["type"], a.get("text")) for a in rec.actions()] == [("type", "Hi there")]


def test_typed_text_is_the_redacted_text_of_its_run() -> None:
    rec = Recording().type("mail bob@example.com now").click(10, 10)
    typed, click = rec.actions()
    assert typed["text"] == "mail [EMAIL] now"
    assert typed["redactions"] == ["EMAIL"]
    assert "bob" not in json.dumps(typed)
    assert click["type"] == "click"


def test_a_pause_inside_a_word_keeps_one_run_and_the_first_frame() -> None:
    rec = Recording().frame().wait(1).type("alice@exa").pause().type("mple.com ok").pause()
    actions = rec.actions()
    assert [(a["type"], a["text"], a["frame"]) for a in actions] == [("type", "[EMAIL] ok", 1)]


def test_two_runs_separated_by_a_pause_after_a_space() -> None:
    rec = Recording().type("first ").pause().type("second")
    assert [a["text"] for a in rec.actions()] == ["first ", "second"]


def test_password_prompt_keys_become_one_masked_action_without_characters() -> None:
    rec = Recording().type("alice").tap("tab").type("hunter22\bx", sensitive=True)
    rec.tap("enter", sensitive=True)
    actions = rec.actions()
    assert [(a["type"], a.get("text"), a.get("key")) for a in actions] == [
        ("type", "alice", None),
        ("key", None, "tab"),
        ("type", None, None),
        ("key", None, "enter"),
    ]
    assert actions[2]["masked"] == 8
    assert "hunter" not in json.dumps(actions)


def test_hotkeys_with_a_plain_or_a_control_character() -> None:
    plain = Recording().type("draft").hotkey(["ctrl_l"], "letter", "s")
    control = Recording().type("draft").hotkey(["ctrl_r"], "symbol", "\x13")
    for rec in (plain, control):
        actions = rec.actions()
        assert [(a["type"], a.get("text"), a.get("keys")) for a in actions] == [
            ("type", "draft", None),
            ("hotkey", None, ["ctrl", "s"]),
        ]


def test_altgr_characters_are_typed_text_not_hotkeys() -> None:
    rec = Recording().type("mail bob")
    rec.key("down", "alt_gr")
    rec.tap("symbol", "@")
    rec.key("up", "alt_gr")
    rec.type("example.com now").click(5, 5)
    typed, click = rec.actions()
    assert (typed["type"], typed["text"]) == ("type", "mail [EMAIL] now")
    assert click["type"] == "click"


def test_ctrl_shift_t_names_every_modifier_in_order() -> None:
    upper = Recording().hotkey(["shift_l", "ctrl_l"], "letter", "T")
    control = Recording().hotkey(["ctrl_r", "shift_r"], "symbol", "\x14")
    for rec in (upper, control):
        assert [a["keys"] for a in rec.actions()] == [["ctrl", "shift", "t"]]


def test_named_keys_in_a_burst_merge_with_a_count() -> None:
    rec = Recording().tap("down").tap("down").tap("down").wait(1).tap("down").tap("f5")
    assert [(a["key"], a["count"]) for a in rec.actions()] == [("down", 3), ("down", 1), ("f5", 1)]


def test_alt_tab_and_shift_tab() -> None:
    rec = Recording().hotkey(["alt_l"], "tab", None).hotkey(["shift"], "tab", None)
    assert [a["keys"] for a in rec.actions()] == [["alt", "tab"], ["shift", "tab"]]


# -- scroll, windows, frames -------------------------------------------------------------
def test_a_scroll_burst_merges_but_separate_scrolls_do_not() -> None:
    burst = Recording().frame().wait(1)
    for _ in range(5):
        burst.scroll(-1)
    assert burst.actions() == [
        {"t": 1.0, "type": "scroll", "frame": 1, "x": 500, "y": 400, "dx": 0, "dy": -5, "count": 5}
    ]
    apart = Recording().scroll(-2).wait(1.5).scroll(-1)
    assert [(a["dy"], a["count"]) for a in apart.actions()] == [(-2, 1), (-1, 1)]
    reversed_ = Recording().scroll(-1).scroll(-1).scroll(1)
    assert [a["dy"] for a in reversed_.actions()] == [-2, 1]


def test_window_switch_carries_app_title_and_exclusion() -> None:
    rec = Recording().frame().window("firefox", "Inbox — Mozilla Firefox").wait(2)
    rec.window("keepassxc", "secret", excluded=True)
    assert rec.actions() == [
        {
            "t": 0.0,
            "type": "window",
            "frame": 1,
            "app": "firefox",
            "title": "Inbox — Mozilla Firefox",
        },
        {"t": 2.0, "type": "window", "frame": 2, "app": "keepassxc", "title": "", "excluded": True},
    ]


def test_without_frames_every_action_has_a_null_frame() -> None:
    rec = Recording(screen=False).click(1, 2).type("x").tap("enter").scroll(1)
    actions = rec.actions()
    assert len(actions) == 4
    assert all(a["frame"] is None for a in actions)


def test_each_action_points_at_the_frame_before_it() -> None:
    rec = Recording().frame("segment_start").wait(1).type("ok ").pause()
    rec.wait(1).click(5, 5).wait(31).frame("interval").wait(1).tap("esc")
    assert [(a["type"], a["frame"]) for a in rec.actions()] == [
        ("type", 1),
        ("click", 3),  # 2 is the typing pause frame, 3 the one taken for the click
        ("key", 4),
    ]


# -- robustness --------------------------------------------------------------------------
def test_junk_never_raises() -> None:
    junk: list[Any] = [
        None,
        "key",
        [],
        {},
        {"type": ["key"]},
        {"t": "soon", "type": "scroll"},
        {"t": float("nan"), "type": "key", "action": "down", "key": 5, "char": 7},
        {"type": "mouse_button", "action": "up"},
        {"type": "mouse_button", "action": "down", "button": None, "x": "a"},
        {"type": "mouse_button", "action": "down"},
        {"type": "text", "text": 5, "redactions": "EMAIL"},
        {"type": "text", "text": "orphan", "redactions": ["EMAIL", 3]},
        {"type": "frame", "frame": "x"},
        {"type": "frame", "frame": True},
        {"type": "window"},
        {"type": "key", "action": "down", "key": "letter", "char": None, "redacted": "CARD"},
        {"type": "teleport", "x": 1},
    ]
    actions = distill_actions(junk)
    json.dumps(actions, allow_nan=False)
    assert [a["t"] for a in actions] == sorted(a["t"] for a in actions)
    assert "orphan" in [a.get("text") for a in actions]


def test_keys_without_their_text_event_keep_only_the_stored_characters() -> None:
    items = [
        {"t": 0.1, "type": "key", "action": "down", "key": "letter", "char": "h"},
        {"t": 0.2, "type": "key", "action": "down", "key": "letter", "char": "i"},
        {
            "t": 0.3,
            "type": "key",
            "action": "down",
            "key": "digit",
            "char": None,
            "redacted": "CARD",
        },
        {
            "t": 0.4,
            "type": "key",
            "action": "down",
            "key": "digit",
            "char": None,
            "redacted": "CARD",
        },
    ]
    assert distill_actions(items) == [
        {"t": 0.1, "type": "type", "frame": None, "text": "hi[CARD]", "redactions": ["CARD"]}
    ]


# -- property ----------------------------------------------------------------------------
KEYS = ["letter", "digit", "space", "enter", "backspace", "tab", "shift", "ctrl_l", "alt_l", "f5"]
item_kinds = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("key"),
            "action": st.sampled_from(["down", "up"]),
            "key": st.sampled_from(KEYS),
            "char": st.sampled_from([None, "a", "A", "1", " ", "\x13"]),
        },
        optional={"redacted": st.sampled_from(["EMAIL", "CARD"])},
    ),
    st.fixed_dictionaries(
        {"type": st.just("text"), "text": st.text(max_size=5), "redactions": st.just([])}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("mouse_button"),
            "action": st.sampled_from(["down", "up"]),
            "button": st.sampled_from(["left", "right", "middle", "x1"]),
            "x": st.integers(0, 30),
            "y": st.integers(0, 30),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("mouse_move"), "x": st.integers(0, 30), "y": st.integers(0, 30)}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("scroll"),
            "dx": st.integers(-2, 2),
            "dy": st.integers(-2, 2),
            "x": st.integers(0, 60),
            "y": st.integers(0, 60),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("window"), "app": st.sampled_from(["a", "b"]), "title": st.just("t")},
        optional={"excluded": st.booleans()},
    ),
    st.just({"type": "frame", "trigger": "interval"}),
    st.just({"type": "unknown"}),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.7), item_kinds), max_size=40))
def test_plausible_sequences_give_ordered_actions_with_valid_frames(steps: list[Any]) -> None:
    items, t, frames = [], 0.0, 0
    for gap, item in steps:
        t = round(t + gap, 4)
        item = {"t": t, **item}
        if item["type"] == "frame":
            frames += 1
            item["frame"] = frames
        items.append(item)
    actions = distill_actions(items)
    json.dumps(actions, allow_nan=False)
    assert [a["t"] for a in actions] == sorted(a["t"] for a in actions)
    for action in actions:
        shown = {i["frame"] for i in items if i["type"] == "frame" and i["t"] <= action["t"]}
        assert action["frame"] is None or action["frame"] in shown
    frame_order = [a["frame"] or 0 for a in actions]
    assert frame_order == sorted(frame_order)
