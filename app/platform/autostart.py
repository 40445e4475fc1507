"""Start Praxis at login, the way each OS expects it, with the person's choice respected and
IT's policy (`start_at_login`) able to fix it.

- Linux: XDG autostart. A per-user `~/.config/autostart/praxis.desktop`; when an installer put
  one in a system folder (`/etc/xdg/autostart`), turning it off writes a per-user copy with
  `Hidden=true`, which the XDG spec defines as the person's opt-out.
- Windows: the `Praxis` value under HKCU `...\\CurrentVersion\\Run`; a per-machine entry that
  the installer wrote under HKLM is switched off for this person through Explorer's
  `StartupApproved\\Run`, as Task Manager does.
- macOS: a LaunchAgent `~/Library/LaunchAgents/com.praxis.recorder.plist`; an agent the
  installer put in `/Library/LaunchAgents` is switched off with `launchctl disable`.

Raw OS calls (registry, launchctl) sit behind small seams so each OS's logic is tested anywhere.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

DESKTOP_NAME = "praxis.desktop"
MACOS_LABEL = "com.praxis.recorder"
WINDOWS_VALUE = "Praxis"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
# StartupApproved: first byte 2 = on, 3 = off; the rest is a timestamp Explorer ignores here.
_APPROVED_ON = bytes([2]) + bytes(11)
_APPROVED_OFF = bytes([3]) + bytes(11)


def launch_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]


def _winreg() -> Any:
    """The standard library's registry module, which exists on Windows only."""
    import importlib

    return importlib.import_module("winreg")


class Autostart(ABC):
    """Whether Praxis starts when this person logs in."""

    @abstractmethod
    def enabled(self) -> bool: ...

    @abstractmethod
    def set_enabled(self, on: bool) -> None:
        """Raise OSError (with a readable message) when it cannot be changed."""


# -- Linux ----------------------------------------------------------------------------------
def _xdg_config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def _xdg_config_dirs() -> list[Path]:
    dirs = os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    return [Path(d) for d in dirs.split(":") if d]


def _desktop_entry(hidden: bool) -> str:
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Name=Praxis",
        "Comment=Consent-first recorder of computer-use demonstrations",
        f"Exec={shlex.join(launch_command())}",
        "Icon=praxis",
        "X-GNOME-Autostart-enabled=" + ("false" if hidden else "true"),
    ]
    if hidden:
        lines.append("Hidden=true")
    return "\n".join(lines) + "\n"


