"""Words for the review window: actions, segments and times as a person would say them.
No Qt here, so the wording is tested like any other logic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

_CLICKS = {
    "click": "Clicked",
    "double_click": "Double-clicked",
    "triple_click": "Triple-clicked",
    "right_click": "Right-clicked",
    "middle_click": "Middle-clicked",
}
_KEY_NAMES = {
    "ctrl": "Ctrl",
    "alt": "Alt",
    "altgr": "AltGr",
    "shift": "Shift",
    "cmd": "Cmd",
    "super": "Super",
    "esc": "Esc",
    "page_up": "Page Up",
    "page_down": "Page Down",
}


def key_name(key: str) -> str:
    if key in _KEY_NAMES:
        return _KEY_NAMES[key]
    return key.upper() if len(key) == 1 else key.replace("_", " ").capitalize()


def _times(action: dict[str, Any]) -> str:
    count = int(action.get("count") or 1)
    return f" ×{count}" if count > 1 else ""


def _clip(text: str, limit: int = 80) -> str:
    text = text.replace("\n", "⏎")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_action(action: dict[str, Any]) -> str:
    kind = action.get("type")
    if kind in _CLICKS:
        return f"{_CLICKS[kind]} at {action.get('x')}, {action.get('y')}"
    if kind == "drag":
        return (
            f"Dragged from {action.get('x')}, {action.get('y')}"
            f" to {action.get('x2')}, {action.get('y2')}"
        )
    if kind == "type":
        if action.get("text") is None:
            return f"Typed {action.get('masked', 0)} characters into a password field (not kept)"
        return f"Typed “{_clip(str(action['text']))}”"
    if kind == "hotkey":
        return "Pressed " + "+".join(key_name(k) for k in action.get("keys", [])) + _times(action)
    if kind == "key":
        return f"Pressed {key_name(str(action.get('key')))}{_times(action)}"
    if kind == "scroll":
        dy, dx = int(action.get("dy") or 0), int(action.get("dx") or 0)
        direction = (
            ("up" if dy > 0 else "down") if abs(dy) >= abs(dx) else ("left" if dx < 0 else "right")
        )
        notches = abs(dy) if abs(dy) >= abs(dx) else abs(dx)
        return f"Scrolled {direction} {notches} step{'s' if notches != 1 else ''}"
    if kind == "window":
        if action.get("excluded"):
            return f"Switched to {action.get('app') or 'an excluded app'} (excluded: nothing kept)"
        title = action.get("title") or ""
        return f"Switched to {action.get('app') or 'a window'}" + (
            f": “{_clip(title, 60)}”" if title else ""
        )
    return str(kind)


def offset_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}"


def day_text(ts: float, now: float) -> str:
    day, today = datetime.fromtimestamp(ts).date(), datetime.fromtimestamp(now).date()
    if day == today:
        return "Today"
    if (today - day).days == 1:
        return "Yesterday"
    return datetime.fromtimestamp(ts).strftime("%a %d %b")


def span_text(started: float, ended: float | None, now: float) -> str:
    end = ended if ended is not None else started
    minutes = max(0, round((end - started) / 60))
    length = f"{minutes} min" if minutes else "under a minute"
    start_clock = datetime.fromtimestamp(started).strftime("%H:%M")
    end_clock = datetime.fromtimestamp(end).strftime("%H:%M")
    return f"{day_text(started, now)} {start_clock}–{end_clock} ({length})"
