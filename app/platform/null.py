"""Fallback for systems without a window-tracking implementation: knows no window."""

from __future__ import annotations

from app.core.model import WindowInfo
from app.platform.base import Platform


class NullPlatform(Platform):
    name = "null"

    def __init__(self, reason: str = "no platform support") -> None:
        self.reason = reason

    def check_capture_supported(self) -> None:
        return None

    def active_window(self) -> WindowInfo | None:
        return None
