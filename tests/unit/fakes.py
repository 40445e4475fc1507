"""Stand-ins for what cannot exist in a unit test (a display, a user at the keyboard)."""

from __future__ import annotations

import time

from app.core.capture.input import InputCapture, key_category
from app.core.model import RawInput, WindowInfo
from app.platform.base import Platform


class ScriptedInput(InputCapture):
    """An InputCapture whose events come from the test instead of pynput."""

    instances: list[ScriptedInput] = []

    def __init__(self) -> None:
        super().__init__()
        self.started = False
        ScriptedInput.instances.append(self)

    def start(self) -> None:
        self.started = True

    def stop(self, timeout: float = 2.0) -> None:
        self.started = False

    def type_text(self, text: str) -> None:
        for ch in text:
            key, char = ("space", " ") if ch == " " else (key_category(ch), ch)
            self.events.put(RawInput("key", time.monotonic(), time.time(), "down", key, char))
            self.events.put(RawInput("key", time.monotonic(), time.time(), "up", key, None))

    def press(self, name: str) -> None:
        self.events.put(RawInput("key", time.monotonic(), time.time(), "down", name, None))
        self.events.put(RawInput("key", time.monotonic(), time.time(), "up", name, None))

    def click(self, x: int, y: int) -> None:
        for action in ("down", "up"):
            self.events.put(
                RawInput(
                    "mouse_button", time.monotonic(), time.time(), action, button="left", x=x, y=y
                )
            )


class FixedWindow(Platform):
    """A platform whose window in front is whatever the test sets."""

    name = "fake"

    def __init__(self, window: WindowInfo | None = None) -> None:
        self.window = window

    def check_capture_supported(self) -> None:
        return None

    def active_window(self) -> WindowInfo | None:
        return self.window

    def visible_windows(self) -> list[WindowInfo] | None:
        return [] if self.window is None else [self.window]
