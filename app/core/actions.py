"""Actions: what a person did in a segment, distilled from its recorded events.

`distill_actions(items)` reads one segment's items (the lines of events.jsonl, frames included)
in recorded order and returns its actions in time order. Every action has `t` (seconds since
the segment started, when the action began), `type`, and `frame`: the index of the last frame
recorded before the action's first event, i.e. the screen the person saw when acting (None
when no frame came before it).

Action types and their other fields:

- `click`, `right_click`, `middle_click`, `double_click`, `triple_click`: `x`, `y` where the
  button went down; a click of another button is a `click` with `button` (`x1`, ...).
- `drag`: `button`, `x`, `y` (press), `x2`, `y2` (release), `duration` (seconds).
  Clicks and drags whose release was not recorded (the segment ended) have `incomplete: true`.
- `type`: `text` (already redacted, backspaces applied) and `redactions` (categories, in order).
  Keys typed into a password prompt give `text: null` and `masked`, how many characters.
- `hotkey`: `keys` such as `["ctrl", "shift", "t"]` or `["shift", "tab"]`, `count` of presses.
- `key`: `key` such as `enter`, `tab`, `esc`, `down`, `f5`; `count` of presses in a burst.
- `scroll`: `x`, `y` of the first event, summed `dx`, `dy`, and `count` of events merged.
- `window`: `app`, `title`, and `excluded` when the window is out of scope.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CLICK_SLOP_PX = 4.0  # farther than this between press and release makes a drag
MULTI_CLICK_S = 0.5  # between the presses of a double or triple click (the usual OS default)
MULTI_CLICK_PX = 5.0
KEY_BURST_S = 0.5  # gap between presses of one key that still count as one burst
SCROLL_GAP_S = 0.5
SCROLL_PX = 40.0  # a wheel burst follows the pointer only this far

CHARACTER_KEYS = frozenset({"letter", "digit", "symbol", "space"})  # categories of typed keys
MODIFIER_ORDER = ("ctrl", "alt", "altgr", "shift", "cmd", "super")
CLICK_TYPES = {"left": "click", "right": "right_click", "middle": "middle_click"}
NEXT_CLICK = {"click": "double_click", "double_click": "triple_click"}

Point = tuple[Any, Any]


def _num(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dist(a: Point | None, b: Point | None) -> float:
    if a is None or b is None or None in a or None in b:
        return 0.0  # an unknown position is never evidence of movement
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _modifier(name: str) -> str | None:
    if name.startswith("alt_gr"):
        return "altgr"
    return next((m for m in MODIFIER_ORDER if name.startswith(m)), None)


def _main_key(name: str, char: str | None) -> str:
    """The key of a shortcut as a person names it."""
    if char and len(char) == 1 and ord(char) < 0x20:
        return chr(ord(char) + 0x40).lower()  # Ctrl+S arrives as "\x13" on some platforms
    if char == " ":
        return "space"
    if char and char.isprintable():
        return char.lower()  # Ctrl+Shift+T may arrive as "T"
    return name


@dataclass
class _Press:
    """A mouse button held down."""

    t: float
    order: int
    frame: int | None
    at: Point
    last: Point
    moved: float = 0.0


@dataclass
class _Run:
    """Typed text being collected; `pieces` rebuild it only if its text event never comes."""

    action: dict[str, Any]
    pieces: list[str] = field(default_factory=list)


class _Distiller:
    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []
        self.order: list[int] = []  # index of each action's first item, to break ties in `t`
        self.index = 0
        self.t = 0.0
        self.frame: int | None = None
        self.pos: Point | None = None
        self.held: set[str] = set()  # raw names of modifier keys that are down
        self.presses: dict[str, _Press] = {}
        self.run: _Run | None = None  # typed text whose run is still going
        self.awaiting: _Run | None = None  # a run that ended; its text event comes next
        self.masked: dict[str, Any] | None = None  # keys typed into a password prompt
        self.last: dict[str, Any] | None = None  # the newest action, which a burst may extend
        self.last_t = 0.0
        self.last_pos: Point | None = None
        self.handlers: dict[str, Callable[[Mapping[str, Any]], object]] = {
            "key": self._on_key,
            "text": self._on_text,
            "mouse_move": self._position,
            "mouse_button": self._on_mouse_button,
            "scroll": self._on_scroll,
            "window": self._on_window,
            "frame": self._on_frame,
        }

    def feed(self, index: int, item: Any) -> None:
        if not isinstance(item, Mapping):
            return
        self.index = index
        t = _num(item.get("t"))
        if t is not None:
            self.t = float(t)
        handler = self.handlers.get(_str(item.get("type")) or "")  # unknown types: skipped
        if handler is not None:
            handler(item)

    def finish(self) -> list[dict[str, Any]]:
        for button in list(self.presses):
            self._release(button, None, incomplete=True)
        for run in (self.awaiting, self.run):
            if run is not None:
                self._settle(run, None)
        kept = [
            (a["t"], order, a)
            for a, order in zip(self.actions, self.order, strict=True)
            if not (a["type"] == "type" and (a["text"] == "" or a.get("masked") == 0))
        ]
        return [a for _, _, a in sorted(kept, key=lambda k: (k[0], k[1]))]

    # -- building actions ----------------------------------------------------------
    def _add(
        self, kind: str, fields: dict[str, Any], began: _Press | None = None
    ) -> dict[str, Any]:
        """A new action that began now, or when `began` pressed its button."""
        source = began or self
        action = {"t": source.t, "type": kind, "frame": source.frame, **fields}
        self.actions.append(action)
        self.order.append(began.order if began else self.index)
        self.last = action
        return action

    def _interrupt(self) -> None:
        """Another action starts: typed text ends here (its text event may still follow)."""
        self.masked = None
        if self.run is not None:
            if self.awaiting is not None:
                self._settle(self.awaiting, None)
            self.awaiting, self.run = self.run, None

    def _settle(self, run: _Run, item: Mapping[str, Any] | None) -> None:
        if item is not None and isinstance(item.get("text"), str):
            found = item.get("redactions")
            found = [r for r in found if isinstance(r, str)] if isinstance(found, list) else []
            run.action.update(text=item["text"], redactions=found)
            return
        # Without its text event, the kept characters are all that may be shown.
        run.action["text"] = "".join(run.pieces)
        run.action["redactions"] = [p[1:-1] for p in run.pieces if len(p) > 1]

    # -- keys ----------------------------------------------------------------------
    def _on_key(self, item: Mapping[str, Any]) -> None:
        name = _str(item.get("key")) or "unknown"
        char = _str(item.get("char"))
        action = item.get("action")
        if action == "up":
            self.held.discard(name)
            return
        if action != "down":
            return
        if _modifier(name) is not None:
            self.held.add(name)
            return
        mods = {_modifier(h) for h in self.held}
        typed = (char is not None and char.isprintable()) or bool(_str(item.get("redacted")))
        # AltGr types characters on many layouts ("@" on a German keyboard): text, not a hotkey.
        if mods - {"shift"} and not ("altgr" in mods and typed):
            keys = [m for m in MODIFIER_ORDER if m in mods] + [_main_key(name, char)]
            self._pressed("hotkey", "keys", keys)
        elif char is not None or _str(item.get("redacted")):
            self._typed(char, _str(item.get("redacted")) or "REDACTED")
        elif name == "backspace" and (self.run is not None or self.masked is not None):
            self._backspace()
        elif name in CHARACTER_KEYS:
            self._masked_key()
        elif "shift" in mods:
            self._pressed("hotkey", "keys", ["shift", name])  # Shift+Tab, Shift+arrow
        else:
            self._pressed("key", "key", name)

    def _pressed(self, kind: str, name: str, value: Any) -> None:
        self._interrupt()
        last = self.last
        if (
            last is not None
            and last["type"] == kind
            and last[name] == value
            and 0 <= self.t - self.last_t <= KEY_BURST_S
        ):
            last["count"] += 1
        else:
            self._add(kind, {name: value, "count": 1})
        self.last_t = self.t

    def _typed(self, char: str | None, category: str) -> None:
        if self.run is None:
            self._interrupt()
            if self.awaiting is not None:  # its text event never came
                self._settle(self.awaiting, None)
                self.awaiting = None
            self.run = _Run(self._add("type", {"text": None, "redactions": []}))
        placeholder = f"[{category}]"
        if char is not None:
            self.run.pieces.append(char)
        elif not self.run.pieces or self.run.pieces[-1] != placeholder:
            self.run.pieces.append(placeholder)  # a hit spans many keys but is one placeholder

    def _backspace(self) -> None:
        if self.run is not None:
            if self.run.pieces:
                self.run.pieces.pop()
        elif self.masked is not None:
            self.masked["masked"] = max(0, self.masked["masked"] - 1)

    def _masked_key(self) -> None:
        if self.masked is None:
            self._interrupt()
            self.masked = self._add("type", {"text": None, "redactions": [], "masked": 0})
        self.masked["masked"] += 1

    def _on_text(self, item: Mapping[str, Any]) -> None:
        run = self.awaiting or self.run
        if run is None:  # its keys were not recorded: the text alone still says what was typed
            self._interrupt()
            run = _Run(self._add("type", {"text": None, "redactions": []}))
        elif run is self.awaiting:
            self.awaiting = None
        else:
            self.run = None
        self._settle(run, item)

    # -- mouse ---------------------------------------------------------------------
    def _position(self, item: Mapping[str, Any]) -> Point | None:
        x, y = _num(item.get("x")), _num(item.get("y"))
        if x is None or y is None:
            return self.pos
        self.pos = (x, y)
        for press in self.presses.values():
            press.moved = max(press.moved, _dist(press.at, self.pos))
            press.last = self.pos
        return self.pos

    def _on_mouse_button(self, item: Mapping[str, Any]) -> None:
        button = _str(item.get("button")) or "left"
        action = item.get("action")
        if action == "down":
            self._interrupt()
            if button in self.presses:  # its release was lost
                self._release(button, None, incomplete=True)
            at = self._position(item) or (None, None)
            self.presses[button] = _Press(self.t, self.index, self.frame, at, at)
        elif action == "up" and button in self.presses:
            self._release(button, self._position(item))
        # An unmatched release belongs to a press in the previous segment: nothing to add.

    def _release(self, button: str, at: Point | None, *, incomplete: bool = False) -> None:
        press = self.presses.pop(button)
        end = at or press.last
        moved = max(press.moved, _dist(press.at, end))
        extra: dict[str, Any] = {"incomplete": True} if incomplete else {}
        if moved > CLICK_SLOP_PX:
            fields = {"button": button, "x": press.at[0], "y": press.at[1], "x2": end[0]}
            fields.update(y2=end[1], duration=round(max(0.0, self.t - press.t), 4), **extra)
            self._add("drag", fields, press)
            return
        kind = CLICK_TYPES.get(button, "click")
        last = self.last
        if (
            kind == "click"
            and button == "left"
            and not incomplete
            and last is not None
            and last["type"] in NEXT_CLICK
            and "button" not in last
            and "incomplete" not in last
            and 0 <= press.t - self.last_t <= MULTI_CLICK_S
            and _dist((last["x"], last["y"]), press.at) <= MULTI_CLICK_PX
        ):
            last["type"] = NEXT_CLICK[last["type"]]
        else:
            if kind == "click" and button != "left":
                extra["button"] = button
            self._add(kind, {"x": press.at[0], "y": press.at[1], **extra}, press)
        self.last_t = press.t

    def _on_scroll(self, item: Mapping[str, Any]) -> None:
        dx, dy = _num(item.get("dx")) or 0, _num(item.get("dy")) or 0
        at = self._position(item) or (None, None)
        self._interrupt()
        last = self.last
        if (
            last is not None
            and last["type"] == "scroll"
            and 0 <= self.t - self.last_t <= SCROLL_GAP_S
            and _dist(self.last_pos, at) <= SCROLL_PX
            and last["dx"] * dx >= 0  # reversing the wheel is a new intent
            and last["dy"] * dy >= 0
        ):
            last["dx"] += dx
            last["dy"] += dy
            last["count"] += 1
        else:
            self._add("scroll", {"x": at[0], "y": at[1], "dx": dx, "dy": dy, "count": 1})
        self.last_t, self.last_pos = self.t, at

    # -- windows and frames --------------------------------------------------------
    def _on_window(self, item: Mapping[str, Any]) -> None:
        self._interrupt()
        fields: dict[str, Any] = {"app": _str(item.get("app")), "title": _str(item.get("title"))}
        if "excluded" in item:
            fields["excluded"] = bool(item["excluded"])
        if fields.get("excluded"):
            # Nothing is recorded in an excluded window, so releases made there are lost.
            for button in list(self.presses):
                self._release(button, None, incomplete=True)
            self.held.clear()
        self._add("window", fields)

    def _on_frame(self, item: Mapping[str, Any]) -> None:
        index = item.get("frame")
        valid = isinstance(index, int) and not isinstance(index, bool) and index >= 1
        self.frame = index if valid else (self.frame or 0) + 1


def distill_actions(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The actions of one segment, from its items in recorded order (see the module doc)."""
    distiller = _Distiller()
    for index, item in enumerate(items):
        distiller.feed(index, item)
    return distiller.finish()
