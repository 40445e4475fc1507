"""Praxis's own windows are not the person's work: clicks on its tray icon and menus, and
keys typed into its dialogs, are not kept, and no screenshot is taken for them."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.export import export
from app.core.model import WindowInfo
from app.core.recorder import Recorder
from app.core.settings import Settings
from tests.unit.fakes import FixedWindow, ScriptedInput
from tests.unit.test_recorder import TERMINAL, keyboard, wait_for

MENU = (1800, 1000, 120, 80)  # x, y, w, h of a Praxis tray menu on screen


class DesktopWithPraxisMenu(FixedWindow):
    """The terminal has the focus; a Praxis menu is open in the corner."""

    def window_owner_at(self, x: int, y: int) -> int | None:
        mx, my, mw, mh = MENU
        return os.getpid() if mx <= x < mx + mw and my <= y < my + mh else 4242


@pytest.fixture
def platform() -> DesktopWithPraxisMenu:
    return DesktopWithPraxisMenu(TERMINAL)


@pytest.fixture
def recorder(data_dir: Path, platform: DesktopWithPraxisMenu) -> Iterator[Recorder]:
    made = Recorder(
        data_dir,
        Settings(capture_screen=False),
        platform_factory=lambda: platform,
        input_factory=ScriptedInput,
    )
    made.accept_consent()
    made.start()
    yield made
    made.shutdown()


def _events(recorder: Recorder, out: Path) -> list[dict]:
    recorder.flush_to_disk()
    found = []
    for folder in export(recorder.buffer, out):
        found += [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines()]
    return found


def test_clicks_on_praxis_menus_are_not_kept(recorder: Recorder, tmp_path: Path) -> None:
    kb = keyboard()
    kb.click(10, 20)  # the person's work
    kb.click(1810, 1010)  # the Praxis menu
    kb.click(30, 40)
    wait_for(lambda: kb.events.empty())
    clicks = [
        (e["x"], e["y"]) for e in _events(recorder, tmp_path / "out") if e["type"] == "mouse_button"
    ]
    assert clicks == [(10, 20), (10, 20), (30, 40), (30, 40)]


def test_keys_typed_into_a_praxis_window_are_not_kept(
    recorder: Recorder, platform: DesktopWithPraxisMenu, tmp_path: Path
) -> None:
    kb = keyboard()
    kb.type_text("work ")
    wait_for(lambda: kb.events.empty())
    platform.window = WindowInfo("praxis", "Praxis settings", 0, 0, 400, 300, "0x9", os.getpid())
    wait_for(lambda: recorder.status(with_counts=False).excluded, timeout=5)
    kb.type_text("settings")
    wait_for(lambda: kb.events.empty())
    platform.window = TERMINAL
    wait_for(lambda: not recorder.status(with_counts=False).excluded, timeout=5)
    kb.type_text("more")
    wait_for(lambda: kb.events.empty())
    texts = [e["text"] for e in _events(recorder, tmp_path / "out") if e["type"] == "text"]
    assert "settings" not in " ".join(texts)
    assert any("work" in t for t in texts) and any("more" in t for t in texts)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")
def test_x11_names_the_owner_of_the_window_under_a_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from Xlib import X, Xatom
    from Xlib import display as xdisplay

    from app.platform.linux import LinuxX11Platform
    from tests.support.xvfb import start_xvfb

    proc, name = start_xvfb(tmp_path / "xvfb.log")
    try:
        conn = xdisplay.Display(name)
        root = conn.screen().root
        for pid, x in ((os.getpid(), 100), (4242, 600)):
            window = root.create_window(x, 100, 300, 200, 0, X.CopyFromParent)
            window.change_property(conn.intern_atom("_NET_WM_PID"), Xatom.CARDINAL, 32, [pid])
            window.map()
        conn.sync()
        monkeypatch.setenv("DISPLAY", name)
        platform = LinuxX11Platform()
        try:
            assert platform.window_owner_at(150, 150) == os.getpid()
            assert platform.window_owner_at(650, 150) == 4242
            assert platform.window_owner_at(1500, 900) is None  # the bare root window
        finally:
            platform.close()
            conn.close()
    finally:
        proc.kill()
        proc.wait(5)


def test_windows_and_macos_name_the_owner_of_the_window_under_a_point() -> None:
    from app.platform.darwin import DarwinPlatform
    from app.platform.win32 import RawWindow, Win32Platform

    menu = RawWindow(7, "", "#32768", (100, 100, 300, 400), 321, "C:\\praxis.exe", True, False)

    class WinApi:
        def window_at(self, x: int, y: int) -> int:
            return 7 if 100 <= x < 300 and 100 <= y < 400 else 0

        def describe(self, hwnd: int) -> RawWindow | None:
            return menu if hwnd == 7 else None

    win = Win32Platform(api=WinApi())  # type: ignore[arg-type]
    assert (win.window_owner_at(150, 150), win.window_owner_at(500, 500)) == (321, None)

    class MacApi:
        def windows_front_to_back(self) -> list[dict]:
            return [
                {  # the menu-bar item, above every app window
                    "kCGWindowLayer": 25,
                    "kCGWindowOwnerPID": 321,
                    "kCGWindowBounds": {"X": 1200, "Y": 0, "Width": 24, "Height": 24},
                },
                {
                    "kCGWindowLayer": 0,
                    "kCGWindowOwnerPID": 99,
                    "kCGWindowBounds": {"X": 0, "Y": 0, "Width": 1440, "Height": 900},
                },
            ]

    mac = DarwinPlatform(api=MacApi())  # type: ignore[arg-type]
    assert (mac.window_owner_at(1210, 10), mac.window_owner_at(500, 500)) == (321, 99)
