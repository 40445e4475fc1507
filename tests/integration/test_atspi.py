"""Password fields told apart through AT-SPI, end to end: a private D-Bus session (whose
accessibility bus at-spi-bus-launcher starts on demand), a real Qt or GTK form on Xvfb, and
focus moved the way a person moves it (a click, the Tab key), through XTEST."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.xsession import XServer, XWindow, wait_for

from app.platform.atspi import PasswordFocus

pytestmark = pytest.mark.x11

FORM = Path(__file__).resolve().parents[1] / "support" / "password_form.py"
TITLE = "Praxis AT-SPI password form"
SYSTEM_PYTHON = "/usr/bin/python3"  # PyGObject usually comes with the system's Python
A11Y_SERVICE = Path("/usr/share/dbus-1/services/org.a11y.Bus.service")
STEP_TIMEOUT = 10.0  # generous: a loaded machine is slow; the measured latency is printed


@dataclass
class SessionBus:
    address: str
    env: dict[str, str]  # for processes of this session: its bus, our display, a private runtime


@pytest.fixture
def session_bus(xserver: XServer) -> Iterator[SessionBus]:
    """A D-Bus session of its own. Its services (the accessibility bus launcher) see our Xvfb
    and keep their sockets under a private XDG_RUNTIME_DIR (short: socket paths are limited
    to 108 bytes); they leave with the bus."""
    if shutil.which("dbus-daemon") is None or not A11Y_SERVICE.exists():
        pytest.fail(
            "the AT-SPI tests need dbus-daemon and the accessibility bus "
            "(Debian/Ubuntu: apt-get install dbus-daemon at-spi2-core)",
            pytrace=False,
        )
    runtime = tempfile.mkdtemp(prefix="praxis-a11y-")
    env = xserver.env(XDG_RUNTIME_DIR=runtime, GSETTINGS_BACKEND="memory")
    env.pop("AT_SPI_BUS_ADDRESS", None)
    try:
        started = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        address, pid = started.stdout.split()[:2]
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        try:
            yield SessionBus(address, env)
        finally:
            os.kill(int(pid), signal.SIGTERM)  # at-spi-bus-launcher and its bus follow it out
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def focus(session_bus: SessionBus) -> Iterator[PasswordFocus]:
    watcher = PasswordFocus(session_bus.address)
    watcher.start()
    try:
        if not watcher.wait_until_listening(30):
            pytest.fail(f"no AT-SPI listener after 30 s: {watcher.reason}", pytrace=False)
        yield watcher
    finally:
        watcher.stop()


@dataclass
class Form:
    proc: subprocess.Popen[str]
    pid: int
    wid: int
    centres: dict[str, tuple[int, int]]
    changes: queue.Queue[tuple[str | None, float]]  # (field, time.monotonic()) per focus change

    def forget_changes(self) -> None:
        while not self.changes.empty():
            self.changes.get_nowait()

    def focused_at(self, name: str) -> float:
        """When the form itself saw `name` take the focus (since forget_changes())."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            try:
                got, mono = self.changes.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the form never reported focus on {name!r}") from None
            if got == name:
                return mono


def gtk_python() -> str:
    """A Python that can import GTK 3 through PyGObject; fails (never skips) without one."""
    probe = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"
    for python in dict.fromkeys((sys.executable, SYSTEM_PYTHON)):
        if (
            shutil.which(python)
            and subprocess.run([python, "-c", probe], capture_output=True).returncode == 0
        ):
            return python
    pytest.fail(
        "the GTK AT-SPI test needs PyGObject and GTK 3 (Debian/Ubuntu: apt-get install "
        "python3-gi gir1.2-gtk-3.0)",
        pytrace=False,
    )


