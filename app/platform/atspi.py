"""Whether the keyboard focus is in a password field, told by AT-SPI (the Linux accessibility
bus) over D-Bus with jeepney: no GLib, no libatspi.

The session bus names the accessibility bus (org.a11y.Bus GetAddress). There the registry is
asked for focus changes and window (de)activation, since toolkits only send the events someone
registered for, and a background thread follows them. On every focus gain it reads the role
of the focused object (Accessible.GetRole on the sender and path of the event) and, failing
that, of its parent: ROLE_PASSWORD_TEXT means a password field. A key press asks
`focused_is_password()`, which only reads what that thread kept.

Only applications that expose accessibility are seen. GTK does by default; Qt only once
accessibility is on for the session (org.a11y.Status IsEnabled or ScreenReaderEnabled, or
QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1 in its environment); other toolkits have switches of their
own. So every answer keeps the process it was learnt from: given the pid of the window that
has the keyboard, an answer learnt from another process is "cannot tell", never "not a
password". Focus leaving an application (its window deactivated, or it left the bus) is
"cannot tell" as well.

The raw D-Bus calls sit in small functions; the decisions (FocusTracker, apply_signal) know no
D-Bus and are tested on their own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

log = logging.getLogger(__name__)

ROLE_PASSWORD_TEXT = 40  # AtspiRole ATSPI_ROLE_PASSWORD_TEXT
# Qt sends window Deactivate only to listeners of window:activate (or all window events).
EVENTS = ("object:state-changed:focused", "window:activate", "window:deactivate")
HISTORY = 64  # focus changes kept, for answers about a given moment
# A focus event arrives after the focus moved: a key this close before one may belong to it.
GRACE_S = 0.25
CALL_TIMEOUT_S = 1.0  # an application that does not answer in time leaves the focus unknown
CONNECT_TIMEOUT_S = 5.0  # the first GetAddress may start the accessibility bus
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
POLL_S = 0.5

IFACE_OBJECT = "org.a11y.atspi.Event.Object"
IFACE_WINDOW = "org.a11y.atspi.Event.Window"
IFACE_ACCESSIBLE = "org.a11y.atspi.Accessible"
IFACE_DBUS = "org.freedesktop.DBus"
BUS = ("/org/freedesktop/DBus", IFACE_DBUS, IFACE_DBUS)  # path, name, interface
REGISTRY = ("/org/a11y/atspi/registry", "org.a11y.atspi.Registry", "org.a11y.atspi.Registry")
NULL_PATH = "/org/a11y/atspi/null"


# -- the decisions ----------------------------------------------------------------------
@dataclass(frozen=True)
class FocusState:
    """What had the focus from `since` (monotonic seconds) on. `password` is None when that
    is not known: nothing focused, the role not read (yet), or AT-SPI unavailable."""

    since: float
    password: bool | None
    owner: str | None = None  # unique bus name of the application
    path: str | None = None
    pid: int | None = None
    resolved: bool = True  # False while the role is being read


def verdict(state: FocusState, window_pid: int | None) -> bool | None:
    if state.password is None:
        return None
    if window_pid is not None and state.pid != window_pid:
        return None  # learnt from another process than the one that has the keyboard
    return state.password


def combine(verdicts: Iterable[bool | None]) -> bool | None:
    """A password anywhere wins; otherwise any doubt is doubt."""
    seen = list(verdicts)
    if True in seen:
        return True
    if not seen or None in seen:
        return None
    return False


class FocusTracker:
    """The focus history, written by the listener thread and read by any thread. The history
    is an immutable tuple replaced whole, so a reader never needs a lock."""

    def __init__(self, keep: int = HISTORY, clock: Callable[[], float] = time.monotonic) -> None:
        self._keep = keep
        self._clock = clock
        self._history: tuple[FocusState, ...] = ()

    @property
    def current(self) -> FocusState | None:
        history = self._history
        return history[-1] if history else None

    def _push(self, state: FocusState) -> None:
        last = self.current
        if last is not None and state.since < last.since:  # keep the history in time order
            state = replace(state, since=last.since)
        self._history = (*self._history[-(self._keep - 1) :], state)

    def _replace_last(self, state: FocusState) -> None:
        self._history = (*self._history[:-1], state)

    # -- writers (the listener thread only) -----------------------------------------
    def _when(self, since: float | None) -> float:
        return self._clock() if since is None else since

    def gained(self, owner: str, path: str, since: float | None = None) -> None:
        """A focus gain was seen; until its role is read the answer is "cannot tell"."""
        self._push(FocusState(self._when(since), None, owner, path, resolved=False))

    def resolved(self, owner: str, path: str, password: bool | None, pid: int | None) -> None:
        """The role of the object from the last `gained` is known (None: could not be read)."""
        last = self.current
        if last is None or last.resolved or (last.owner, last.path) != (owner, path):
            return
        self._replace_last(FocusState(last.since, password, owner, path, pid))

    def lost(self, owner: str, path: str, since: float | None = None) -> None:
        last = self.current
        if last is not None and (last.owner, last.path) == (owner, path):
            self._push(FocusState(self._when(since), None))

    def left(self, owner: str, since: float | None = None) -> None:
        """The application holding the focus deactivated a window or left the bus."""
        last = self.current
        if last is not None and last.owner == owner:
            self._push(FocusState(self._when(since), None))

    def unavailable(self) -> None:
        last = self.current
        if last is not None and last.password is None and last.owner is None:
            return
        self._push(FocusState(self._clock(), None))

    # -- readers (any thread) -------------------------------------------------------
    def answer(
        self, at: float | None = None, window_pid: int | None = None, grace: float = GRACE_S
    ) -> bool | None:
        """True/False for a password field or not; None when that cannot be told. `at` asks
        about a moment (monotonic seconds, e.g. when a key went down): the state then, and
        any state seen up to `grace` later, since events arrive after the focus moved.
        `window_pid` is the process whose window has the keyboard, when known."""
        history = self._history  # one read: a consistent snapshot
        if not history:
            return None
        if at is None:
            return verdict(history[-1], window_pid)
        index = len(history) - 1
        while index >= 0 and history[index].since > at:
            index -= 1
        verdicts: list[bool | None] = [None if index < 0 else verdict(history[index], window_pid)]
        verdicts += [verdict(s, window_pid) for s in history[index + 1 :] if s.since <= at + grace]
        return combine(verdicts)


@dataclass(frozen=True)
class Signal:
    interface: str
    member: str
    sender: str
    path: str
    body: tuple[Any, ...]


def focus_change(signal: Signal) -> bool | None:
    """True for a focus gain, False for a loss, None when the signal is no focus change."""
    if (signal.interface, signal.member) != (IFACE_OBJECT, "StateChanged"):
        return None
    body = signal.body
    if len(body) < 2 or body[0] != "focused" or not isinstance(body[1], int):
        return None
    return body[1] != 0


def left_bus(signal: Signal) -> str | None:
    """The unique name of a connection that left the bus (NameOwnerChanged to nobody)."""
    if (signal.interface, signal.member) != (IFACE_DBUS, "NameOwnerChanged"):
        return None
    body = signal.body
    if len(body) == 3 and str(body[0]).startswith(":") and body[2] == "":
        return str(body[0])
    return None


def is_password(
    owner: str,
    path: str,
    role_of: Callable[[str, str], int],
    parent_of: Callable[[str, str], tuple[str, str] | None],
) -> bool | None:
    """Whether the object is a password field, or a part of one (its parent is). None when
    its role cannot be read."""
    try:
        if role_of(owner, path) == ROLE_PASSWORD_TEXT:
            return True
    except Exception:  # any failure of the call (object gone, timeout) means "cannot tell"
        return None
    try:
        parent = parent_of(owner, path)
        return parent is not None and role_of(*parent) == ROLE_PASSWORD_TEXT
    except Exception:
        return False  # the object itself is no password field; its parent is out of reach


def apply_signal(
    tracker: FocusTracker,
    signal: Signal,
    received: float,
    role_of: Callable[[str, str], int],
    parent_of: Callable[[str, str], tuple[str, str] | None],
    pid_of: Callable[[str], int | None],
) -> None:
    """Update `tracker` for one AT-SPI or bus signal received at `received`."""
    change = focus_change(signal)
    if change is True:
        tracker.gained(signal.sender, signal.path, received)
        password = is_password(signal.sender, signal.path, role_of, parent_of)
        tracker.resolved(signal.sender, signal.path, password, pid_of(signal.sender))
    elif change is False:
        tracker.lost(signal.sender, signal.path, received)
    elif (signal.interface, signal.member) == (IFACE_WINDOW, "Deactivate"):
        tracker.left(signal.sender, received)
    else:
        gone = left_bus(signal)
        if gone is not None:
            tracker.left(gone, received)


# -- raw D-Bus calls --------------------------------------------------------------------
def _call(conn: Any, message: Any, timeout: float = CALL_TIMEOUT_S) -> tuple[Any, ...]:
    from jeepney.wrappers import unwrap_msg

    return tuple(unwrap_msg(conn.send_and_get_reply(message, timeout=timeout)))


def _method(
    path: str, bus_name: str, interface: str, member: str, sig: str = "", *args: Any
) -> Any:
    from jeepney import DBusAddress, new_method_call

    address = DBusAddress(path, bus_name=bus_name, interface=interface)
    return new_method_call(address, member, sig or None, args)


def _a11y_bus_address(session: Any) -> str:
    """Asked of the session bus; the first call may start the accessibility bus."""
    get = _method("/org/a11y/bus", "org.a11y.Bus", "org.a11y.Bus", "GetAddress")
    return str(_call(session, get, CONNECT_TIMEOUT_S)[0])


def _open(address: str) -> Any:
    from jeepney.io.blocking import open_dbus_connection

    return open_dbus_connection(address)


def _rules() -> list[Any]:
    from jeepney import MatchRule

    return [
        MatchRule(type="signal", interface=IFACE_OBJECT, member="StateChanged"),
        MatchRule(type="signal", interface=IFACE_WINDOW, member="Deactivate"),
        MatchRule(
            type="signal", sender=IFACE_DBUS, interface=IFACE_DBUS, member="NameOwnerChanged"
        ),
    ]


def _add_match(conn: Any, rule: Any) -> None:
    _call(conn, _method(*BUS, "AddMatch", "s", rule.serialise()))


def _register_event(conn: Any, event: str) -> None:
    # Only the event name: older registries read nothing more; newer ones take the rest as optional.
    _call(conn, _method(*REGISTRY, "RegisterEvent", "s", event))


def _role(conn: Any, owner: str, path: str) -> int:
    return int(_call(conn, _method(path, owner, IFACE_ACCESSIBLE, "GetRole"))[0])


def _parent(conn: Any, owner: str, path: str) -> tuple[str, str] | None:
    get = _method(
        path, owner, "org.freedesktop.DBus.Properties", "Get", "ss", IFACE_ACCESSIBLE, "Parent"
    )
    _sig, (name, parent_path) = _call(conn, get)[0]
    if not name or parent_path in ("", "/", NULL_PATH):
        return None
    return str(name), str(parent_path)


def _pid(conn: Any, owner: str) -> int | None:
    try:
        return int(_call(conn, _method(*BUS, "GetConnectionUnixProcessID", "s", owner))[0])
    except Exception:  # the application already left, or the bus does not know
        return None


def _signal(message: Any) -> Signal:
    from jeepney import HeaderFields

    fields = message.header.fields
    return Signal(
        str(fields.get(HeaderFields.interface, "")),
        str(fields.get(HeaderFields.member, "")),
        str(fields.get(HeaderFields.sender, "")),
        str(fields.get(HeaderFields.path, "")),
        tuple(message.body),
    )


class _NoSessionBus(Exception):
    pass


class _Stopped(Exception):
    pass


class _StampedQueue(deque[Any]):
    """Matched messages with the time they were read off the socket: an event that waited
    behind a role lookup still counts from when it arrived."""

    def append(self, item: Any) -> None:
        super().append((time.monotonic(), item))


# -- the listener -----------------------------------------------------------------------
class PasswordFocus:
    """Answers focused_is_password() -> bool | None (None = cannot tell)."""

    def __init__(self, session_bus_address: str | None = None) -> None:
        self._session_bus_address = session_bus_address
        self._tracker = FocusTracker()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._lock = threading.Lock()
        self._conn: Any = None
        self._thread: threading.Thread | None = None
        self.reason: str | None = "not started"  # why it cannot tell, for diagnostics

    def start(self) -> None:
        """Connect and follow focus events on a background thread. Never raises: when AT-SPI
        is not there the answer stays "cannot tell" and connecting is retried now and then."""
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="atspi-focus", daemon=True)
            try:
                self._thread.start()
            except RuntimeError as exc:  # no thread can be started (interpreter shutting down)
                self._thread = None
                self.reason = f"cannot start the listener: {exc}"

    def focused_is_password(
        self, at: float | None = None, window_pid: int | None = None
    ) -> bool | None:
        """Whether the focus is (`at`: was, at that time.monotonic()) in a password field.
        With `window_pid`, the process whose window has the keyboard, an answer learnt from
        another process is None. Reads kept state only; safe from any thread."""
        return self._tracker.answer(at, window_pid)

    def wait_until_listening(self, timeout: float) -> bool:
        """Whether the listener is subscribed to focus events within `timeout` seconds."""
        return self._listening.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
            conn = self._conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)  # wakes the listener at once
        if thread is not None and thread is not threading.current_thread():
            # Not long: a daemon thread that is still connecting ends by itself right after.
            thread.join(0.5)
        self._tracker.unavailable()

    # -- the listener thread --------------------------------------------------------
    def _address(self) -> str:
        if self._session_bus_address is None:
            override = os.environ.get("AT_SPI_BUS_ADDRESS")  # as libatspi honours it
            if override:
                return override
        session = self._session_bus_address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not session:
            raise _NoSessionBus("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        conn = self._adopt(_open(session))
        try:
            return _a11y_bus_address(conn)
        finally:
            self._release(conn)

    def _adopt(self, conn: Any) -> Any:
        """Make `conn` the one stop() interrupts; refused (closed) once stopping."""
        with self._lock:
            if self._stop.is_set():
                conn.close()
                raise _Stopped
            self._conn = conn
        return conn

    def _release(self, conn: Any) -> None:
        with self._lock:
            if self._conn is conn:
                self._conn = None
        conn.close()

    def _run(self) -> None:
        delay = RETRY_FIRST_S
        failures = 0
        while not self._stop.is_set():
            try:
                self._listen(self._address())
            except _NoSessionBus as exc:
                self.reason = str(exc)
                log.info("password fields cannot be told through AT-SPI: %s", exc)
                break
            except _Stopped:
                break
            except Exception as exc:  # D-Bus, socket and protocol errors alike
                if self._stop.is_set():
                    break
                self.reason = f"AT-SPI is not available: {type(exc).__name__}: {exc}"
                failures += 1
                log.log(logging.INFO if failures == 1 else logging.DEBUG, "%s", self.reason)
            finally:
                if self._listening.is_set():  # it worked for a while: try again soon
                    delay, failures = RETRY_FIRST_S, 0
                self._listening.clear()
                self._tracker.unavailable()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, RETRY_MAX_S)

    def _listen(self, address: str) -> None:
        conn = self._adopt(_open(address))
        try:
            queue = _StampedQueue()
            rules = _rules()
            handles = [conn.filter(rule, queue=queue) for rule in rules]
            for rule in rules:
                _add_match(conn, rule)
            for event in EVENTS:
                _register_event(conn, event)
            self.reason = None
            self._listening.set()
            pids: dict[str, int | None] = {}

            def pid_of(owner: str) -> int | None:
                if owner not in pids:
                    pids[owner] = _pid(conn, owner)
                return pids[owner]

            while not self._stop.is_set():
                try:
                    received, message = conn.recv_until_filtered(queue, timeout=POLL_S)
                except TimeoutError:
                    continue
                signal = _signal(message)
                apply_signal(
                    self._tracker,
                    signal,
                    received,
                    lambda owner, path: _role(conn, owner, path),
                    lambda owner, path: _parent(conn, owner, path),
                    pid_of,
                )
                gone = left_bus(signal)
                if gone is not None:
                    pids.pop(gone, None)
            for handle in handles:
                handle.close()
        finally:
            self._release(conn)
