"""Start Praxis at login. Linux follows the XDG autostart spec; other systems say they cannot
(their installers register the app instead)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

DESKTOP_NAME = "praxis.desktop"


def _autostart_file() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / DESKTOP_NAME


def launch_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "app"]


def supported() -> bool:
    return sys.platform.startswith("linux")


def enabled() -> bool:
    return supported() and _autostart_file().exists()


def set_enabled(on: bool) -> None:
    if not supported():
        raise OSError("starting at login is set up by the installer on this system")
    path = _autostart_file()
    if not on:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Praxis\n"
        "Comment=Consent-first recorder of computer-use demonstrations\n"
        f"Exec={shlex.join(launch_command())}\n"
        "X-GNOME-Autostart-enabled=true\n"
        "NoDisplay=false\n",
        encoding="utf-8",
    )
