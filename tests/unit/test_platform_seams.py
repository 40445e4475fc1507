"""Windows and macOS logic, tested through their thin API seams (those systems are not here)."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.errors import DisplayUnavailable
from app.platform import get_platform
from app.platform.darwin import DarwinPlatform
from app.platform.linux import wayland_reason
from app.platform.null import NullPlatform
from app.platform.win32 import ES_PASSWORD, RawWindow, Win32Platform


class FakeWin32:
    def __init__(self) -> None:
        self.windows = {
            0x10: RawWindow(
                0x10,
                "Inbox - Outlook",
                "rctrl_renwnd32",
                (0, 0, 800, 600),
                41,
                r"C:\Program Files\Microsoft Office\OUTLOOK.EXE",
                True,
                False,
            ),
            0x20: RawWindow(
                0x20,
                "KeePassXC",
                "Qt5QWindowIcon",
                (100, 100, 500, 400),
                42,
                r"C:\Apps\KeePassXC\KeePassXC.exe",
                True,
                False,
            ),
            0x30: RawWindow(0x30, "hidden", "Shell", (0, 0, 10, 10), 43, "", False, False),
            0x40: RawWindow(
                0x40, "Settings", "ApplicationFrameWindow", (0, 0, 300, 300), 44, "", True, True
            ),
        }
        self.front = 0x20
        self.focus: tuple[str, int] | None = ("Edit", ES_PASSWORD | 0x80)

    def foreground(self) -> int:
        return self.front

    def describe(self, hwnd: int) -> RawWindow | None:
        return self.windows.get(hwnd)

    def top_level_windows(self) -> list[int]:
        return [0x20, 0x30, 0x40, 0x10]  # top to bottom

    def focused_control(self) -> tuple[str, int] | None:
        return self.focus

    uia: bool | None | Exception = None

    def focused_is_password(self) -> bool | None:
        if isinstance(self.uia, Exception):
            raise self.uia
        return self.uia


def test_win32_active_window_names_the_executable() -> None:
    window = Win32Platform(FakeWin32()).active_window()
    assert window is not None
    assert (window.app, window.title, window.x, window.w, window.h) == (
        "KeePassXC",
        "KeePassXC",
        100,
        400,
        300,
    )


def test_win32_visible_windows_bottom_to_top_without_hidden_or_cloaked() -> None:
    windows = Win32Platform(FakeWin32()).visible_windows()
    assert [w.app for w in windows or []] == ["OUTLOOK", "KeePassXC"]


@pytest.mark.parametrize(
    ("focus", "expected"),
    [
        (("Edit", ES_PASSWORD), True),
        (("Edit", 0), False),
        (("Chrome_RenderWidgetHostHWND", 0), None),
        (None, None),
    ],
)
def test_win32_password_focus(focus: tuple[str, int] | None, expected: bool | None) -> None:
    api = FakeWin32()
    api.focus = focus
    assert Win32Platform(api).password_field_focused() is expected


@pytest.mark.parametrize(
    ("uia", "expected"),
    [(True, True), (False, False), (None, None), (OSError("COM is not initialised"), None)],
)
def test_win32_custom_controls_ask_ui_automation(
    uia: bool | None | Exception, expected: bool | None
) -> None:
    api = FakeWin32()
    api.focus = ("Chrome_RenderWidgetHostHWND", 0)  # a browser's page: no ES_PASSWORD to read
    api.uia = uia
    assert Win32Platform(api).password_field_focused() is expected
    api.focus = ("Edit", 0)  # a classic edit control answers by its style, without UIA
    assert Win32Platform(api).password_field_focused() is False


class FakeDarwin:
    def __init__(self) -> None:
        self.secure = False
        self.recording = True
        self.accessibility = True

    def windows_front_to_back(self) -> list[dict[str, Any]]:
        return [
            {"kCGWindowLayer": 25, "kCGWindowOwnerName": "Dock", "kCGWindowOwnerPID": 9},
            {
                "kCGWindowLayer": 0,
                "kCGWindowOwnerName": "Safari",
                "kCGWindowName": "Private Browsing",
                "kCGWindowOwnerPID": 7,
                "kCGWindowNumber": 71,
                "kCGWindowBounds": {"X": 10, "Y": 20, "Width": 300, "Height": 200},
            },
            {
                "kCGWindowLayer": 0,
                "kCGWindowOwnerName": "Terminal",
                "kCGWindowName": "zsh",
                "kCGWindowOwnerPID": 8,
                "kCGWindowNumber": 81,
                "kCGWindowBounds": {"X": 0, "Y": 0, "Width": 640, "Height": 480},
            },
        ]

    def frontmost_pid(self) -> int | None:
        return 8

    def secure_input_enabled(self) -> bool | None:
        return self.secure

    def screen_recording_allowed(self) -> bool:
        return self.recording

    def accessibility_allowed(self) -> bool:
        return self.accessibility


def test_darwin_front_window_is_the_frontmost_apps_top_window() -> None:
    window = DarwinPlatform(FakeDarwin()).active_window()
    assert window is not None and (window.app, window.title, window.w) == ("Terminal", "zsh", 640)


def test_darwin_visible_windows_skip_the_dock_and_go_bottom_to_top() -> None:
    assert [w.app for w in DarwinPlatform(FakeDarwin()).visible_windows() or []] == [
        "Terminal",
        "Safari",
    ]


def test_darwin_secure_input_means_password_focus() -> None:
    api = FakeDarwin()
    assert DarwinPlatform(api).password_field_focused() is False
    api.secure = True
    assert DarwinPlatform(api).password_field_focused() is True


@pytest.mark.parametrize(
    ("missing", "words"), [("recording", "Screen Recording"), ("accessibility", "Accessibility")]
)
def test_darwin_missing_permission_is_explained(missing: str, words: str) -> None:
    api = FakeDarwin()
    setattr(api, missing, False)
    with pytest.raises(DisplayUnavailable, match=words):
        DarwinPlatform(api).check_capture_supported()


def test_wayland_and_missing_display_are_explained() -> None:
    assert "Wayland" in (wayland_reason({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) or "")
    assert "DISPLAY" in (wayland_reason({}) or "")
    assert wayland_reason({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}) is None


def test_unknown_systems_get_the_null_platform() -> None:
    platform = get_platform("sunos5")
    assert isinstance(platform, NullPlatform) and platform.active_window() is None
    assert platform.password_field_focused() is None and platform.visible_windows() is None


def test_compound_text_titles_decode() -> None:
    from app.platform.linux import decode_compound_text

    raw = b"Sign in \x1b%G\xe2\x80\x94\x1b%@ Example"
    assert decode_compound_text(raw) == "Sign in \u2014 Example"
    assert decode_compound_text(b"caf\xe9") == "caf\u00e9"
    assert decode_compound_text(b"\x1b-Acaf\xe9") == "caf\u00e9"
