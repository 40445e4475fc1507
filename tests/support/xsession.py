"""A throwaway X session for end-to-end tests: Xvfb, xterm windows, xdotool input, and the CLI.

Everything here drives real processes. Waits poll a condition against a deadline; nothing
sleeps for a fixed time where a condition can be awaited instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .xvfb import SCREEN_H as SCREEN_H  # re-exported for the tests
from .xvfb import SCREEN_W as SCREEN_W
from .xvfb import start_xvfb
from .xvfb import wait_for as wait_for

T = TypeVar("T")

REQUIRED_TOOLS = ("Xvfb", "xdotool", "xterm")
_ERE_SPECIAL = set(".[]()*+?{}|^$\\")


class XSessionError(RuntimeError):
    pass


def require_tools(*tools: str) -> None:
    """Fail (never skip) with a clear message when the X test tools are not installed."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise XSessionError(
            f"the X11 integration tests need {', '.join(missing)} on PATH "
            "(Debian/Ubuntu: apt-get install xvfb xdotool xterm x11-utils)"
        )


def ere_escape(text: str) -> str:
    """Escape `text` for the POSIX extended regex that `xdotool search` takes."""
    return "".join("\\" + ch if ch in _ERE_SPECIAL else ch for ch in text)


@dataclass
class XWindow:
    title: str
    wid: int
    x: int
    y: int
    proc: subprocess.Popen[bytes]


