"""Per-OS features behind one interface. `get_platform()` picks the implementation lazily so
that importing this package never loads an OS binding that is not there."""

from __future__ import annotations

import sys

from app.platform.base import Platform


def get_platform(name: str | None = None) -> Platform:
    name = name or sys.platform
    if name.startswith("linux"):
        from app.platform.linux import LinuxX11Platform

        return LinuxX11Platform()
    if name == "win32":
        from app.platform.win32 import Win32Platform

        return Win32Platform()
    if name == "darwin":
        from app.platform.darwin import DarwinPlatform

        return DarwinPlatform()
    from app.platform.null import NullPlatform

    return NullPlatform(reason=f"window tracking is not implemented for {name} yet")


__all__ = ["Platform", "get_platform"]
