"""Windows 10+: the window in front, the visible windows and password-field focus, through
user32/kernel32 with ctypes. The raw calls live in `Win32Api` (a thin seam); the decisions
in `Win32Platform` are tested anywhere with a stand-in API."""

from __future__ import annotations

import ntpath
import sys
from dataclasses import dataclass
from typing import Any, Protocol

from app.core.model import WindowInfo
from app.platform.base import Platform

ES_PASSWORD = 0x0020  # edit control style: characters shown as dots
GWL_STYLE = -16
PASSWORD_CLASSES = ("edit",)  # classic Win32 edit controls carry ES_PASSWORD


@dataclass(frozen=True)
class RawWindow:
    hwnd: int
    title: str
    class_name: str
    rect: tuple[int, int, int, int]  # left, top, right, bottom
    pid: int
    exe_path: str
    visible: bool
    cloaked: bool  # hidden by the shell (other virtual desktops, suspended apps)


class Api(Protocol):
    def foreground(self) -> int: ...
    def describe(self, hwnd: int) -> RawWindow | None: ...
    def top_level_windows(self) -> list[int]: ...  # top to bottom, as EnumWindows gives them
    def focused_control(self) -> tuple[str, int] | None: ...  # (class name, style) of focus
    # UI Automation's IsPassword of the focused element: browsers, UWP and other custom
    # controls have no ES_PASSWORD style to read. None when UI Automation cannot tell.
    def focused_is_password(self) -> bool | None: ...
    def window_at(self, x: int, y: int) -> int: ...  # WindowFromPoint; 0 for none


def _info(raw: RawWindow) -> WindowInfo:
    left, top, right, bottom = raw.rect
    exe = ntpath.basename(raw.exe_path)
    app = exe[:-4] if exe.lower().endswith(".exe") else exe
    return WindowInfo(
        app=app or raw.class_name or "unknown",
        title=raw.title,
        x=left,
        y=top,
        w=max(0, right - left),
        h=max(0, bottom - top),
        handle=hex(raw.hwnd),
        pid=raw.pid or None,
        wm_class=raw.class_name,
    )


class Win32Platform(Platform):
    name = "win32"

    def __init__(self, api: Api | None = None) -> None:
        self._api = api or Win32Api()

    def check_capture_supported(self) -> None:
        return None

    def active_window(self) -> WindowInfo | None:
        hwnd = self._api.foreground()
        raw = self._api.describe(hwnd) if hwnd else None
        return _info(raw) if raw is not None else None

    def visible_windows(self) -> list[WindowInfo] | None:
        found = []
        for hwnd in reversed(self._api.top_level_windows()):  # bottom to top
            raw = self._api.describe(hwnd)
            if raw is None or not raw.visible or raw.cloaked:
                continue
            if raw.rect[2] <= raw.rect[0] or raw.rect[3] <= raw.rect[1]:
                continue
            found.append(_info(raw))
        return found

    def window_owner_at(self, x: int, y: int) -> int | None:
        # Menus and dialogs are found; the notification-area icon belongs to Explorer.
        hwnd = self._api.window_at(x, y)
        raw = self._api.describe(hwnd) if hwnd else None
        return raw.pid if raw is not None and raw.pid else None

    def password_field_focused(self, at: float | None = None) -> bool | None:
        focus = self._api.focused_control()
        if focus is None:
            return None
        class_name, style = focus
        if class_name.lower() in PASSWORD_CLASSES:
            return bool(style & ES_PASSWORD)
        # A custom control (browser, UWP): ask UI Automation. Any failure means "unknown",
        # and the caller falls back to the sign-in title rule: it never means "not a password".
        try:
            return self._api.focused_is_password()
        except Exception:
            return None