@dataclass
class XServer:
    """One Xvfb server plus the windows started on it."""

    display: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    windows: list[XWindow] = field(default_factory=list)
    _mss: Any = field(default=None, repr=False)

    # -- starting and stopping -----------------------------------------------------
    @classmethod
    def start(cls, log_dir: Path, timeout: float = 20.0) -> XServer:
        require_tools(*REQUIRED_TOOLS)
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / "xvfb.log"
        proc, display = start_xvfb(log_path, timeout=timeout)
        server = cls(display, proc, log_path)
        # -displayfd reports the number once the server accepts connections; prove it.
        wait_for(server._answers, timeout, f"Xvfb on {server.display} to answer")
        return server

    def _answers(self) -> bool:
        result = subprocess.run(
            ["xdotool", "getdisplaygeometry"], env=self.env(), capture_output=True, timeout=10
        )
        return result.returncode == 0

    def stop(self) -> None:
        for window in self.windows:
            _terminate(window.proc)
        self.windows.clear()
        if self._mss is not None:
            self._mss.close()
            self._mss = None
        _terminate(self.proc)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")
        }
        env["DISPLAY"] = self.display
        env.update(extra)
        return env

    # -- windows -------------------------------------------------------------------
    def xterm(
        self,
        title: str,
        x: int,
        y: int,
        cols: int = 80,
        rows: int = 24,
        command: tuple[str, ...] = ("cat",),
        timeout: float = 20.0,
        match: str | None = None,
    ) -> XWindow:
        """An xterm titled `title` at (x, y) running `command` (default `cat`: typed text is
        echoed and never executed). Returns once the window exists and is mapped. `match` is
        the xdotool regex to find it by (default: exactly `title`)."""
        proc = subprocess.Popen(
            [
                "xterm",
                "-T",
                title,
                "-geometry",
                f"{cols}x{rows}+{x}+{y}",
                # Keep the title exactly as given, whatever is typed into the terminal.
                "-xrm",
                "XTerm*allowTitleOps: false",
                "-e",
                *command,
            ],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wid = self.find_window(title, timeout, match)
            self.xdotool("windowmap", "--sync", str(wid))
        except BaseException:
            _terminate(proc)
            raise
        window = XWindow(title, wid, x, y, proc)
        self.windows.append(window)
        return window

    def find_window(self, title: str, timeout: float = 20.0, match: str | None = None) -> int:
        pattern = match or f"^{ere_escape(title)}$"
        out = self.xdotool("search", "--sync", "--name", pattern, timeout=timeout).split()
        if not out:
            raise XSessionError(f"no window titled {title!r}")
        return int(out[0])

    def close(self, window: XWindow) -> None:
        _terminate(window.proc)
        if window in self.windows:
            self.windows.remove(window)

    # -- input ---------------------------------------------------------------------
    def xdotool(self, *args: str, timeout: float = 60.0) -> str:
        try:
            result = subprocess.run(
                ["xdotool", *args], env=self.env(), capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise XSessionError(f"xdotool {' '.join(args)} did not finish in {timeout} s") from exc
        if result.returncode != 0:
            raise XSessionError(f"xdotool {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def focus(self, window: XWindow) -> None:
        self.xdotool("windowfocus", "--sync", str(window.wid))

    def type_text(self, text: str, delay_ms: int = 20) -> None:
        """Type into the focused window through XTEST, as a keyboard would."""
        budget = 30 + 3 * len(text) * delay_ms / 1000  # generous: a loaded machine types slower
        self.xdotool("type", "--delay", str(delay_ms), "--", text, timeout=budget)

    def key(self, *keys: str) -> None:
        self.xdotool("key", *keys)

    def move_pointer(self, x: int, y: int) -> None:
        self.xdotool("mousemove", str(x), str(y))

    def click_here(self, button: int = 1) -> None:
        self.xdotool("click", str(button))

    def click(self, x: int, y: int, button: int = 1) -> None:
        # No --sync: it waits forever when the pointer is already at (x, y). XTEST requests on
        # one connection are handled in order, so the click lands where the pointer was moved.
        self.xdotool("mousemove", str(x), str(y), "click", str(button))

    def grab(self) -> np.ndarray:
        """The whole screen as RGB pixels, read the way the recorder reads it (no cursor)."""
        import mss

        if self._mss is None:
            factory = getattr(mss, "MSS", None) or mss.mss  # mss 10 renamed the factory
            self._mss = factory(display=self.display)
        shot = self._mss.grab(self._mss.monitors[0])
        bgra = np.frombuffer(bytes(shot.raw), dtype=np.uint8).reshape(shot.height, shot.width, 4)
        return np.ascontiguousarray(bgra[:, :, 2::-1])

    def settled_screen(self, timeout: float = 10.0, quiet: float = 0.15) -> np.ndarray:
        """The screen once it has stopped changing for `quiet` seconds (terminals redraw
        asynchronously after a move or a focus change)."""
        deadline = time.monotonic() + timeout
        last = self.grab()
        since = time.monotonic()
        while True:
            time.sleep(0.05)
            current = self.grab()
            if not np.array_equal(current, last):
                last, since = current, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return current
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen kept changing for {timeout} s")

    def move_window(self, window: XWindow, x: int, y: int) -> None:
        self.xdotool("windowmove", "--sync", str(window.wid), str(x), str(y))
        window.x, window.y = x, y


def _terminate(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout)


# -- the Praxis CLI -----------------------------------------------------------------
def _empty_policy(home: Path) -> Path:
    """A policy file with no keys: tests run unmanaged whatever the machine has, and naming a
    policy file that does not exist is an error."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "empty-policy.toml"
    path.write_text("")
    return path


def praxis_env(display: str | None, home: Path, **extra: str) -> dict[str, str]:
    """The environment for a CLI process: a private keyring file and data home under `home`,
    no managed policy, unbuffered output."""
    drop = (
        "WAYLAND_DISPLAY",
        "XDG_SESSION_TYPE",
        "PRAXIS_DATA_DIR",
        "PYTHON_KEYRING_BACKEND",
        "DISPLAY",
    )
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        XDG_DATA_HOME=str(home / "xdg-data"),
        XDG_CONFIG_HOME=str(home / "xdg-config"),
        PRAXIS_POLICY_FILE=str(_empty_policy(home)),
        PYTHONUNBUFFERED="1",
    )
    if display:
        env["DISPLAY"] = display
    env.update(extra)
    return env


def praxis_cmd(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args]


def run_cli(
    data_dir: Path, *args: str, env: dict[str, str], timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        praxis_cmd(data_dir, *args),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def check_cli(data_dir: Path, *args: str, env: dict[str, str], timeout: float = 60.0) -> str:
    """Run a command that must succeed; returns its stdout."""
    result = run_cli(data_dir, *args, env=env, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"praxis {' '.join(args)} exited {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result.stdout


def status(data_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    return json.loads(check_cli(data_dir, "status", "--json", env=env))


def wait_committed(data_dir: Path, env: dict[str, str], at_least: int, timeout: float = 30) -> int:
    """Wait until the recorder has committed `at_least` events and then no more between two
    readings: it has caught up with the input so far. Returns the count."""
    last: list[int] = []

    def settled() -> bool:
        count = int(status(data_dir, env)["pending_events"])
        done = count >= at_least and last[-1:] == [count]
        last.append(count)
        return done

    wait_for(settled, timeout, f"{at_least} committed events (last seen: {last[-1:]})", 0.1)
    return last[-1]


def type_recorded(x: XServer, data_dir: Path, env: dict[str, str], text: str) -> None:
    """Type `text` and Return, then wait until the recorder has taken all of it in.

    The recorder learns of a focus change by polling, and a pause or a stop refuses input
    that is still on its way; a test that acts right after typing must wait for this."""
    before = int(status(data_dir, env)["pending_events"])
    x.type_text(text)
    x.key("Return")
    wait_committed(data_dir, env, before + 2 * len(text) + 2)


class RecorderProcess:
    """`praxis record --headless` as a child process, with its output kept in a log file."""

    def __init__(self, data_dir: Path, env: dict[str, str], log_path: Path) -> None:
        self.data_dir = data_dir
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> RecorderProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                praxis_cmd(self.data_dir, "record", "--headless"),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_state("recording", timeout)
        return self

    def state(self) -> str | None:
        result = run_cli(self.data_dir, "status", "--json", env=self.env)
        if result.returncode != 0:
            return None
        return str(json.loads(result.stdout)["state"])

    def wait_state(self, state: str, timeout: float = 10.0) -> None:
        def reached() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"the recorder exited with {self.proc.returncode} before reaching {state!r}:\n"
                    + self.output()
                )
            return self.state() == state

        wait_for(reached, timeout, f"the recorder to be {state!r}", interval=0.1)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        """Send `sig` and wait for a clean exit; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            raise AssertionError(f"the recorder did not exit within {timeout} s of {sig}") from exc

    def kill(self) -> None:
        """SIGKILL, as a crash would; a no-op if it already exited."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


# -- reading exports -------------------------------------------------------------------
@dataclass
class ExportedSegment:
    folder: Path
    manifest: dict[str, Any]
    events: list[dict[str, Any]]


def read_export(out_dir: Path) -> list[ExportedSegment]:
    """Every exported segment under `out_dir`, in recording order."""
    segments = []
    for manifest_path in out_dir.glob("*/manifest.json"):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        lines = (manifest_path.parent / "events.jsonl").read_text(encoding="utf-8").splitlines()
        segments.append(
            ExportedSegment(manifest_path.parent, manifest, [json.loads(x) for x in lines])
        )
    segments.sort(key=lambda s: s.manifest["started_at"])
    return segments


def export(
    data_dir: Path, out_dir: Path, env: dict[str, str], *extra: str
) -> list[ExportedSegment]:
    check_cli(data_dir, "export", "--out", str(out_dir), *extra, env=env)
    return read_export(out_dir)


def all_events(segments: list[ExportedSegment]) -> Iterator[dict[str, Any]]:
    for segment in segments:
        yield from segment.events


def typed_text(events: list[dict[str, Any]] | Iterator[dict[str, Any]]) -> str:
    """The text that key-down events spell out; Enter reads as a newline."""
    out = []
    for event in events:
        if event["type"] != "key" or event["action"] != "down":
            continue
        if event.get("char") is not None:
            out.append(event["char"])
        elif event["key"] == "enter":
            out.append("\n")
    return "".join(out)
