"""Start at login on each OS: the person's choice is kept, an installer's entry can be turned
off for one person, and policy can fix it."""

from __future__ import annotations

import plistlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.core.settings import Settings
from app.platform.autostart import (
    APPROVED_KEY,
    RUN_KEY,
    LaunchAgentAutostart,
    WindowsAutostart,
    XdgAutostart,
    apply_policy,
)


# -- Linux ----------------------------------------------------------------------------------
def test_xdg_entry_is_written_and_removed(tmp_path: Path) -> None:
    auto = XdgAutostart(tmp_path / "home", [tmp_path / "etc"])
    assert not auto.enabled()
    auto.set_enabled(True)
    text = auto.user_file.read_text()
    assert "Exec=" in text and "Hidden" not in text and auto.enabled()
    auto.set_enabled(False)
    assert not auto.user_file.exists() and not auto.enabled()


def test_installers_entry_is_turned_off_per_person_with_hidden(tmp_path: Path) -> None:
    system = tmp_path / "etc" / "autostart" / "praxis.desktop"
    system.parent.mkdir(parents=True)
    system.write_text("[Desktop Entry]\nType=Application\nName=Praxis\nExec=praxis\n")
    auto = XdgAutostart(tmp_path / "home", [tmp_path / "etc"])
    assert auto.enabled()
    auto.set_enabled(False)
    assert "Hidden=true" in auto.user_file.read_text() and not auto.enabled()
    assert system.exists()  # the installer's file is not the person's to delete
    auto.set_enabled(True)
    assert not auto.user_file.exists() and auto.enabled()


# -- Windows --------------------------------------------------------------------------------
class FakeRunKeys:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str, str], Any] = {}

    def get(self, hive: str, subkey: str, name: str) -> Any | None:
        return self.values.get((hive, subkey, name))

    def set(self, hive: str, subkey: str, name: str, value: Any, binary: bool) -> None:
        assert isinstance(value, bytes) == binary
        self.values[(hive, subkey, name)] = value

    def delete(self, hive: str, subkey: str, name: str) -> None:
        self.values.pop((hive, subkey, name), None)


def test_windows_run_value_for_this_person() -> None:
    keys = FakeRunKeys()
    auto = WindowsAutostart(keys, [r"C:\Program Files\Praxis\praxis.exe"])
    auto.set_enabled(True)
    assert keys.values[("HKCU", RUN_KEY, "Praxis")] == r'"C:\Program Files\Praxis\praxis.exe"'
    assert auto.enabled()
    auto.set_enabled(False)
    assert not keys.values and not auto.enabled()


def test_windows_machine_entry_is_switched_off_through_startup_approved() -> None:
    keys = FakeRunKeys()
    keys.values[("HKLM", RUN_KEY, "Praxis")] = "praxis.exe"
    auto = WindowsAutostart(keys, ["praxis.exe"])
    assert auto.enabled()
    auto.set_enabled(False)
    assert keys.values[("HKCU", APPROVED_KEY, "Praxis")][0] == 3 and not auto.enabled()
    auto.set_enabled(True)
    assert keys.values[("HKCU", APPROVED_KEY, "Praxis")][0] == 2 and auto.enabled()
    assert ("HKCU", RUN_KEY, "Praxis") not in keys.values  # never started twice


# -- macOS ----------------------------------------------------------------------------------
def test_launch_agent_for_this_person(tmp_path: Path) -> None:
    calls: list[Sequence[str]] = []
    auto = LaunchAgentAutostart(
        home=tmp_path,
        system_dir=tmp_path / "sys",
        command=["/Applications/Praxis.app/x"],
        launchctl=calls.append,
        uid=501,
    )
    auto.set_enabled(True)
    agent = plistlib.loads(auto.user_file.read_bytes())
    assert agent["Label"] == "com.praxis.recorder" and agent["RunAtLoad"] is True
    assert agent["ProgramArguments"] == ["/Applications/Praxis.app/x"] and auto.enabled()
    auto.set_enabled(False)
    assert not auto.user_file.exists() and not calls


def test_installed_launch_agent_is_disabled_with_launchctl(tmp_path: Path) -> None:
    calls: list[Sequence[str]] = []
    system = tmp_path / "sys"
    system.mkdir()
    (system / "com.praxis.recorder.plist").write_bytes(plistlib.dumps({"Label": "x"}))
    auto = LaunchAgentAutostart(home=tmp_path, system_dir=system, launchctl=calls.append, uid=501)
    assert auto.enabled()
    auto.set_enabled(False)
    assert calls == [["disable", "gui/501/com.praxis.recorder"]] and not auto.enabled()
    auto.set_enabled(True)
    assert calls[-1] == ["enable", "gui/501/com.praxis.recorder"] and auto.enabled()


# -- policy ---------------------------------------------------------------------------------
def test_policy_fixes_the_login_entry(tmp_path: Path) -> None:
    auto = XdgAutostart(tmp_path / "home", [tmp_path / "etc"])
    on = Settings(start_at_login=True, locked=frozenset({"start_at_login"}))
    assert apply_policy(on, auto) and auto.enabled()
    assert not apply_policy(on, auto)  # already as policy says
    off = Settings(start_at_login=False, locked=frozenset({"start_at_login"}))
    assert apply_policy(off, auto) and not auto.enabled()


def test_without_policy_the_persons_choice_stands(tmp_path: Path) -> None:
    auto = XdgAutostart(tmp_path / "home", [tmp_path / "etc"])
    auto.set_enabled(True)
    assert not apply_policy(Settings(start_at_login=False), auto) and auto.enabled()
