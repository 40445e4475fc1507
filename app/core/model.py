"""Plain records that flow from capture through redaction into the buffer."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any


def new_id(prefix: str) -> str:
    """A random identifier; never derived from the machine, the user or the network."""
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(slots=True)
class RawInput:
    """One input event as the listener saw it. `char` is raw typed text: memory only."""

    type: str  # key | mouse_button | scroll | mouse_move
    mono: float
    wall: float
    action: str | None = None  # down | up (keys, buttons)
    key: str | None = None
    char: str | None = None
    button: str | None = None
    x: int | None = None
    y: int | None = None
    dx: int | None = None
    dy: int | None = None


@dataclass(frozen=True, slots=True)
class WindowInfo:
    app: str
    title: str
    x: int
    y: int
    w: int
    h: int
    handle: str = ""  # platform window id, for matching only; not exported
    pid: int | None = None
    wm_class: str = ""  # X11 WM_CLASS (instance and class), for scope rules; not exported

    def same_window(self, other: WindowInfo | None) -> bool:
        return other is not None and (self.handle, self.title, self.app) == (
            other.handle,
            other.title,
            other.app,
        )


@dataclass(slots=True)
class EventRecord:
    """A redacted event ready for the buffer; `data` holds the exported fields."""

    segment_id: str
    seq: int
    t: float  # seconds since segment start
    wall: float
    type: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FrameRecord:
    """An encoded, redacted frame ready for the buffer."""

    segment_id: str
    seq: int
    t: float
    wall: float
    kind: str  # key | delta
    base_seq: int | None
    w: int
    h: int
    codec: str
    trigger: str
    lag_ms: float
    payload: bytes