class Win32Api:
    """The raw calls. Loaded lazily so this module imports anywhere."""

    def __init__(self) -> None:
        if sys.platform != "win32":
            raise OSError("the Win32 API exists only on Windows")
        import ctypes
        from ctypes import wintypes

        self._ct = ctypes
        self._wt = wintypes
        self._user32: Any = ctypes.windll.user32
        self._kernel32: Any = ctypes.windll.kernel32
        self._dwmapi: Any = ctypes.windll.dwmapi

        self._uia: Any = None  # IUIAutomation, created on first use

    def foreground(self) -> int:
        return int(self._user32.GetForegroundWindow() or 0)

    def window_at(self, x: int, y: int) -> int:
        return int(self._user32.WindowFromPoint(self._wt.POINT(x, y)) or 0)

    def focused_is_password(self) -> bool | None:
        """IsPassword of the focused UI Automation element (comtypes, Windows only)."""
        if self._uia is None:
            import comtypes.client  # type: ignore[import-not-found, unused-ignore]

            module: Any = comtypes.client.GetModule("UIAutomationCore.dll")
            self._uia = comtypes.client.CreateObject(
                module.CUIAutomation, interface=module.IUIAutomation
            )
        element = self._uia.GetFocusedElement()
        return None if element is None else bool(element.CurrentIsPassword)

    def _text(self, hwnd: int) -> str:
        length = self._user32.GetWindowTextLengthW(hwnd)
        buffer = self._ct.create_unicode_buffer(length + 1)
        self._user32.GetWindowTextW(hwnd, buffer, length + 1)
        return str(buffer.value)

    def _class(self, hwnd: int) -> str:
        buffer = self._ct.create_unicode_buffer(256)
        self._user32.GetClassNameW(hwnd, buffer, 256)
        return str(buffer.value)

    def _exe(self, pid: int) -> str:
        handle = self._kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return ""
        try:
            size = self._wt.DWORD(1024)
            buffer = self._ct.create_unicode_buffer(1024)
            ok = self._kernel32.QueryFullProcessImageNameW(handle, 0, buffer, self._ct.byref(size))
            return str(buffer.value) if ok else ""
        finally:
            self._kernel32.CloseHandle(handle)

    def describe(self, hwnd: int) -> RawWindow | None:
        rect = self._wt.RECT()
        if not self._user32.GetWindowRect(hwnd, self._ct.byref(rect)):
            return None
        pid = self._wt.DWORD()
        self._user32.GetWindowThreadProcessId(hwnd, self._ct.byref(pid))
        cloaked = self._wt.DWORD()
        self._dwmapi.DwmGetWindowAttribute(hwnd, 14, self._ct.byref(cloaked), 4)  # DWMWA_CLOAKED
        return RawWindow(
            hwnd=hwnd,
            title=self._text(hwnd),
            class_name=self._class(hwnd),
            rect=(rect.left, rect.top, rect.right, rect.bottom),
            pid=int(pid.value),
            exe_path=self._exe(int(pid.value)),
            visible=bool(self._user32.IsWindowVisible(hwnd)),
            cloaked=bool(cloaked.value),
        )

    def top_level_windows(self) -> list[int]:
        handles: list[int] = []
        winfunctype: Any = self._ct.WINFUNCTYPE  # type: ignore[attr-defined]  # Windows only
        callback_type = winfunctype(self._wt.BOOL, self._wt.HWND, self._wt.LPARAM)

        def collect(hwnd: int, _lparam: int) -> bool:
            handles.append(int(hwnd))
            return True

        self._user32.EnumWindows(callback_type(collect), 0)
        return handles

    def focused_control(self) -> tuple[str, int] | None:
        class GuiThreadInfo(self._ct.Structure):  # type: ignore[name-defined]
            _fields_ = [
                ("cbSize", self._wt.DWORD),
                ("flags", self._wt.DWORD),
                ("hwndActive", self._wt.HWND),
                ("hwndFocus", self._wt.HWND),
                ("hwndCapture", self._wt.HWND),
                ("hwndMenuOwner", self._wt.HWND),
                ("hwndMoveSize", self._wt.HWND),
                ("hwndCaret", self._wt.HWND),
                ("rcCaret", self._wt.RECT),
            ]

        info = GuiThreadInfo()
        info.cbSize = self._ct.sizeof(GuiThreadInfo)
        if not self._user32.GetGUIThreadInfo(0, self._ct.byref(info)) or not info.hwndFocus:
            return None
        style = self._user32.GetWindowLongW(info.hwndFocus, GWL_STYLE)
        return self._class(info.hwndFocus), int(style)
