"""The no-tray status window and the activity log window."""

from __future__ import annotations

import re
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from app.core.state import RecorderState
from app.ui.icons import state_icon
from app.ui.status_window import NO_TRAY_REASON, StatusWindow
from app.ui.tray_state import TrayState
from tests.ui.helpers import WAIT_MS, FakeConfirm, record_some_input, start, wait_state


def icon_shows(window: StatusWindow, state: TrayState) -> bool:
    expected = state_icon(state, False).pixmap(32, 32).toImage()
    return window.icon.pixmap().toImage() == expected


def test_without_a_tray_the_status_window_stands_in(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder(consent=True))
    assert app.tray.tray is None
    window = app.status_window
    assert isinstance(window, StatusWindow)
    app.show()
    qtbot.waitExposed(window)
    start(qtbot, app)

    labels = [label.text() for label in window.findChildren(QLabel)]
    assert NO_TRAY_REASON in labels
    menus = [b.menu() for b in window.findChildren(QPushButton) if b.menu() is not None]
    assert menus == [app.tray.menu]  # the whole tray menu, one click away
    qtbot.waitUntil(lambda: window.headline.text() == "Recording", timeout=WAIT_MS)
    assert icon_shows(window, TrayState.RECORDING)
    assert window.pause_button.isVisible() and not window.resume_button.isVisible()

    qtbot.mouseClick(window.pause_button, Qt.MouseButton.LeftButton)
    wait_state(qtbot, app, RecorderState.PAUSED)
    assert app.recorder.status().paused_until == pytest.approx(time.time() + 15 * 60, abs=2)
    assert window.headline.text().startswith("Paused, resumes at ")
    assert window.headline.text().endswith("(15 min left)")
    assert icon_shows(window, TrayState.PAUSED)
    assert window.resume_button.isVisible() and not window.pause_button.isVisible()

    qtbot.mouseClick(window.resume_button, Qt.MouseButton.LeftButton)
    wait_state(qtbot, app, RecorderState.RECORDING)
    assert window.headline.text() == "Recording"
    assert icon_shows(window, TrayState.RECORDING)


def test_status_window_asks_for_consent_first(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder())
    app.recorder.start()
    wait_state(qtbot, app, RecorderState.NEEDS_CONSENT)
    window = app.status_window
    assert window.headline.text() == "Not recording: consent needed"
    assert icon_shows(window, TrayState.NEEDS_CONSENT)
    assert not window.pause_button.isVisibleTo(window)
    assert not window.resume_button.isVisibleTo(window)


def test_closing_the_status_window_only_minimizes_it(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder())
    app.show()
    window = app.status_window
    qtbot.waitExposed(window)
    window.close()
    assert window.isVisible()
    assert window.windowState() & Qt.WindowState.WindowMinimized


def activity_rows(window) -> list[tuple[str, str]]:  # noqa: ANN001
    table = window.table
    return [(table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())]


def test_activity_window_lists_pause_resume_and_delete(
    qtbot, make_recorder, make_app, confirm: FakeConfirm
) -> None:
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    app.tray.activity_action.trigger()
    window = app.windows["activity"]
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: ("Recording", "Recording started") in activity_rows(window))

    app.tray.pause_actions["15 minutes"].trigger()
    qtbot.waitUntil(lambda: ("Paused", "Paused for 15 min") in activity_rows(window))
    app.tray.resume_action.trigger()
    qtbot.waitUntil(lambda: ("Resumed", "Recording resumed") in activity_rows(window))
    record_some_input(qtbot, app.recorder)
    app.tray.delete_actions["Last 5 minutes"].trigger()
    qtbot.waitUntil(lambda: any(kind == "Deleted" for kind, _ in activity_rows(window)))

    rows = activity_rows(window)
    kinds = [kind for kind, _ in rows]
    assert kinds[:4] == ["Deleted", "Resumed", "Paused", "Recording"]  # newest first
    deleted = rows[0][1]
    assert deleted.startswith("Delete the last 5 min: deleted ")
    first_when = window.table.item(0, 0).text()
    assert time.strftime("%Y-%m-%d") in first_when
    assert confirm.calls


def test_activity_window_shows_a_deletion_made_while_paused(qtbot, make_recorder, make_app) -> None:
    """A deletion while paused changes no status; the log still shows it."""
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    record_some_input(qtbot, app.recorder)
    app.tray.pause_actions["Until I resume"].trigger()
    wait_state(qtbot, app, RecorderState.PAUSED)
    app.open_window("activity")
    window = app.windows["activity"]
    qtbot.waitUntil(lambda: ("Paused", "Paused until resumed") in activity_rows(window))

    with qtbot.waitSignal(app.tray.notified, timeout=WAIT_MS):
        app.tray.delete_actions["Everything not yet uploaded"].trigger()
    qtbot.waitUntil(lambda: activity_rows(window)[0][0] == "Deleted", timeout=WAIT_MS)
    assert activity_rows(window)[0][1].startswith("Delete everything not yet uploaded: deleted ")
    assert app.recorder.state == RecorderState.PAUSED


def test_status_window_shows_notices_that_a_tray_would_pop_up(
    qtbot, make_recorder, make_app
) -> None:
    app = make_app(make_recorder(consent=True))
    app.show()
    window = app.status_window
    start(qtbot, app)
    assert not window.notice.isVisibleTo(window)

    app.tray.pause(0.3)
    qtbot.waitUntil(lambda: "Recording resumed: The timed pause has ended." in window.notice.text())
    assert window.notice.isVisibleTo(window)
    assert re.match(r"\d\d:\d\d  Recording resumed", window.notice.text())
    layout = window.layout()
    assert window.height() >= layout.totalHeightForWidth(window.width())  # room for it all
