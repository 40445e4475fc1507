"""Consent through the dialog: nothing is captured before Accept, or after Decline/Withdraw."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QTextBrowser

from app.core.consent import load_consent_text
from app.core.settings import Settings
from app.core.state import RecorderState
from app.ui.consent_dialog import ConsentDialog
from app.ui.main import TrayApp
from tests.ui.helpers import WAIT_MS, FakeConfirm, record_some_input, start, wait_state
from tests.unit.fakes import ScriptedInput


@dataclass
class DialogSeen:
    """What the engine looked like while the consent dialog was on screen."""

    title: str = ""
    modal: bool = False
    state: RecorderState | None = None
    listeners: int = -1
    timer: QTimer | None = None


def answer_consent(qtbot, app: TrayApp, answer: str) -> DialogSeen:  # noqa: ANN001
    """Click "accept" or "decline", or press "enter", in the consent dialog once it is up. The
    app opens it with exec(), which runs its own event loop: a polling timer runs inside it."""
    seen = DialogSeen()
    poll = seen.timer = QTimer()
    poll.setInterval(10)

    def check() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ConsentDialog) or not dialog.isVisible():
            return
        poll.stop()
        seen.title = dialog.windowTitle()
        seen.modal = dialog.isModal()
        seen.state = app.recorder.state
        seen.listeners = len(ScriptedInput.instances)
        if answer == "enter":  # to whatever has the keyboard focus, as a real key press goes
            qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Return)
        else:
            button = dialog.accept_button if answer == "accept" else dialog.decline_button
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    poll.timeout.connect(check)
    poll.start()
    return seen


def test_accepting_in_the_dialog_starts_recording(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder())
    seen = answer_consent(qtbot, app, "accept")

    app.start_recorder()
    wait_state(qtbot, app, RecorderState.RECORDING)

    assert seen.title == "Praxis: your consent"
    assert seen.modal
    assert seen.state == RecorderState.NEEDS_CONSENT  # the dialog was up before any capture
    assert seen.listeners == 0
    assert app.recorder.consent_on_record() is not None
    assert ScriptedInput.instances[-1].started


@pytest.mark.parametrize("answer", ["decline", "enter"])
def test_declining_records_nothing_and_says_how_to_change_it(
    qtbot, make_recorder, make_app, answer: str
) -> None:
    """Decline, or Enter pressed without reading (Decline is the default button)."""
    app = make_app(make_recorder())
    seen = answer_consent(qtbot, app, answer)

    with qtbot.waitSignal(app.tray.notified, timeout=WAIT_MS) as notice:
        app.start_recorder()

    assert seen.state == RecorderState.NEEDS_CONSENT
    assert notice.args[0] == "Nothing is recorded"
    assert "Give consent to record" in notice.args[1]
    assert app.recorder.state == RecorderState.NEEDS_CONSENT
    assert app.recorder.consent_on_record() is None
    assert ScriptedInput.instances == []  # no input listener was ever created
    assert app.tray.consent_action.isVisible()

    # Changing one's mind later, from the menu.
    answer_consent(qtbot, app, "accept")
    app.tray.consent_action.trigger()
    wait_state(qtbot, app, RecorderState.RECORDING)
    assert ScriptedInput.instances[-1].started


def test_withdrawing_in_settings_stops_and_deletes(
    qtbot, make_recorder, make_app, confirm: FakeConfirm
) -> None:
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    record_some_input(qtbot, app.recorder)
    app.tray.settings_action.trigger()
    dialog = app.windows["settings"]
    qtbot.waitExposed(dialog)

    qtbot.mouseClick(dialog.withdraw_button, Qt.MouseButton.LeftButton)
    wait_state(qtbot, app, RecorderState.NEEDS_CONSENT)

    assert confirm.calls[0][0] == "Withdraw consent?"
    assert "every recording not yet uploaded is deleted" in confirm.calls[0][1]
    assert not dialog.isVisible()
    assert app.recorder.consent_on_record() is None
    assert not ScriptedInput.instances[-1].started
    assert app.recorder.status().counters["pending_events"] == 0
    assert app.tray.consent_action.isVisible()


def test_withdraw_cancelled_keeps_recording(
    qtbot, make_recorder, make_app, confirm: FakeConfirm
) -> None:
    confirm.answer = False
    app = make_app(make_recorder(consent=True))
    start(qtbot, app)
    app.open_window("settings")
    dialog = app.windows["settings"]
    qtbot.mouseClick(dialog.withdraw_button, Qt.MouseButton.LeftButton)
    assert confirm.calls and dialog.isVisible()
    assert app.recorder.state == RecorderState.RECORDING
    assert app.recorder.consent_on_record() is not None


def test_enter_declines(qtbot) -> None:
    """The default button is Decline: pressing Enter never gives consent by accident."""
    dialog = ConsentDialog(load_consent_text(), Settings())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.decline_button.isDefault() and not dialog.accept_button.isDefault()
    with qtbot.waitSignal(dialog.rejected, timeout=WAIT_MS):
        qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Return)
    assert dialog.result() == ConsentDialog.DialogCode.Rejected


def test_accept_button_accepts(qtbot) -> None:
    dialog = ConsentDialog(load_consent_text(), Settings())
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)


def test_dialog_shows_the_text_and_this_computers_scope(qtbot) -> None:
    text = load_consent_text()
    settings = Settings(
        capture_screen=False, excluded_apps=("keepassxc",), locked=frozenset({"capture_screen"})
    )
    dialog = ConsentDialog(text, settings)
    qtbot.addWidget(dialog)
    plain = dialog.findChild(QTextBrowser).toPlainText()
    heading = text.body.splitlines()[0].lstrip("# ")
    assert heading and heading in plain
    assert "On this computer Praxis records: keys and typed text" in plain
    assert "screenshots around your actions" not in plain
    assert "Never recorded: keepassxc." in plain
    assert "Some of these choices are set by your organization." in plain
    labels = [label.text() for label in dialog.findChildren(QLabel)]
    assert f"Consent text version {text.version}" in labels


def test_read_only_view_only_closes(qtbot) -> None:
    dialog = ConsentDialog(load_consent_text(), Settings(), read_only=True)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "What Praxis records"
    assert not hasattr(dialog, "accept_button")
    box = dialog.findChild(QDialogButtonBox)
    assert box.standardButtons() == QDialogButtonBox.StandardButton.Close


def test_consent_dialog_states_how_recordings_leave_under_the_policy_in_force() -> None:
    from app.ui.consent_dialog import scope_summary

    assert "only recordings you approve" in scope_summary(Settings())
    auto = scope_summary(Settings(upload="auto", auto_after_hours=8))
    assert "approved for upload automatically 8 hours after" in auto
    body = load_consent_text().body
    assert "review period" in body and "delete" in body
