"""The settings dialog: what IT locked cannot be changed, and saving writes only the rest."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QDialogButtonBox

from app.core.settings import load_settings
from app.core.state import RecorderState
from app.ui.settings_dialog import MANAGED, SettingsDialog
from tests.ui.helpers import WAIT_MS, start, wait_state

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LOCKED = frozenset({"capture_screen", "disk_budget_mb"})


def save_button(dialog: SettingsDialog):  # noqa: ANN201
    return dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)


def test_locked_settings_are_shown_but_disabled(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder(consent=True, disk_budget_mb=512, locked=LOCKED))
    app.open_window("settings")
    dialog = app.windows["settings"]
    qtbot.waitExposed(dialog)

    assert not dialog.capture_screen.isEnabled()
    assert not dialog.capture_screen.isChecked()
    assert dialog.capture_screen.text() == f"Screenshots around actions ({MANAGED.lower()})"
    assert dialog.capture_screen.toolTip() == MANAGED
    assert not dialog.disk_budget_mb.isEnabled()
    assert dialog.disk_budget_mb.value() == 512
    for name, widget in dialog._fields().items():
        if name not in LOCKED:
            assert widget.isEnabled(), name
            if isinstance(widget, QCheckBox):
                assert MANAGED.lower() not in widget.text()


def test_loading_twice_does_not_repeat_the_managed_note(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder(locked=LOCKED))
    app.open_window("settings")
    dialog = app.windows["settings"]
    dialog.load(dialog.settings)
    assert dialog.capture_screen.text().count(MANAGED.lower()) == 1


def test_saving_writes_only_unlocked_choices_and_applies_them(
    qtbot, make_recorder, make_app, settings_file: Path
) -> None:
    app = make_app(make_recorder(consent=True, disk_budget_mb=512, locked=LOCKED))
    start(qtbot, app)
    app.tray.settings_action.trigger()
    dialog = app.windows["settings"]
    qtbot.waitExposed(dialog)

    dialog.capture_keys.setChecked(False)
    dialog.excluded_apps.setPlainText("keepassxc\n  \nSignal\n")
    dialog.segment_minutes.setValue(10)
    with qtbot.waitSignal(dialog.settings_saved, timeout=WAIT_MS):
        qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)

    assert not dialog.isVisible()
    written = tomllib.loads(settings_file.read_text(encoding="utf-8"))
    assert written == {
        "capture_keys": False,
        "segment_minutes": 10.0,
        "excluded_apps": ["keepassxc", "Signal"],
    }
    # capture_screen=False and disk_budget_mb=512 come from policy: never in the user's file.
    reloaded = load_settings(settings_file)
    assert reloaded.capture_screen and reloaded.disk_budget_mb == 2048

    qtbot.waitUntil(lambda: app.recorder.settings.segment_minutes == 10, timeout=WAIT_MS)
    applied = app.recorder.settings
    assert applied.excluded_apps == ("keepassxc", "Signal")
    assert not applied.capture_keys
    assert not applied.capture_screen and applied.disk_budget_mb == 512
    assert applied.locked == LOCKED
    wait_state(qtbot, app, RecorderState.RECORDING)  # capture restarted with the new settings


def test_a_bad_shortcut_is_explained_and_nothing_is_saved(
    qtbot, make_recorder, make_app, settings_file: Path
) -> None:
    app = make_app(make_recorder())
    app.open_window("settings")
    dialog = app.windows["settings"]
    dialog.pause_hotkey.setText("")
    qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.error_label.isVisibleTo(dialog)
    assert "shortcut" in dialog.error_label.text()
    assert not settings_file.exists()


def test_cancel_changes_nothing(qtbot, make_recorder, make_app, settings_file: Path) -> None:
    app = make_app(make_recorder())
    app.open_window("settings")
    dialog = app.windows["settings"]
    dialog.capture_mouse.setChecked(False)
    button = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert not settings_file.exists()
    assert app.recorder.settings.capture_mouse


def test_whole_numbers_read_without_decimals(qtbot, make_recorder, make_app) -> None:
    app = make_app(make_recorder(idle_frame_interval_s=30.0, segment_minutes=2.5))
    app.open_window("settings")
    dialog = app.windows["settings"]
    assert dialog.idle_frame_interval_s.text() == "30 s"
    assert dialog.segment_minutes.text() == "2.5 min"  # a fraction from the file is kept
    assert dialog.edited().segment_minutes == 2.5


def test_start_at_login_fixed_by_policy_is_locked(qtbot, make_recorder, make_app) -> None:
    locked = frozenset({"start_at_login"})
    app = make_app(make_recorder(start_at_login=True, locked=locked))
    app.open_window("settings")
    dialog = app.windows["settings"]
    qtbot.waitExposed(dialog)
    assert dialog.autostart.isChecked() and not dialog.autostart.isEnabled()
    assert dialog.autostart.toolTip() == MANAGED
