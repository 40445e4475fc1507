"""Whether a window can be shown at all, asked before Qt is started: Qt's own answer to a
missing display is to abort the process with a message about its plugins."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

HEADLESS_HINT = "To record on a machine without a desktop, run `praxis record --headless`."


def display_problem(
    env: Mapping[str, str] = os.environ, platform: str = sys.platform, hint: str = HEADLESS_HINT
) -> str | None:
    """Why no window can be shown here, or None when it can (or cannot be told)."""
    if not platform.startswith("linux"):
        return None  # Windows and macOS always have a session to show windows in
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if chosen and chosen not in ("xcb", "wayland"):
        return None  # offscreen, vnc, …: chosen on purpose, no display needed
    display, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if not display and not wayland:
        return (
            "there is no display to show Praxis windows on (DISPLAY and "
            f"WAYLAND_DISPLAY are not set). {hint}"
        )
    if display and not wayland:
        reason = _x_unreachable(display)
        if reason:
            return f"the X display {display!r} cannot be reached ({reason}). {hint}"
    return None


def _x_unreachable(display: str) -> str | None:
    try:
        from Xlib import display as xdisplay
    except ImportError:
        return None  # cannot be told without python-xlib: let Qt try
    try:
        xdisplay.Display(display).close()
    except Exception as exc:  # Xlib raises several unrelated types here
        return str(exc) or type(exc).__name__
    return None
