"""Starting a private Xvfb and waiting on conditions: shared by every test helper that needs a
real X server (integration tests, the tray test, the redaction evaluation)."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
SCREEN_W, SCREEN_H = 1920, 1080


class XvfbError(RuntimeError):
    pass


def wait_for(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll `condition` until it returns something true, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def start_xvfb(
    log_path: Path,
    *extra_args: str,
    timeout: float = 20.0,
    size: tuple[int, int] = (SCREEN_W, SCREEN_H),
) -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb at `size` (1920x1080 unless given), 24 bits deep, on the first free display
    (-displayfd), in its own process group. Returns the process and its display name (":N")."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{size[0]}x{size[1]}x24"]
            + ["-nolisten", "tcp", "-noreset", *extra_args],
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    os.close(write_fd)
    try:
        return proc, f":{_read_display_number(read_fd, proc, timeout, log_path)}"
    except BaseException:
        proc.kill()
        proc.wait(5)
        raise
    finally:
        os.close(read_fd)


def _read_display_number(
    fd: int, proc: subprocess.Popen[bytes], timeout: float, log_path: Path
) -> int:
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise XvfbError(f"Xvfb did not report a display within {timeout} s (see {log_path})")
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    if not data.strip().isdigit():
        raise XvfbError(
            f"Xvfb exited ({proc.poll()}) without reporting a display: {data!r} (see {log_path})"
        )
    return int(data.strip())
