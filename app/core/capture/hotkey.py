"""A global pause/resume shortcut through pynput. It only matches the one combination; no key
it sees is stored or passed on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.settings import SettingsError


def parse_hotkey(combo: str) -> list[Any]:
    """Validate a pynput hotkey such as '<ctrl>+<alt>+p'; raise SettingsError if it is not one."""
    try:
        from pynput.keyboard import HotKey
    except ImportError as exc:  # no display: nothing to validate against, accept the text
        if not combo:
            raise SettingsError("the pause shortcut is empty") from exc
        return []
    try:
        keys = HotKey.parse(combo)
    except ValueError as exc:
        raise SettingsError(f"{combo!r} is not a valid shortcut (try <ctrl>+<alt>+p)") from exc
    return list(keys)


class PauseHotkey:
    def __init__(self, combo: str, on_activate: Callable[[], None]) -> None:
        parse_hotkey(combo)
        self.combo = combo
        self._on_activate = on_activate
        self._listener: Any = None

    def start(self) -> None:
        from pynput import keyboard

        self._listener = keyboard.GlobalHotKeys({self.combo: self._on_activate})
        self._listener.daemon = True
        self._listener.start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
