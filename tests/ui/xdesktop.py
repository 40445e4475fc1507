"""A throwaway X desktop with a system tray: Xvfb plus trayer, read through python-xlib.

Used by the real-X tray test and by make_screenshots.py. Every wait polls a condition
against a deadline; every process started here is stopped by `Desktop.stop()`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.support.xvfb import SCREEN_H, SCREEN_W, start_xvfb
from tests.support.xvfb import wait_for as wait_for  # re-exported for the tray tests

WIDTH, HEIGHT = SCREEN_W, SCREEN_H
TRAY_HEIGHT = 32
TOOLS = ("Xvfb", "trayer", "xdotool", "dbus-run-session")
APP_CLASS = "Praxis"  # the WM_CLASS class of every window the app maps


class DesktopError(RuntimeError):
    pass


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2

    def box(self, margin: int = 0) -> tuple[int, int, int, int]:
        return (
            self.x - margin,
            self.y - margin,
            self.x + self.w + margin,
            self.y + self.h + margin,
        )


@dataclass
class Desktop:
    display: str
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _x: Any = field(default=None, repr=False)

    # -- starting and stopping -----------------------------------------------------
    @classmethod
    def start(cls, log_dir: Path, *, tray: bool = True, timeout: float = 20.0) -> Desktop:
        missing = missing_tools()
        if missing:
            raise DesktopError(
                f"the real-X tray tests need {', '.join(missing)} on PATH "
                "(Debian/Ubuntu: apt-get install xvfb trayer xdotool dbus; .ci/setup does this)"
            )
        xvfb, display = start_xvfb(log_dir / "xvfb.log", timeout=timeout)
        desktop = cls(display, log_dir, [xvfb])
        try:
            from Xlib import display as xdisplay

            desktop._x = wait_for(
                lambda: _connect(xdisplay, desktop.display), timeout, "Xvfb to accept clients"
            )
            if tray:
                desktop.start_tray(timeout)
        except BaseException:
            desktop.stop()
            raise
        return desktop

    def start_tray(self, timeout: float = 20.0) -> None:
        """trayer docked at the bottom right, as a panel's notification area would be."""
        with (self.log_dir / "trayer.log").open("wb") as log:
            self.procs.append(
                subprocess.Popen(
                    ["trayer", "--edge", "bottom", "--align", "right", "--widthtype", "request"]
                    + ["--height", str(TRAY_HEIGHT), "--SetDockType", "true"]
                    + ["--transparent", "false"],
                    env=self.env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            )
        # Qt decides once, at start, whether a tray exists: the selection must be owned first.
        wait_for(self.tray_owned, timeout, "trayer to own the system tray selection")

    def set_background(self, rgb: tuple[int, int, int]) -> None:
        """A desktop colour instead of Xvfb's black, for pictures."""
        root = self._x.screen().root
        root.change_attributes(background_pixel=(rgb[0] << 16) | (rgb[1] << 8) | rgb[2])
        root.clear_area()
        self._x.sync()

    def tray_owned(self) -> bool:
        atom = self._x.intern_atom("_NET_SYSTEM_TRAY_S0")
        return bool(self._x.get_selection_owner(atom))

    def launch(
        self, args: list[str], env: dict[str, str], log_name: str
    ) -> subprocess.Popen[bytes]:
        """A child in its own process group (so all it starts can be stopped at once)."""
        with (self.log_dir / log_name).open("wb") as log:
            proc = subprocess.Popen(
                args,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        """Stop every process group started here, newest first; SIGKILL what lingers."""
        if self._x is not None:
            with contextlib.suppress(Exception):
                self._x.close()
            self._x = None
        for proc in reversed(self.procs):
            stop_group(proc)
        self.procs.clear()

    def env(self, **extra: str) -> dict[str, str]:
        drop = ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "DBUS_SESSION_BUS_ADDRESS")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env["DISPLAY"] = self.display
        env.update(extra)
        return env

    # -- looking -------------------------------------------------------------------
    def screenshot(self, rect: Rect | None = None) -> Image.Image:
        """The screen as the person sees it (no cursor), or the part of it in `rect`."""
        from Xlib import X

        rect = rect or Rect(0, 0, WIDTH, HEIGHT)
        root = self._x.screen().root
        raw = root.get_image(rect.x, rect.y, rect.w, rect.h, X.ZPixmap, 0xFFFFFFFF)
        return Image.frombytes("RGB", (rect.w, rect.h), raw.data, "raw", "BGRX")

    def windows(self, wm_class: str = APP_CLASS) -> list[tuple[int, Rect]]:
        """Mapped windows of `wm_class` anywhere in the tree: (id, rectangle on screen)."""
        from Xlib import X
        from Xlib.error import XError

        root = self._x.screen().root
        found: list[tuple[int, Rect]] = []

        def walk(window: Any) -> None:
            try:
                children = window.query_tree().children
            except XError:
                return
            for child in children:
                try:
                    if child.get_attributes().map_state != X.IsViewable:
                        continue
                    cls = child.get_wm_class()
                    if cls and cls[1] == wm_class:
                        geo = child.get_geometry()
                        pos = child.translate_coords(root, 0, 0)
                        found.append((child.id, Rect(-pos.x, -pos.y, geo.width, geo.height)))
                except XError:  # gone while we looked
                    continue
                walk(child)

        walk(root)
        return found

    def tray_area(self) -> Rect:
        return Rect(WIDTH - 400, HEIGHT - TRAY_HEIGHT, 400, TRAY_HEIGHT)

    def tray_icon(self) -> Rect | None:
        """Where the app's icon sits in the tray, if it is docked there."""
        area = self.tray_area()
        for _wid, rect in self.windows():
            if rect.y >= area.y and rect.x >= area.x and rect.w <= 64:
                return rect
        return None

    def popups(self) -> list[Rect]:
        """The app's menus on screen (larger than an icon, outside the tray), top to bottom."""
        area = self.tray_area()
        rects = [r for _w, r in self.windows() if r.w > 64 and r.h > 40 and r.y < area.y]
        return sorted(rects, key=lambda r: r.x)

    # -- input ---------------------------------------------------------------------
    def xdotool(self, *args: str, timeout: float = 20.0) -> str:
        result = subprocess.run(
            ["xdotool", *args], env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise DesktopError(f"xdotool {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def move(self, x: int, y: int) -> None:
        self.xdotool("mousemove", str(x), str(y))

    def click(self, x: int, y: int, button: int = 1) -> None:
        # No --sync: it waits forever when the pointer is already there. XTEST requests on one
        # connection run in order, so the click lands where the pointer was moved.
        self.xdotool("mousemove", str(x), str(y), "click", str(button))


def text_rows(image: Image.Image, margin: int = 8) -> list[tuple[int, int]]:
    """The vertical extents (top, bottom) of the rows of a menu: runs of pixel rows that differ
    from the menu's background. One-pixel lines (separators, the frame) are left out."""
    pixels = np.asarray(image.convert("RGB")).astype(int)[:, margin:-margin]
    background = np.median(pixels.reshape(-1, 3), axis=0)
    differs = (np.abs(pixels - background).sum(axis=2) > 60).any(axis=1)
    rows, start = [], None
    for y, on in enumerate([*differs, False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            if y - start > 2:
                rows.append((start, y - 1))
            start = None
    return rows


def count_color(image: Image.Image, rgb: tuple[int, int, int], tolerance: int = 60) -> int:
    pixels = np.asarray(image.convert("RGB")).astype(int)
    return int((np.abs(pixels - np.array(rgb)).sum(axis=2) < tolerance).sum())


def stop_group(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """SIGTERM the process group that `proc` leads, then SIGKILL it if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(proc.pid):
                return
            time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _connect(xdisplay: Any, name: str) -> Any:
    try:
        return xdisplay.Display(name)
    except Exception:  # not accepting connections yet
        return None