@pytest.fixture(params=["qt", "gtk"])
def form(
    request: pytest.FixtureRequest, xserver: XServer, session_bus: SessionBus, focus: PasswordFocus
) -> Iterator[Form]:
    toolkit = request.param
    python = sys.executable if toolkit == "qt" else gtk_python()
    env = dict(session_bus.env, QT_QPA_PLATFORM="xcb", QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1")
    env.pop("NO_AT_BRIDGE", None)  # would keep GTK off the accessibility bus
    proc = subprocess.Popen(
        [python, str(FORM), toolkit, TITLE],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    ready: queue.Queue[dict[str, Any]] = queue.Queue()
    changes: queue.Queue[tuple[str | None, float]] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            item = json.loads(line)
            if "ready" in item:
                ready.put(item)
            else:
                changes.put((item["focus"], float(item["mono"])))

    threading.Thread(target=read, daemon=True).start()
    try:
        try:
            shown = ready.get(timeout=60)
        except queue.Empty:
            raise AssertionError(
                f"the form did not become ready (exit code {proc.poll()})"
            ) from None
        centres = {name: (int(x), int(y)) for name, (x, y) in shown["ready"].items()}
        yield Form(proc, int(shown["pid"]), xserver.find_window(TITLE, 30), centres, changes)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def click_field(x: XServer, form: Form, name: str) -> None:
    x.xdotool("windowfocus", "--sync", str(form.wid))  # no window manager gives it otherwise
    cx, cy = form.centres[name]
    x.click(cx, cy)


def answer_becomes(
    focus: PasswordFocus, want: bool | None, what: str, window_pid: int | None = None
) -> float:
    """Wait for the answer; returns the monotonic time it was seen."""

    def seen() -> float:
        return time.monotonic() if focus.focused_is_password(window_pid=window_pid) is want else 0

    return wait_for(seen, STEP_TIMEOUT, f"focused_is_password() to be {want} ({what})", 0.001)


def act_and_time(
    focus: PasswordFocus, act: Callable[[], object], want: bool, what: str, window_pid: int
) -> float:
    """Do `act` and return when the answer first became `want`. The answer is polled on a
    thread of its own, so the time does not include waiting for xdotool to exit."""
    assert focus.focused_is_password(window_pid=window_pid) is not want, what
    seen: list[float] = []
    done = threading.Event()

    def poll() -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while not done.is_set() and time.monotonic() < deadline:
            if focus.focused_is_password(window_pid=window_pid) is want:
                seen.append(time.monotonic())
                return
            time.sleep(0.0005)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        act()
        poller.join(STEP_TIMEOUT + 1)
    finally:
        done.set()
    if not seen:
        raise AssertionError(
            f"timed out after {STEP_TIMEOUT:.1f} s waiting for focused_is_password() "
            f"to be {want} ({what}); reason: {focus.reason}"
        )
    return seen[0]


def warm_up(x: XServer, form: Form, focus: PasswordFocus) -> None:
    """Qt may reach the registry a moment after it reports ready: move the focus until the
    first focus change of the form is heard."""
    deadline = time.monotonic() + 30
    while focus.focused_is_password(window_pid=form.pid) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no focus event from the form within 30 s ({focus.reason})")
        for name in ("password", "plain"):
            click_field(x, form, name)
            time.sleep(0.2)


def test_focus_in_password_field_is_told_apart(
    request: pytest.FixtureRequest, x: XServer, form: Form, focus: PasswordFocus
) -> None:
    warm_up(x, form, focus)
    timings = {}

    steps = [
        ("click plain", lambda: click_field(x, form, "plain"), "plain", False),
        ("click password", lambda: click_field(x, form, "password"), "password", True),
        ("Tab to plain", lambda: x.key("Tab"), "plain", False),  # wraps round
        ("shift+Tab to password", lambda: x.key("shift+Tab"), "password", True),
    ]
    if focus.focused_is_password(window_pid=form.pid) is not True:
        steps = [steps[1], *steps]  # every step must move the focus
    acted: dict[str, float] = {}
    seen: dict[str, float] = {}
    for what, act, name, want in steps:
        form.forget_changes()
        time.sleep(0.5)  # apart by more than the grace period, for the questions about moments
        acted[what] = time.monotonic()
        seen[what] = act_and_time(focus, act, want, what, form.pid)
        timings[what] = seen[what] - form.focused_at(name)

    # Without a window pid the answer stands on its own; an answer learnt from another
    # process than the one holding the keyboard is no answer.
    assert focus.focused_is_password() is True
    assert focus.focused_is_password(window_pid=form.pid + 999_999) is None
    # Asked about a moment: after Tab the plain field had the focus ...
    assert focus.focused_is_password(at=seen["Tab to plain"], window_pid=form.pid) is False
    # ... and a key pressed just before the focus reached the password field counts as typed
    # into it (the event comes a little after the focus moved).
    moved = acted["shift+Tab to password"]
    assert focus.focused_is_password(at=moved - 0.01, window_pid=form.pid) is True
    assert focus.focused_is_password(at=time.monotonic(), window_pid=form.pid) is True

    print(f"AT-SPI focus-to-answer latency, {request.node.callspec.params['form']} (ms):")
    for step, seconds in timings.items():
        print(f"  {step}: {seconds * 1000:.1f}")
    assert all(0 <= s < 2.0 for s in timings.values()), timings


def test_focus_leaving_for_an_inaccessible_window_is_unknown(
    x: XServer, form: Form, focus: PasswordFocus
) -> None:
    """xterm has no accessibility: focus moving there must not keep the form's answer."""
    warm_up(x, form, focus)
    click_field(x, form, "password")
    answer_becomes(focus, True, "password field clicked")

    terminal: XWindow = x.xterm("Praxis AT-SPI terminal", 700, 120, cols=40, rows=8)
    x.focus(terminal)
    answer_becomes(focus, None, "focus moved to xterm (the form's window deactivated)")

    click_field(x, form, "password")
    answer_becomes(focus, True, "back in the password field")


def test_without_accessibility_bus_it_cannot_tell(tmp_path: Path) -> None:
    """A session bus address that leads nowhere: start() does not raise, answers stay None."""
    watcher = PasswordFocus(f"unix:path={tmp_path / 'no-bus'}")
    watcher.start()
    try:
        assert watcher.wait_until_listening(0.5) is False
        wait_for(lambda: watcher.reason != "not started", 5, "the failure to be noted")
        assert watcher.focused_is_password() is None
        assert "AT-SPI is not available" in (watcher.reason or "")
    finally:
        watcher.stop()
    assert watcher.focused_is_password() is None


def test_stop_right_after_start_is_prompt(session_bus: SessionBus) -> None:
    """A recorder that starts and stops at once (a self-test) does not wait for the
    accessibility bus to come up."""
    watcher = PasswordFocus(session_bus.address)
    watcher.start()
    thread = watcher._thread
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 1.0
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()
    assert watcher.focused_is_password() is None
