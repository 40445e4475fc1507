"""Keyboard and mouse capture through pynput.

Listener callbacks only stamp the time, build a small record and enqueue it: no I/O, no locks
held, no decisions. A full queue drops the event and counts it, so a stalled consumer can
never stall the user's input.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from app.core.errors import DisplayUnavailable
from app.core.model import RawInput

QUEUE_SIZE = 20_000


def key_fields(key: Any) -> tuple[str, str | None]:
    """(key name, typed character) for a pynput key; printable keys are named by category."""
    char = getattr(key, "char", None)
    if char is not None:
        return key_category(char), char
    name = getattr(key, "name", None)
    if name:
        # Space is a named key in pynput but typed text to a person.
        return str(name), (" " if name == "space" else None)
    vk = getattr(key, "vk", None)
    return (f"vk_{vk}" if vk is not None else "unknown"), None


def key_category(char: str) -> str:
    """The coarse class of a typed character: what is kept when the text itself may not be."""
    if char.isalpha():
        return "letter"
    if char.isdigit():
        return "digit"
    if char.isspace():
        return "space"
    return "symbol"


class InputCapture:
    """Owns the pynput listeners; `events` is the bounded queue the engine drains."""

    def __init__(self, *, keys: bool = True, mouse: bool = True, maxsize: int = QUEUE_SIZE) -> None:
        self.events: queue.Queue[RawInput] = queue.Queue(maxsize=maxsize)
        self.dropped = 0
        self._want_keys = keys
        self._want_mouse = mouse
        self._listeners: list[Any] = []
        self._lock = threading.Lock()
        self._stopped = False

    # Callbacks run on pynput's threads: keep them tiny.
    def _put(self, item: RawInput) -> None:
        if self._stopped:
            return  # a listener that has not noticed its stop yet: keep nothing
        try:
            self.events.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def _on_press(self, key: Any, injected: bool = False) -> None:
        name, char = key_fields(key)
        self._put(RawInput("key", time.monotonic(), time.time(), "down", name, char))

    def _on_release(self, key: Any, injected: bool = False) -> None:
        name, char = key_fields(key)
        self._put(RawInput("key", time.monotonic(), time.time(), "up", name, char))

    def _on_click(self, x: int, y: int, button: Any, pressed: bool, injected: bool = False) -> None:
        self._put(
            RawInput(
                "mouse_button",
                time.monotonic(),
                time.time(),
                "down" if pressed else "up",
                button=getattr(button, "name", str(button)),
                x=int(x),
                y=int(y),
            )
        )

    def _on_scroll(self, x: int, y: int, dx: int, dy: int, injected: bool = False) -> None:
        self._put(
            RawInput(
                "scroll", time.monotonic(), time.time(), x=int(x), y=int(y), dx=int(dx), dy=int(dy)
            )
        )

    def _on_move(self, x: int, y: int, injected: bool = False) -> None:
        self._put(RawInput("mouse_move", time.monotonic(), time.time(), x=int(x), y=int(y)))

    def start(self) -> None:
        try:
            from pynput import keyboard, mouse
        except ImportError as exc:  # pynput's X11 backend needs a display at import time
            raise DisplayUnavailable(f"input capture is not available here: {exc}") from exc
        with self._lock:
            if self._listeners:
                return
            if self._want_keys:
                self._listeners.append(
                    keyboard.Listener(on_press=self._on_press, on_release=self._on_release)
                )
            if self._want_mouse:
                self._listeners.append(
                    mouse.Listener(
                        on_click=self._on_click, on_scroll=self._on_scroll, on_move=self._on_move
                    )
                )
            for listener in self._listeners:
                listener.daemon = True
                listener.start()
            for listener in self._listeners:
                listener.wait()

    def stop(self, timeout: float = 0.2) -> None:
        """Stop at once. pynput's X11 listeners only notice a stop at the next input event,
        so waiting for them would delay a pause until the person touches a key; instead
        events are refused from now on and the threads (daemons) end on their own."""
        self._stopped = True
        with self._lock:
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.stop()
        deadline = time.monotonic() + timeout
        for listener in listeners:
            listener.join(max(0.0, deadline - time.monotonic()))
