"""The decisions behind PasswordFocus, without D-Bus: which signals move the focus, how a role
becomes an answer, and what is answered about now and about a given moment."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.platform.atspi import (
    IFACE_DBUS,
    IFACE_OBJECT,
    IFACE_WINDOW,
    ROLE_PASSWORD_TEXT,
    FocusTracker,
    PasswordFocus,
    Signal,
    apply_signal,
    combine,
    focus_change,
    is_password,
    left_bus,
)

ROLE_TEXT = 61
ROLE_PUSH_BUTTON = 43
APP, OTHER = ":1.5", ":1.9"
FIELD, SECRET, WINDOW = "/a/1", "/a/2", "/a/frame"
PID = 4242


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeApps:
    """Roles, parents and pids as an AT-SPI bus would report them."""

    def __init__(self) -> None:
        self.roles = {(APP, FIELD): ROLE_TEXT, (APP, SECRET): ROLE_PASSWORD_TEXT}
        self.parents: dict[tuple[str, str], tuple[str, str] | None] = {}
        self.pids = {APP: PID, OTHER: PID + 1}
        self.calls: list[tuple[str, ...]] = []

    def role_of(self, owner: str, path: str) -> int:
        self.calls.append(("role", owner, path))
        if (owner, path) not in self.roles:
            raise TimeoutError("no reply")
        return self.roles[(owner, path)]

    def parent_of(self, owner: str, path: str) -> tuple[str, str] | None:
        self.calls.append(("parent", owner, path))
        return self.parents.get((owner, path))

    def pid_of(self, owner: str) -> int | None:
        return self.pids.get(owner)


def state_changed(sender: str, path: str, gained: int, detail: str = "focused") -> Signal:
    return Signal(IFACE_OBJECT, "StateChanged", sender, path, (detail, gained, 0, ("s", ""), {}))


def deactivated(sender: str) -> Signal:
    return Signal(IFACE_WINDOW, "Deactivate", sender, WINDOW, ("", 0, 0, ("s", "Form"), {}))


def owner_changed(name: str, old: str, new: str) -> Signal:
    return Signal(
        IFACE_DBUS, "NameOwnerChanged", IFACE_DBUS, "/org/freedesktop/DBus", (name, old, new)
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tracker(clock: Clock) -> FocusTracker:
    return FocusTracker(clock=clock)


@pytest.fixture
def apps() -> FakeApps:
    return FakeApps()


def feed(tracker: FocusTracker, apps: FakeApps, clock: Clock, signal: Signal) -> None:
    apply_signal(tracker, signal, clock.now, apps.role_of, apps.parent_of, apps.pid_of)


# -- reading signals ----------------------------------------------------------------------
def test_focus_change_reads_only_focused_state_changes() -> None:
    assert focus_change(state_changed(APP, FIELD, 1)) is True
    assert focus_change(state_changed(APP, FIELD, 0)) is False
    assert focus_change(state_changed(APP, FIELD, 1, detail="showing")) is None
    assert focus_change(deactivated(APP)) is None
    assert focus_change(Signal(IFACE_OBJECT, "StateChanged", APP, FIELD, ())) is None
    assert focus_change(Signal(IFACE_OBJECT, "StateChanged", APP, FIELD, ("focused", "x"))) is None


def test_left_bus_names_only_unique_names_that_went_away() -> None:
    assert left_bus(owner_changed(APP, APP, "")) == APP
    assert left_bus(owner_changed(APP, "", APP)) is None  # arrived
    assert left_bus(owner_changed("org.a11y.atspi.Registry", ":1.1", "")) is None
    assert left_bus(state_changed(APP, FIELD, 1)) is None


def test_is_password_by_role_then_by_parent(apps: FakeApps) -> None:
    assert is_password(APP, SECRET, apps.role_of, apps.parent_of) is True
    assert apps.calls == [("role", APP, SECRET)]  # no second call when the role says it all
    assert is_password(APP, FIELD, apps.role_of, apps.parent_of) is False
    # A focused part of a password field (its parent is one) counts as the field.
    apps.roles[(APP, "/a/inner")] = ROLE_TEXT
    apps.parents[(APP, "/a/inner")] = (APP, SECRET)
    assert is_password(APP, "/a/inner", apps.role_of, apps.parent_of) is True


def test_is_password_cannot_tell_when_the_role_cannot_be_read(apps: FakeApps) -> None:
    assert is_password(APP, "/a/gone", apps.role_of, apps.parent_of) is None
    # Its own role read but the parent out of reach: it is not a password field itself.
    apps.roles[(APP, "/a/orphan")] = ROLE_PUSH_BUTTON
    apps.parents[(APP, "/a/orphan")] = (APP, "/a/gone")
    assert is_password(APP, "/a/orphan", apps.role_of, apps.parent_of) is False


def test_combine_prefers_password_then_doubt() -> None:
    assert combine([False, True, None]) is True
    assert combine([False, None]) is None
    assert combine([False, False]) is False
    assert combine([]) is None


# -- the answer now -------------------------------------------------------------------------
def test_nothing_seen_yet_cannot_tell(tracker: FocusTracker) -> None:
    assert tracker.answer() is None
    assert tracker.answer(at=50.0) is None


def test_focus_moves_between_plain_and_password_fields(
    tracker: FocusTracker, apps: FakeApps, clock: Clock
) -> None:
    feed(tracker, apps, clock, state_changed(APP, FIELD, 1))
    assert tracker.answer() is False
    clock.now += 1
    feed(tracker, apps, clock, state_changed(APP, FIELD, 0))  # Qt: the old one loses first
    assert tracker.answer() is None
    feed(tracker, apps, clock, state_changed(APP, SECRET, 1))
    assert tracker.answer() is True
    assert tracker.answer(window_pid=PID) is True


def test_pending_role_is_unknown(tracker: FocusTracker) -> None:
    tracker.gained(APP, SECRET, 1.0)
    assert tracker.answer() is None  # the role is being read
    tracker.resolved(APP, SECRET, True, PID)
    assert tracker.answer() is True
    tracker.resolved(APP, SECRET, False, PID)  # no second resolution of the same gain
    assert tracker.answer() is True


def test_resolution_of_an_older_gain_is_ignored(tracker: FocusTracker) -> None:
    tracker.gained(APP, SECRET, 1.0)
    tracker.gained(APP, FIELD, 1.1)
    tracker.resolved(APP, SECRET, True, PID)
    assert tracker.answer() is None
    tracker.resolved(APP, FIELD, False, PID)
    assert tracker.answer() is False


def test_unreadable_role_is_unknown(tracker: FocusTracker, apps: FakeApps, clock: Clock) -> None:
    feed(tracker, apps, clock, state_changed(APP, "/a/gone", 1))
    assert tracker.answer() is None


def test_loss_of_another_object_changes_nothing(
    tracker: FocusTracker, apps: FakeApps, clock: Clock
) -> None:
    feed(tracker, apps, clock, state_changed(APP, SECRET, 1))
    feed(tracker, apps, clock, state_changed(APP, FIELD, 0))  # late loss of the previous one
    assert tracker.answer() is True


def test_answer_from_another_process_is_no_answer(
    tracker: FocusTracker, apps: FakeApps, clock: Clock
) -> None:
    feed(tracker, apps, clock, state_changed(APP, FIELD, 1))
    assert tracker.answer(window_pid=PID) is False
    # The keyboard went to a window of a process that tells AT-SPI nothing (a terminal):
    # the last thing heard, "not a password", is about someone else.
    assert tracker.answer(window_pid=PID + 7) is None
    assert tracker.answer() is False  # without a pid the caller takes it as it is


def test_unknown_pid_is_no_answer_when_a_window_pid_is_given(
    tracker: FocusTracker, apps: FakeApps, clock: Clock
) -> None:
    del apps.pids[APP]
    feed(tracker, apps, clock, state_changed(APP, SECRET, 1))
    assert tracker.answer() is True
    assert tracker.answer(window_pid=PID) is None


def test_window_deactivation_of_the_focus_owner_is_unknown(
    tracker: FocusTracker, apps: FakeApps, clock: Clock
) -> None:
    feed(tracker, apps, clock, state_changed(APP, SECRET, 1))
    feed(tracker, apps, clock, deactivated(OTHER))
    assert tracker.answer() is True
    feed(tracker, apps, clock, deactivated(APP))
    assert tracker.answer() is None
    feed(tracker, apps, clock, state_changed(APP, SECRET, 1))  # re-activated: focus told again
    assert tracker.answer() is True


def test_focus_owner_leaving_the_bus_is_unknown(
    tracker: FocusTracker, apps: FakeApps, clock: Clock
) -> None:
    feed(tracker, apps, clock, state_changed(APP, FIELD, 1))
    feed(tracker, apps, clock, owner_changed(OTHER, OTHER, ""))
    assert tracker.answer() is False
    feed(tracker, apps, clock, owner_changed(APP, APP, ""))
    assert tracker.answer() is None


def test_unavailable_is_unknown(tracker: FocusTracker, apps: FakeApps, clock: Clock) -> None:
    feed(tracker, apps, clock, state_changed(APP, FIELD, 1))
    tracker.unavailable()
    tracker.unavailable()
    assert tracker.answer() is None
    assert len(tracker._history) == 2  # a second "unavailable" adds nothing


# -- the answer about a moment ------------------------------------------------------------
def test_answer_about_a_moment(tracker: FocusTracker, apps: FakeApps, clock: Clock) -> None:
    clock.now = 10.0
    feed(tracker, apps, clock, state_changed(APP, FIELD, 1))
    clock.now = 20.0
    feed(tracker, apps, clock, state_changed(APP, SECRET, 1))
    clock.now = 30.0
    feed(tracker, apps, clock, state_changed(APP, FIELD, 1))

    assert tracker.answer(at=5.0) is None  # before anything was heard
    assert tracker.answer(at=15.0) is False
    assert tracker.answer(at=25.0) is True  # typed into the password field, handled later
    assert tracker.answer(at=35.0) is False
    assert tracker.answer() is False


def test_a_key_just_before_a_focus_event_counts_for_both(
    tracker: FocusTracker, apps: FakeApps, clock: Clock
) -> None:
    """The event comes a little after the focus moved: a key in that gap may already belong
    to the new field."""
    clock.now = 10.0
    feed(tracker, apps, clock, state_changed(APP, FIELD, 1))
    clock.now = 20.0
    feed(tracker, apps, clock, state_changed(APP, SECRET, 1))
    clock.now = 30.0
    feed(tracker, apps, clock, state_changed(APP, FIELD, 1))

    assert tracker.answer(at=19.9) is True  # plain then, but the password field came 0.1 s later
    assert tracker.answer(at=19.0) is False  # further back than the grace period
    assert tracker.answer(at=29.9) is True  # the password field had it until 30 s
    assert tracker.answer(at=29.9, grace=0.0) is True
    assert tracker.answer(at=30.1) is False


def test_a_moment_older_than_the_kept_history_cannot_be_told(clock: Clock) -> None:
    tracker = FocusTracker(keep=3, clock=clock)
    for n in range(5):
        tracker.gained(APP, FIELD, float(n))
        tracker.resolved(APP, FIELD, False, PID)
    assert len(tracker._history) == 3
    assert tracker.answer(at=1.5) is None  # that part of the history is gone
    assert tracker.answer(at=2.5) is False


def test_readers_see_whole_states_while_the_listener_writes(clock: Clock) -> None:
    """Answers are read from another thread than the one writing: never an exception, and
    never an answer that no state ever had."""
    tracker = FocusTracker(keep=8)
    stop = threading.Event()
    seen: set[bool | None] = set()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                seen.add(tracker.answer())
                seen.add(tracker.answer(at=1e12))
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(20_000):
        path = SECRET if n % 2 else FIELD
        tracker.gained(APP, path, float(n))
        tracker.resolved(APP, path, n % 2 == 1, PID)
    stop.set()
    reader.join()
    assert not errors
    assert seen <= {True, False, None}


# -- the listener without a bus -----------------------------------------------------------
def test_password_focus_before_start_cannot_tell() -> None:
    watcher = PasswordFocus("unix:path=/nonexistent/bus")
    assert watcher.focused_is_password() is None
    watcher.stop()  # stopping what never started is harmless
    assert watcher.focused_is_password() is None


def test_password_focus_without_session_bus_gives_up_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("AT_SPI_BUS_ADDRESS", raising=False)
    watcher = PasswordFocus()
    watcher.start()
    try:
        assert watcher.wait_until_listening(0.2) is False
        assert watcher._thread is not None
        watcher._thread.join(5)
        assert not watcher._thread.is_alive()  # nothing to retry without a session bus
        assert "session bus" in (watcher.reason or "")
        assert watcher.focused_is_password() is None
    finally:
        watcher.stop()


def test_password_focus_with_unreachable_bus_keeps_trying_and_stops_at_once(
    tmp_path: Path,
) -> None:
    watcher = PasswordFocus(f"unix:path={tmp_path}/no-such-socket")
    watcher.start()
    watcher.start()  # a second start is a no-op
    try:
        assert watcher.wait_until_listening(0.3) is False
        assert watcher.focused_is_password() is None
        deadline = time.monotonic() + 5
        while watcher.reason == "not started" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "AT-SPI is not available" in (watcher.reason or "")
        thread = watcher._thread
        assert thread is not None and thread.is_alive()  # waiting to try again
    finally:
        started = time.monotonic()
        watcher.stop()
    assert time.monotonic() - started < 1.0
    assert not thread.is_alive()


def test_history_stays_in_time_order(tracker: FocusTracker) -> None:
    """Events are stamped when read off the socket; a stamp out of order (a loss read before
    the gain it follows was handled) must not reorder what is answered about moments."""
    tracker.gained(APP, FIELD, 10.0)
    tracker.resolved(APP, FIELD, False, PID)
    tracker.lost(APP, FIELD, 9.0)
    assert [s.since for s in tracker._history] == [10.0, 10.0]
    assert tracker.answer(at=10.5) is None
    assert tracker.answer(at=9.5) is None
