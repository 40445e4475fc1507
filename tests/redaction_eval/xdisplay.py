"""A private Xvfb for the redaction evaluation: start it, open windows, take screenshots.

The root window is white (-wr) and every window uses dark blue text on light backgrounds, so
pure black (0, 0, 0) in a redacted frame can only come from a redaction box.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.xvfb import SCREEN_H as SCREEN_H  # re-exported for the screens
from tests.support.xvfb import SCREEN_W as SCREEN_W
from tests.support.xvfb import start_xvfb
from tests.support.xvfb import wait_for as wait_for


def require_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise RuntimeError(
            f"the redaction evaluation needs {', '.join(missing)} on PATH "
            "(Debian/Ubuntu: apt-get install xvfb xdotool xterm x11-utils)"
        )


def _terminate(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """End a process this module started (it leads its own process group)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


class Display:
    """One Xvfb server, 1920x1080x24, white root, no TCP."""

    def __init__(self, log_dir: Path) -> None:
        require_tools("Xvfb", "xterm", "xwininfo")
        self.log_dir = log_dir
        self.proc, self.display = start_xvfb(log_dir / "xvfb.log", "-wr")  # white root
        self._windows: list[subprocess.Popen[bytes]] = []
        self._mss: Any = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
        env["DISPLAY"] = self.display
        env.update(extra)
        return env

    def spawn(self, argv: list[str], log_name: str, **env: str) -> subprocess.Popen[bytes]:
        with (self.log_dir / log_name).open("ab") as log:
            proc = subprocess.Popen(
                argv,
                env=self.env(**env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self._windows.append(proc)
        return proc

    def close(self, proc: subprocess.Popen[bytes]) -> None:
        _terminate(proc)
        if proc in self._windows:
            self._windows.remove(proc)

    def window_geometry(self, name: str) -> tuple[int, int, int, int] | None:
        """Absolute (x, y, w, h) of the mapped window titled `name`, inside its border."""
        result = subprocess.run(
            ["xwininfo", "-name", name],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=10,
        )
        if result.returncode != 0 or "IsViewable" not in result.stdout:
            return None
        values = {}
        for key in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"):
            m = re.search(rf"^\s*{key}:\s+(-?\d+)", result.stdout, re.MULTILINE)
            if not m:
                return None
            values[key] = int(m.group(1))
        return (
            values["Absolute upper-left X"],
            values["Absolute upper-left Y"],
            values["Width"],
            values["Height"],
        )

    def grab(self) -> np.ndarray:
        """The whole screen as RGB uint8 (the pointer is not part of the image)."""
        import mss

        if self._mss is None:
            factory = getattr(mss, "MSS", None) or mss.mss
            self._mss = factory(display=self.display)
        shot = self._mss.grab(self._mss.monitors[1])
        return np.asarray(shot)[:, :, 2::-1].copy()

    def grab_settled(
        self, timeout: float = 15.0, ready: Callable[[np.ndarray], bool] | None = None
    ) -> np.ndarray:
        """A screenshot once drawing has finished: two grabs in a row alike, and `ready`."""
        last: list[np.ndarray] = []

        def settled() -> bool:
            frame = self.grab()
            ok = bool(last) and np.array_equal(last[-1], frame) and (ready is None or ready(frame))
            last[:] = [frame]
            return ok

        wait_for(settled, timeout, "the screen to settle", interval=0.15)
        return last[-1]

    def stop(self) -> None:
        for proc in list(self._windows):
            self.close(proc)
        if self._mss is not None:
            self._mss.close()
            self._mss = None
        _terminate(self.proc)

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
