"""Linux on X11 through python-xlib. pynput and mss need X11: Wayland is detected and refused.

The raw X calls sit in small functions so that the decisions around them stay readable.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from app.core.errors import DisplayUnavailable
from app.core.model import WindowInfo
from app.platform.atspi import PasswordFocus
from app.platform.base import Platform

GEOMETRY_REFRESH_S = 2.0


def wayland_reason(env: dict[str, str] | os._Environ[str]) -> str | None:
    if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        return (
            "this is a Wayland session. Praxis records on X11 only, because Wayland does not let "
            "an application see other applications' input or screen. Log in with an X11 "
            'session ("GNOME on Xorg" or "Plasma (X11)" on the login screen) to record.'
        )
    if not env.get("DISPLAY"):
        return "no X display is set (DISPLAY is empty). Start Praxis from a graphical X11 session."
    return None


_CT_SEGMENT = re.compile(rb"\x1b%G(.*?)(?:\x1b%@|$)", re.DOTALL)
_CT_ESCAPE = re.compile(rb"\x1b[()\-.,/$][^\x40-\x7e]*[\x40-\x7e]|\x1b%[@G]")


def decode_compound_text(raw: bytes) -> str:
    """COMPOUND_TEXT as Xlib writes it for titles: Latin-1 with UTF-8 stretches between
    ESC % G and ESC % @ (other character sets are rare in titles; their bytes are kept)."""
    parts: list[str] = []
    pos = 0
    for match in _CT_SEGMENT.finditer(raw):
        parts.append(_CT_ESCAPE.sub(b"", raw[pos : match.start()]).decode("latin-1"))
        parts.append(match.group(1).decode("utf-8", "replace"))
        pos = match.end()
    parts.append(_CT_ESCAPE.sub(b"", raw[pos:]).decode("latin-1"))
    return "".join(parts)


def process_name(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() or None
    except OSError:
        return None


class LinuxX11Platform(Platform):
    name = "linux-x11"

    def __init__(self) -> None:
        self._display: Any = None
        self._atoms: dict[str, int] = {}
        self._cached: WindowInfo | None = None
        self._cached_at = 0.0
        self._password_focus: PasswordFocus | None = None

    def check_capture_supported(self) -> None:
        reason = wayland_reason(os.environ)
        if reason:
            raise DisplayUnavailable(reason)
        self._connect()
        if self._password_focus is None:
            self._password_focus = PasswordFocus()
            self._password_focus.start()  # never raises; "cannot tell" until focus is heard

    # -- raw X calls ---------------------------------------------------------------
    def _connect(self) -> Any:
        if self._display is None:
            try:
                from Xlib import display as xdisplay

                self._display = xdisplay.Display()
            except Exception as exc:  # Xlib raises several unrelated types here
                raise DisplayUnavailable(
                    f"cannot connect to the X display {os.environ.get('DISPLAY')!r}: {exc}"
                ) from exc
        return self._display

    def _atom(self, name: str) -> int:
        if name not in self._atoms:
            self._atoms[name] = self._connect().intern_atom(name)
        return self._atoms[name]

    def _prop(self, window: Any, name: str) -> Any:
        prop = window.get_full_property(self._atom(name), 0)
        return None if prop is None else prop.value

    def _ewmh_active(self) -> Any:
        value = self._prop(self._connect().screen().root, "_NET_ACTIVE_WINDOW")
        if value is not None and len(value) and value[0]:
            return self._connect().create_resource_object("window", int(value[0]))
        return None

    def _focus_window(self) -> Any:
        focus = self._connect().get_input_focus().focus
        return None if isinstance(focus, int) else focus

    def _title(self, window: Any) -> str | None:
        value = self._prop(window, "_NET_WM_NAME")
        if value:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        # WM_NAME of any type: Xt and Motif apps store non-Latin-1 titles as COMPOUND_TEXT.
        prop = window.get_full_property(self._atom("WM_NAME"), 0)
        if prop is None or not prop.value:
            return None
        raw = (
            prop.value
            if isinstance(prop.value, bytes)
            else str(prop.value).encode("latin-1", "replace")
        )
        if prop.property_type == self._atom("COMPOUND_TEXT"):
            return decode_compound_text(raw)
        if prop.property_type == self._atom("UTF8_STRING"):
            return raw.decode("utf-8", "replace")
        return raw.decode("latin-1")

    def _toplevel_with_title(self, window: Any) -> Any:
        """Walk from the focused widget up to the nearest window that carries a title."""
        root = self._connect().screen().root
        current = window
        for _ in range(16):
            if current is None or current.id == root.id:
                return None
            if self._title(current) is not None:
                return current
            current = current.query_tree().parent
        return None

    # -- interface -----------------------------------------------------------------
    def _describe(self, window: Any) -> WindowInfo:
        """App, title and outer geometry (decorations included) of a top-level window."""
        title = self._title(window) or ""
        wm_class = window.get_wm_class()
        pid_value = self._prop(window, "_NET_WM_PID")
        pid = int(pid_value[0]) if pid_value is not None and len(pid_value) else None
        app = (pid and process_name(pid)) or (wm_class[1] if wm_class else "") or "unknown"
        geometry = window.get_geometry()
        origin = window.translate_coords(self._connect().screen().root, 0, 0)
        border = int(geometry.border_width)
        left = right = top = bottom = border
        extents = self._prop(window, "_NET_FRAME_EXTENTS")  # the title bar shows the title too
        if extents is not None and len(extents) == 4:
            left, right, top, bottom = (int(v) + border for v in extents)
        return WindowInfo(
            app=app,
            title=title,
            x=-int(origin.x) - left,
            y=-int(origin.y) - top,
            w=int(geometry.width) + left + right,
            h=int(geometry.height) + top + bottom,
            handle=hex(window.id),
            pid=pid,
            wm_class=" ".join(wm_class) if wm_class else "",
        )

    def _stacked_clients(self) -> list[Any]:
        """Top-level client windows, bottom to top."""
        display = self._connect()
        root = display.screen().root
        stacking = self._prop(root, "_NET_CLIENT_LIST_STACKING")
        if stacking is not None and len(stacking):
            return [display.create_resource_object("window", int(w)) for w in stacking]
        return list(root.query_tree().children)  # no window manager: the root's children

    # -- interface -----------------------------------------------------------------
    def active_window(self) -> WindowInfo | None:
        """Polled often, so the common case is cheap: same window, same title → the cached
        description (two round trips instead of eight). Geometry is refreshed every few
        seconds, and at once when the window or its title changes."""
        from Xlib import error as xerror

        try:
            window = self._ewmh_active() or self._focus_window()
            window = self._toplevel_with_title(window) if window is not None else None
            if window is None:
                self._cached = None
                return None
            cached = self._cached
            now = time.monotonic()
            if (
                cached is not None
                and cached.handle == hex(window.id)
                and now - self._cached_at < GEOMETRY_REFRESH_S
                and (self._title(window) or "") == cached.title
            ):
                return cached
            self._cached, self._cached_at = self._describe(window), now
            return self._cached
        except (xerror.XError, xerror.ConnectionClosedError):
            self._cached = None
            return None  # the window went away between two calls

    def visible_windows(self) -> list[WindowInfo] | None:
        from Xlib import X
        from Xlib import error as xerror

        try:
            clients = self._stacked_clients()
        except (xerror.XError, xerror.ConnectionClosedError):
            return None
        found = []
        for window in clients:
            try:
                if window.get_attributes().map_state != X.IsViewable:
                    continue
                if self._title(window) is None and not window.get_wm_class():
                    continue  # an unnamed helper window, not something a person looks at
                found.append(self._describe(window))
            except (xerror.XError, xerror.ConnectionClosedError):
                continue  # closed while we looked
        return found

    def window_owner_at(self, x: int, y: int) -> int | None:
        """Walk down from the root through the windows that contain the point; the deepest
        one carrying _NET_WM_PID names the owner (a tray icon is embedded in the panel, a
        menu is a top-level window of its own)."""
        from Xlib import error as xerror

        try:
            root = self._connect().screen().root
            current, owner = root, None
            for _ in range(16):
                child = current.translate_coords(root, x, y).child
                if not child:
                    break
                current = (
                    child
                    if not isinstance(child, int)
                    else (self._connect().create_resource_object("window", child))
                )
                pid = self._prop(current, "_NET_WM_PID")
                if pid is not None and len(pid):
                    owner = int(pid[0])
            return owner
        except (xerror.XError, xerror.ConnectionClosedError):
            return None  # the window went away while we looked

    def password_field_focused(self, at: float | None = None) -> bool | None:
        """Told by AT-SPI. Only an answer learnt from the process whose window has the
        keyboard counts: a terminal, say, tells AT-SPI nothing, and what was heard last is
        then about another application."""
        window = self._cached
        if self._password_focus is None or window is None or window.pid is None:
            return None
        return self._password_focus.focused_is_password(at, window_pid=window.pid)

    def close(self) -> None:
        if self._password_focus is not None:
            self._password_focus.stop()
            self._password_focus = None
        if self._display is not None:
            try:
                self._display.close()
            finally:
                self._display = None
