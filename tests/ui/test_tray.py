"""The tray menu, driven through its QActions: every choice does to the engine what it says."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest

from app.core.state import RecorderState
from app.ui.icons import state_icon
from app.ui.tray import PAUSE_CHOICES
from app.ui.tray_state import TrayState, headline, seconds_until_tomorrow, tooltip
from tests.ui.helpers import (
    WAIT_MS,
    FakeConfirm,
    record_some_input,
    start,
    stored_events,
    wait_state,
)
from tests.unit.fakes import ScriptedInput

PAUSE_SECONDS = {
    "15 minutes": lambda: 15 * 60,
    "1 hour": lambda: 60 * 60,
    "Until tomorrow": lambda: seconds_until_tomorrow(datetime.now()),
    "Until I resume": lambda: None,
}


def test_menu_offers_every_pause_choice() -> None:
    assert [label for label, _ in PAUSE_CHOICES] == list(PAUSE_SECONDS)


@pytest.mark.parametrize("label", list(PAUSE_SECONDS))
def test_pause_choice_pauses_for_that_long(qtbot, make_recorder, make_app, label: str) -> None:
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    capture = ScriptedInput.instances[-1]
    expected = PAUSE_SECONDS[label]()
    asked = time.time()

    app.tray.pause_actions[label].trigger()
    wait_state(qtbot, app, RecorderState.PAUSED)

    status = app.recorder.status()
    if expected is None:
        assert status.paused_until is None
        assert app.tray.headline_action.text() == "Paused until you resume"
    else:
        assert status.paused_until == pytest.approx(asked + expected, abs=2)
        assert app.tray.headline_action.text().startswith("Paused, resumes at ")
    assert not capture.started  # the input listener is off while paused
    assert app.tray.resume_action.isVisible()


def test_resume_restarts_capture(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    app.tray.pause_actions["1 hour"].trigger()
    wait_state(qtbot, app, RecorderState.PAUSED)
    listeners_before = len(ScriptedInput.instances)

    app.tray.resume_action.trigger()
    wait_state(qtbot, app, RecorderState.RECORDING)

    assert app.recorder.status().paused_until is None
    assert len(ScriptedInput.instances) == listeners_before + 1
    assert ScriptedInput.instances[-1].started
    assert app.tray.headline_action.text() == "Recording"
    assert not app.tray.resume_action.isVisible()


def test_menu_shows_only_what_applies(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder())
    app.recorder.start()  # not app.start_recorder(): that would open the consent dialog
    wait_state(qtbot, app, RecorderState.NEEDS_CONSENT)
    tray = app.tray
    assert tray.consent_action.isVisible()
    assert not tray.pause_menu.menuAction().isVisible()
    assert not tray.resume_action.isVisible()
    assert not tray.delete_actions["This session"].isEnabled()
    assert tray.headline_action.text() == "Not recording: consent needed"

    app.recorder.accept_consent()
    wait_state(qtbot, app, RecorderState.RECORDING)
    assert not tray.consent_action.isVisible()
    assert tray.pause_menu.menuAction().isVisible() and tray.pause_menu.isEnabled()
    assert tray.delete_actions["This session"].isEnabled()
    assert not tray.resume_action.isVisible()


def test_delete_last_five_minutes_states_counts_then_deletes(
    qtbot, make_recorder, make_app, confirm: FakeConfirm
) -> None:
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    total = record_some_input(qtbot, app.recorder)
    typed = stored_events(app.recorder)
    assert typed > 0

    with qtbot.waitSignal(
        app.tray.notified, timeout=WAIT_MS, check_params_cb=lambda title, _msg: title == "Deleted"
    ) as notice:
        app.tray.delete_actions["Last 5 minutes"].trigger()

    assert len(confirm.calls) == 1
    title, text = confirm.calls[0]
    assert title == "Delete last 5 minutes?"
    assert f"This permanently deletes {total} events and 0 screenshots recorded between " in text
    assert "cannot be recovered" in text
    assert stored_events(app.recorder) == 0
    assert notice.args[1].startswith(f"Deleted {total} events and 0 screenshots")
    wait_state(qtbot, app, RecorderState.RECORDING)  # recording goes on afterwards


def test_cancelled_deletion_deletes_nothing(
    qtbot, make_recorder, make_app, confirm: FakeConfirm
) -> None:
    confirm.answer = False
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    record_some_input(qtbot, app.recorder)
    typed = stored_events(app.recorder)
    notices: list[tuple[str, str]] = []
    app.tray.notified.connect(lambda title, msg: notices.append((title, msg)))

    app.tray.delete_actions["Last hour"].trigger()
    qtbot.waitUntil(lambda: bool(confirm.calls), timeout=WAIT_MS)

    # The deletion would have been queued in the same call that asked; it was not.
    assert confirm.calls[0][0] == "Delete last hour?"
    assert stored_events(app.recorder) == typed
    assert notices == []
    with app.recorder.buffer.reader() as db:
        assert db.execute("SELECT count(*) FROM activity WHERE kind = 'delete'").fetchone()[0] == 0


def test_delete_with_nothing_recorded_says_so_without_asking(
    qtbot, make_recorder, make_app, confirm: FakeConfirm
) -> None:
    app = make_app(make_recorder())
    with qtbot.waitSignal(app.tray.notified, timeout=WAIT_MS) as notice:
        app.tray.delete_actions["Everything not yet uploaded"].trigger()
    assert notice.args == ["Nothing to delete", "There is nothing to delete in that range."]
    assert confirm.calls == []


@pytest.mark.parametrize(
    ("label", "title"),
    [
        ("This session", "Delete this session?"),
        ("Everything not yet uploaded", "Delete everything not yet uploaded?"),
    ],
)
def test_other_deletions_ask_then_delete(
    qtbot, make_recorder, make_app, confirm: FakeConfirm, label: str, title: str
) -> None:
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    total = record_some_input(qtbot, app.recorder)
    with qtbot.waitSignal(app.tray.notified, timeout=WAIT_MS):
        app.tray.delete_actions[label].trigger()
    assert confirm.calls[0][0] == title
    assert f"{total} events and 0 screenshots" in confirm.calls[0][1]
    assert stored_events(app.recorder) == 0


def test_timed_pause_end_is_announced(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    with qtbot.waitSignal(
        app.tray.notified,
        timeout=WAIT_MS,
        check_params_cb=lambda title, _msg: title == "Recording resumed",
    ) as notice:
        app.tray.pause(0.3)
    assert notice.args[1] == "The timed pause has ended."
    wait_state(qtbot, app, RecorderState.RECORDING)
    assert ScriptedInput.instances[-1].started


def test_icon_follows_the_state(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder())
    shown = [app.tray.shown_state]
    app.tray.state_shown.connect(lambda s: shown.append(s) if s != shown[-1] else None)

    app.recorder.start()
    app.recorder.accept_consent()
    wait_state(qtbot, app, RecorderState.RECORDING)
    app.tray.pause_actions["Until I resume"].trigger()
    wait_state(qtbot, app, RecorderState.PAUSED)
    app.tray.resume_action.trigger()
    wait_state(qtbot, app, RecorderState.RECORDING)

    assert shown == [
        TrayState.NEEDS_CONSENT,
        TrayState.RECORDING,
        TrayState.PAUSED,
        TrayState.RECORDING,
    ]


def test_tray_icon_and_tooltip_match_the_state(qtbot, make_recorder, make_app) -> None:
    """With a tray (offscreen Qt lends one to the widget even without a panel)."""
    app = make_app(make_recorder(consent=True), use_tray=True)
    tray = app.tray.tray
    assert tray is not None
    start(qtbot, app)

    def shows(state: TrayState) -> bool:
        return (
            app.tray.shown_state == state
            and tray.icon().cacheKey() == state_icon(state, False).cacheKey()
        )

    qtbot.waitUntil(lambda: shows(TrayState.RECORDING), timeout=WAIT_MS)
    assert tray.toolTip().startswith("Praxis: Recording\nSession: ")
    app.tray.pause_actions["15 minutes"].trigger()
    qtbot.waitUntil(lambda: shows(TrayState.PAUSED), timeout=WAIT_MS)
    assert re.match(
        r"Praxis: Paused, resumes at \d\d:\d\d \((15|14) min left\)\n", tray.toolTip()
    ), tray.toolTip()
    assert tray.toolTip() == tooltip(app.tray.status, time.time())
    assert app.tray.headline_action.text() == headline(app.tray.status, time.time())


def test_review_item_counts_waiting_segments_and_opens_the_review_window(
    qtbot, make_recorder, make_app
) -> None:
    from app.ui.review_window import ReviewWindow

    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    assert app.tray.review_action.text() == "Review pending uploads…"
    record_some_input(qtbot, app.recorder)
    app.recorder.flush_to_disk()  # seals the segment; the recorder puts it up for review
    qtbot.waitUntil(
        lambda: (
            (app.tray.bridge.refresh() or True)
            and app.tray.review_action.text() == "Review pending uploads (1)…"
        ),
        timeout=WAIT_MS,
    )
    assert "Waiting for your review: 1 segment" in tooltip(app.tray.status, time.time())
    app.tray.review_action.trigger()
    window = app.windows["review"]
    assert isinstance(window, ReviewWindow)
    qtbot.waitUntil(lambda: window.loaded is not None, timeout=WAIT_MS)
    assert window.isVisible() and window.segment_list.count() == 1
