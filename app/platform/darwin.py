"""macOS 12+: the window in front and the visible windows through Quartz window lists, and
password entry through Secure Event Input (the system turns it on while a password field has
the focus). Raw calls live in `DarwinApi`, a thin seam; the logic is tested anywhere.

Screen Recording and Accessibility permissions are needed; `check_capture_supported` says
which one is missing and where to grant it."""

from __future__ import annotations

import sys
from typing import Any, Protocol

from app.core.errors import DisplayUnavailable
from app.core.model import WindowInfo
from app.platform.base import Platform


class Api(Protocol):
    def windows_front_to_back(self) -> list[dict[str, Any]]: ...  # CGWindowListCopyWindowInfo
    def frontmost_pid(self) -> int | None: ...
    def secure_input_enabled(self) -> bool | None: ...
    def screen_recording_allowed(self) -> bool: ...
    def accessibility_allowed(self) -> bool: ...


def _info(entry: dict[str, Any]) -> WindowInfo:
    bounds = entry.get("kCGWindowBounds") or {}
    return WindowInfo(
        app=str(entry.get("kCGWindowOwnerName") or "unknown"),
        title=str(entry.get("kCGWindowName") or ""),
        x=int(bounds.get("X", 0)),
        y=int(bounds.get("Y", 0)),
        w=int(bounds.get("Width", 0)),
        h=int(bounds.get("Height", 0)),
        handle=str(entry.get("kCGWindowNumber", "")),
        pid=int(entry["kCGWindowOwnerPID"]) if entry.get("kCGWindowOwnerPID") else None,
    )


def _on_screen_app_windows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Layer 0 holds ordinary app windows; menus, the Dock and overlays live above it.
    return [
        e for e in entries if e.get("kCGWindowLayer", 0) == 0 and e.get("kCGWindowIsOnscreen", True)
    ]


class DarwinPlatform(Platform):
    name = "darwin"

    def __init__(self, api: Api | None = None) -> None:
        self._api = api or DarwinApi()

    def check_capture_supported(self) -> None:
        if not self._api.screen_recording_allowed():
            raise DisplayUnavailable(
                "Praxis may not record the screen yet. Open System Settings > Privacy & Security "
                "> Screen Recording, turn Praxis on, then start it again."
            )
        if not self._api.accessibility_allowed():
            raise DisplayUnavailable(
                "Praxis may not see keys and clicks yet. Open System Settings > Privacy & "
                "Security > Accessibility, turn Praxis on, then start it again."
            )

    def active_window(self) -> WindowInfo | None:
        pid = self._api.frontmost_pid()
        for entry in _on_screen_app_windows(self._api.windows_front_to_back()):
            if pid is None or entry.get("kCGWindowOwnerPID") == pid:
                return _info(entry)
        return None

    def visible_windows(self) -> list[WindowInfo] | None:
        entries = _on_screen_app_windows(self._api.windows_front_to_back())
        return [_info(e) for e in reversed(entries)]  # bottom to top

    def window_owner_at(self, x: int, y: int) -> int | None:
        # Every layer counts here: a menu-bar item (the tray icon) and menus sit above layer 0.
        for entry in self._api.windows_front_to_back():
            bounds = entry.get("kCGWindowBounds") or {}
            left, top = bounds.get("X", 0), bounds.get("Y", 0)
            if left <= x < left + bounds.get("Width", 0) and top <= y < top + bounds.get(
                "Height", 0
            ):
                pid = entry.get("kCGWindowOwnerPID")
                return int(pid) if pid else None
        return None

    def password_field_focused(self, at: float | None = None) -> bool | None:
        # Secure Event Input is on exactly while a secure text field (or sudo in Terminal)
        # has the focus; while it is on, nothing can read the keys anyway.
        return self._api.secure_input_enabled()


class DarwinApi:
    """The raw calls (pyobjc's Quartz and AppKit, Carbon through ctypes)."""

    def __init__(self) -> None:
        if sys.platform != "darwin":
            raise OSError("the macOS APIs exist only on macOS")

    def windows_front_to_back(self) -> list[dict[str, Any]]:
        import Quartz

        options = (
            Quartz.kCGWindowListOptionOnScreenOnly | Quartz.kCGWindowListExcludeDesktopElements
        )
        return [
            dict(e)
            for e in Quartz.CGWindowListCopyWindowInfo(options, Quartz.kCGNullWindowID) or []
        ]

    def frontmost_pid(self) -> int | None:
        from AppKit import NSWorkspace

        app = NSWorkspace.sharedWorkspace().frontmostApplication()
        return int(app.processIdentifier()) if app is not None else None

    def secure_input_enabled(self) -> bool | None:
        import ctypes
        import ctypes.util

        path = ctypes.util.find_library("Carbon")
        if not path:
            return None
        carbon = ctypes.cdll.LoadLibrary(path)
        carbon.IsSecureEventInputEnabled.restype = ctypes.c_bool
        return bool(carbon.IsSecureEventInputEnabled())

    def screen_recording_allowed(self) -> bool:
        import Quartz

        preflight = getattr(Quartz, "CGPreflightScreenCaptureAccess", None)
        return bool(preflight()) if preflight else True

    def accessibility_allowed(self) -> bool:
        from ApplicationServices import AXIsProcessTrusted

        return bool(AXIsProcessTrusted())