def _is_hidden(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "Hidden" and value.strip().lower() == "true":
            return True
        if key.strip() == "X-GNOME-Autostart-enabled" and value.strip().lower() == "false":
            return True
    return False


@dataclass
class XdgAutostart(Autostart):
    config_home: Path = field(default_factory=_xdg_config_home)
    config_dirs: list[Path] = field(default_factory=_xdg_config_dirs)

    @property
    def user_file(self) -> Path:
        return self.config_home / "autostart" / DESKTOP_NAME

    def system_file(self) -> Path | None:
        for base in self.config_dirs:
            candidate = base / "autostart" / DESKTOP_NAME
            if candidate.exists():
                return candidate
        return None

    def enabled(self) -> bool:
        if self.user_file.exists():
            return not _is_hidden(self.user_file)
        system = self.system_file()
        return system is not None and not _is_hidden(system)

    def set_enabled(self, on: bool) -> None:
        path = self.user_file
        if not on and self.system_file() is None:
            path.unlink(missing_ok=True)
            return
        if on and self.system_file() is not None:
            # The installer's entry starts Praxis; the person's copy would only shadow it.
            path.unlink(missing_ok=True)
            if self.enabled():
                return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(_desktop_entry(hidden=not on), encoding="utf-8")
        os.replace(tmp, path)


# -- Windows --------------------------------------------------------------------------------
class RunKeyApi(Protocol):
    def get(self, hive: str, subkey: str, name: str) -> Any | None: ...

    def set(self, hive: str, subkey: str, name: str, value: Any, binary: bool) -> None: ...

    def delete(self, hive: str, subkey: str, name: str) -> None: ...


class WinregRunKeyApi:
    """The real registry (Windows only). `hive` is "HKCU" or "HKLM"."""

    def _hive(self, hive: str) -> Any:
        winreg = _winreg()

        return winreg.HKEY_CURRENT_USER if hive == "HKCU" else winreg.HKEY_LOCAL_MACHINE

    def get(self, hive: str, subkey: str, name: str) -> Any | None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(self._hive(hive), subkey) as key:
                return winreg.QueryValueEx(key, name)[0]
        except FileNotFoundError:
            return None

    def set(self, hive: str, subkey: str, name: str, value: Any, binary: bool) -> None:
        winreg = _winreg()

        kind = winreg.REG_BINARY if binary else winreg.REG_SZ
        with winreg.CreateKey(self._hive(hive), subkey) as key:
            winreg.SetValueEx(key, name, 0, kind, value)

    def delete(self, hive: str, subkey: str, name: str) -> None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(self._hive(hive), subkey, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, name)
        except FileNotFoundError:
            pass


@dataclass
class WindowsAutostart(Autostart):
    api: RunKeyApi = field(default_factory=WinregRunKeyApi)
    command: Sequence[str] = field(default_factory=launch_command)

    def _machine_entry(self) -> bool:
        return self.api.get("HKLM", RUN_KEY, WINDOWS_VALUE) is not None

    def enabled(self) -> bool:
        approved = self.api.get("HKCU", APPROVED_KEY, WINDOWS_VALUE)
        if isinstance(approved, (bytes, bytearray)) and approved[:1] == b"\x03":
            return False
        return self._machine_entry() or self.api.get("HKCU", RUN_KEY, WINDOWS_VALUE) is not None

    def set_enabled(self, on: bool) -> None:
        if self._machine_entry():
            self.api.delete("HKCU", RUN_KEY, WINDOWS_VALUE)
            self.api.set(
                "HKCU", APPROVED_KEY, WINDOWS_VALUE, _APPROVED_ON if on else _APPROVED_OFF, True
            )
            return
        self.api.delete("HKCU", APPROVED_KEY, WINDOWS_VALUE)
        if on:
            line = subprocess.list2cmdline(list(self.command))
            self.api.set("HKCU", RUN_KEY, WINDOWS_VALUE, line, False)
        else:
            self.api.delete("HKCU", RUN_KEY, WINDOWS_VALUE)


# -- macOS ----------------------------------------------------------------------------------
def _launchctl(args: Sequence[str]) -> None:
    subprocess.run(["launchctl", *args], check=True, capture_output=True, timeout=10)


@dataclass
class LaunchAgentAutostart(Autostart):
    home: Path = field(default_factory=Path.home)
    system_dir: Path = Path("/Library/LaunchAgents")
    command: Sequence[str] = field(default_factory=launch_command)
    launchctl: Callable[[Sequence[str]], None] = _launchctl
    uid: int = field(default_factory=lambda: os.getuid() if hasattr(os, "getuid") else 0)

    @property
    def user_file(self) -> Path:
        return self.home / "Library" / "LaunchAgents" / f"{MACOS_LABEL}.plist"

    @property
    def state_file(self) -> Path:
        # launchctl keeps `disable` in a database we cannot read portably; remember our own.
        return self.home / "Library" / "Application Support" / "Praxis" / "login-disabled"

    def enabled(self) -> bool:
        if self.user_file.exists():
            return True
        return (self.system_dir / f"{MACOS_LABEL}.plist").exists() and not self.state_file.exists()

    def set_enabled(self, on: bool) -> None:
        if (self.system_dir / f"{MACOS_LABEL}.plist").exists():
            self.user_file.unlink(missing_ok=True)
            verb = "enable" if on else "disable"
            self.launchctl([verb, f"gui/{self.uid}/{MACOS_LABEL}"])
            if on:
                self.state_file.unlink(missing_ok=True)
            else:
                self.state_file.parent.mkdir(parents=True, exist_ok=True)
                self.state_file.touch()
            return
        if not on:
            self.user_file.unlink(missing_ok=True)
            return
        self.user_file.parent.mkdir(parents=True, exist_ok=True)
        agent = {
            "Label": MACOS_LABEL,
            "ProgramArguments": list(self.command),
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }
        self.user_file.write_bytes(plistlib.dumps(agent))


class UnsupportedAutostart(Autostart):
    def enabled(self) -> bool:
        return False

    def set_enabled(self, on: bool) -> None:
        raise OSError("starting at login is not supported on this system")


def for_platform(platform: str | None = None) -> Autostart:
    platform = platform or sys.platform
    if platform.startswith("linux"):
        return XdgAutostart()
    if platform == "win32":
        return WindowsAutostart()
    if platform == "darwin":
        return LaunchAgentAutostart()
    return UnsupportedAutostart()


def supported() -> bool:
    return not isinstance(for_platform(), UnsupportedAutostart)


def enabled() -> bool:
    return for_platform().enabled()


def set_enabled(on: bool) -> None:
    for_platform().set_enabled(on)


def apply_policy(settings: Any, autostart: Autostart | None = None) -> bool:
    """When policy fixes `start_at_login`, make the login entry say so. Returns whether it
    changed anything. Failures are the caller's to report; recording does not depend on it."""
    if "start_at_login" not in settings.locked:
        return False
    autostart = autostart or for_platform()
    want = bool(settings.start_at_login)
    if autostart.enabled() == want:
        return False
    autostart.set_enabled(want)
    return True
