"""Windows that an unfriendly application could show: titles of megabytes, control
characters, bytes that are not UTF-8, right-to-left overrides, absurd class names. Made with
python-xlib in the test's own process, so the bytes are exactly the ones the test chose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from Xlib import X, Xatom
from Xlib import display as xdisplay

CHUNK = 60_000  # bytes per request: well below the core protocol's request limit


@dataclass
class HostileWindow:
    wid: int
    window: Any


class HostileWindows:
    def __init__(self, display_name: str) -> None:
        self.display = xdisplay.Display(display_name)
        self.windows: list[HostileWindow] = []

    def _set(self, window: Any, name: str, kind: int, data: bytes) -> None:
        atom = self.display.intern_atom(name)
        window.change_property(atom, kind, 8, data[:CHUNK], mode=X.PropModeReplace)
        for start in range(CHUNK, len(data), CHUNK):
            window.change_property(atom, kind, 8, data[start : start + CHUNK], X.PropModeAppend)

    def open(
        self,
        *,
        wm_name: bytes | None = None,
        net_wm_name: bytes | None = None,
        wm_class: bytes = b"hostile\0Hostile\0",
        geometry: tuple[int, int, int, int] = (300, 200, 500, 300),
    ) -> HostileWindow:
        screen = self.display.screen()
        x, y, w, h = geometry
        window = screen.root.create_window(
            x, y, w, h, 0, screen.root_depth, background_pixel=screen.white_pixel
        )
        if wm_name is not None:
            self._set(window, "WM_NAME", Xatom.STRING, wm_name)
        if net_wm_name is not None:
            self._set(window, "_NET_WM_NAME", self.display.intern_atom("UTF8_STRING"), net_wm_name)
        self._set(window, "WM_CLASS", Xatom.STRING, wm_class)
        window.map()
        self.display.sync()
        made = HostileWindow(window.id, window)
        self.windows.append(made)
        return made

    def close(self) -> None:
        for made in self.windows:
            made.window.destroy()
        self.windows.clear()
        self.display.sync()
        self.display.close()
