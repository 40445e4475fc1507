"""The tray app as a person meets it: a real X server with a system tray (trayer), the app as
its own process, and a right-click on its icon. Nothing is faked here."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.xdesktop import Desktop, Rect, count_color, text_rows, wait_for

pytestmark = pytest.mark.x11

RED = (0xD9, 0x30, 0x25)  # the recording dot
AMBER = (0xE8, 0xA2, 0x00)  # the paused bars
# What the menu lists while recording: headline, Pause, Delete, Review pending uploads,
# Activity log, What is recorded, Settings, Quit. The Pause submenu: 15 minutes, 1 hour,
# Until tomorrow, Until I resume.
MENU_ROWS, PAUSE_ROW, PAUSE_CHOICES = 8, 1, 4


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[Desktop]:
    try:
        desk = Desktop.start(tmp_path / "x")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield desk
    finally:
        desk.stop()


def empty_policy(home: Path) -> Path:
    """A policy file with no keys (naming a file that does not exist is an error)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "empty-policy.toml"
    path.write_text("")
    return path


def praxis_env(desktop: Desktop, home: Path) -> dict[str, str]:
    env = desktop.env(
        QT_QPA_PLATFORM="xcb",  # tests/conftest.py makes offscreen the default: not here
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        XDG_DATA_HOME=str(home / "xdg-data"),
        XDG_CONFIG_HOME=str(home / "xdg-config"),
        PRAXIS_POLICY_FILE=str(empty_policy(home)),
        PYTHONUNBUFFERED="1",
    )
    env.pop("PRAXIS_DATA_DIR", None)
    return env


def praxis(data_dir: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"praxis {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def xcb_diagnosis(env: dict[str, str]) -> str:
    """Why Qt's xcb platform plugin does not load, in Qt's own words."""
    result = subprocess.run(
        [sys.executable, "-c", "from PySide6.QtWidgets import QApplication; QApplication([])"],
        env={**env, "QT_DEBUG_PLUGINS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = (result.stdout + result.stderr).splitlines()
    interesting = [line for line in lines if "xcb" in line.lower() or "cannot" in line.lower()]
    return "\n".join(interesting[-30:]) or "\n".join(lines[-30:])


def test_pause_from_the_tray_icon(desktop: Desktop, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = praxis_env(desktop, tmp_path)
    praxis(data_dir, env, "consent", "--accept")

    app = desktop.launch(
        ["dbus-run-session", "--", sys.executable, "-m", "app", "--data-dir", str(data_dir)],
        env,
        "praxis.log",
    )
    log = desktop.log_dir / "praxis.log"

    def state() -> dict | None:
        if app.poll() is not None:
            pytest.fail(
                f"the tray app exited with {app.returncode}:\n{log.read_text(errors='replace')}"
                f"\n\nQt's plugin loader says:\n{xcb_diagnosis(env)}",
                pytrace=False,
            )
        out = subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir), "status", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return json.loads(out.stdout) if out.returncode == 0 else None

    wait_for(lambda: (state() or {}).get("state") == "recording", 30, "the app to record", 0.2)

    # The red dot, docked in the tray at the bottom right.
    icon = wait_for(desktop.tray_icon, 20, "the Praxis icon in the tray")
    wait_for(lambda: count_color(desktop.screenshot(icon), RED) > 10, 10, "the red icon")
    desktop.screenshot(icon).save(desktop.log_dir / "icon-recording.png")

    # Right-click it: the menu opens at the pointer.
    desktop.click(*icon.center, button=3)
    menu = wait_for(lambda: _menu_with_rows(desktop, 1, MENU_ROWS), 10, "the tray menu")
    menu_rect, rows = menu
    desktop.screenshot(menu_rect).save(desktop.log_dir / "menu.png")

    # Onto "Pause": its submenu opens beside the menu.
    desktop.move(menu_rect.x + 40, menu_rect.y + sum(rows[PAUSE_ROW]) // 2)
    sub_rect, sub_rows = wait_for(
        lambda: _menu_with_rows(desktop, 2, PAUSE_CHOICES), 10, "the Pause submenu"
    )
    desktop.screenshot(sub_rect).save(desktop.log_dir / "pause-menu.png")

    clicked = time.time()
    desktop.click(sub_rect.x + 40, sub_rect.y + sum(sub_rows[0]) // 2)  # "15 minutes"

    paused = wait_for(
        lambda: (s := state()) and s["state"] == "paused" and s, 30, "the app to pause", 0.2
    )
    assert paused["reason"] == "paused for 15 min"
    # The pause starts when the click lands, give or take the time the engine takes to stop.
    assert clicked + 900 - 1 <= paused["paused_until"] <= clicked + 900 + 15

    def shows_paused_icon() -> bool:
        crop = desktop.screenshot(icon)
        return count_color(crop, AMBER) > 10 and count_color(crop, RED) == 0

    wait_for(shows_paused_icon, 15, "the amber paused icon in place of the red dot")
    desktop.screenshot(icon).save(desktop.log_dir / "icon-paused.png")
    assert desktop.popups() == []  # the menu closed after the choice
    assert app.poll() is None

    # Working Praxis's own icon and menus is not the person's work: no click of it was kept.
    out = tmp_path / "export"
    praxis(data_dir, env, "export", "--out", str(out))
    events = [
        json.loads(line)
        for found in out.glob("*/events.jsonl")
        for line in found.read_text().splitlines()
    ]
    assert events, "the segment the pause sealed was exported"
    assert [e for e in events if e["type"] in ("mouse_button", "scroll")] == []


def _menu_with_rows(desktop: Desktop, level: int, rows: int) -> tuple[Rect, list] | None:
    """The `level`-th menu from the right (1: the tray menu, 2: its submenu) once it is drawn
    with `rows` rows."""
    popups = sorted(desktop.popups(), key=lambda r: -r.x)
    if len(popups) < level:
        return None
    rect = popups[level - 1]
    found = text_rows(desktop.screenshot(rect))
    return (rect, found) if len(found) == rows else None
