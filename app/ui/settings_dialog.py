"""Settings the employee may change. Keys set by IT policy are shown but locked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import PraxisError
from app.core.settings import Settings, save_user_settings
from app.platform import autostart

MANAGED = "Managed by your organization"


class SettingsDialog(QDialog):
    settings_saved = Signal(object)  # Settings
    withdraw_requested = Signal()

    def __init__(self, settings: Settings, settings_file: Path) -> None:
        super().__init__()
        self.settings = settings
        self.settings_file = settings_file
        self.setWindowTitle("Praxis settings")
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        layout.setSpacing(12)

        capture = QGroupBox("What is recorded")
        form = QFormLayout(capture)
        self.capture_keys = QCheckBox("Keys and typed text")
        self.capture_mouse = QCheckBox("Mouse clicks, scrolls and movement")
        self.capture_screen = QCheckBox("Screenshots around actions")
        for box in (self.capture_keys, self.capture_mouse, self.capture_screen):
            form.addRow(box)
        self.idle_frame_interval_s = QDoubleSpinBox()
        self.idle_frame_interval_s.setRange(5, 600)
        self.idle_frame_interval_s.setSuffix(" s")
        form.addRow("Screenshot at least every", self.idle_frame_interval_s)
        self.excluded_apps = QPlainTextEdit()
        self.excluded_apps.setPlaceholderText("One app per line, e.g. keepassxc")
        self.excluded_apps.setFixedHeight(80)
        form.addRow("Never record these apps", self.excluded_apps)
        layout.addWidget(capture)

        storage = QGroupBox("Storage and controls")
        form2 = QFormLayout(storage)
        self.segment_minutes = QDoubleSpinBox()
        self.segment_minutes.setRange(1, 60)
        self.segment_minutes.setSuffix(" min")
        form2.addRow("Split recordings into parts of", self.segment_minutes)
        self.disk_budget_mb = QSpinBox()
        self.disk_budget_mb.setRange(16, 1_000_000)
        self.disk_budget_mb.setSuffix(" MB")
        form2.addRow("Keep at most", self.disk_budget_mb)
        self.pause_hotkey = QLineEdit()
        self.pause_hotkey.setToolTip("For example <ctrl>+<alt>+p")
        form2.addRow("Pause/resume shortcut", self.pause_hotkey)
        self.autostart = QCheckBox("Start Praxis when I log in")
        if not autostart.supported():
            self.autostart.setEnabled(False)
            self.autostart.setToolTip("Set up by the installer on this system")
        form2.addRow(self.autostart)
        layout.addWidget(storage)

        self.withdraw_button = QPushButton("Withdraw consent and delete unsent recordings…")
        self.withdraw_button.clicked.connect(self.withdraw_requested.emit)
        layout.addWidget(self.withdraw_button)
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #c5221f;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.load(settings)

    def _fields(self) -> dict[str, QWidget]:
        return {
            name: getattr(self, name)
            for name in (
                "capture_keys",
                "capture_mouse",
                "capture_screen",
                "idle_frame_interval_s",
                "excluded_apps",
                "segment_minutes",
                "disk_budget_mb",
                "pause_hotkey",
            )
        }

    def load(self, settings: Settings) -> None:
        self.settings = settings
        self.capture_keys.setChecked(settings.capture_keys)
        self.capture_mouse.setChecked(settings.capture_mouse)
        self.capture_screen.setChecked(settings.capture_screen)
        for box, value in (
            (self.idle_frame_interval_s, settings.idle_frame_interval_s),
            (self.segment_minutes, settings.segment_minutes),
        ):
            box.setDecimals(0 if float(value).is_integer() else 1)
        self.idle_frame_interval_s.setValue(settings.idle_frame_interval_s)
        self.excluded_apps.setPlainText("\n".join(settings.excluded_apps))
        self.segment_minutes.setValue(settings.segment_minutes)
        self.disk_budget_mb.setValue(settings.disk_budget_mb)
        self.pause_hotkey.setText(settings.pause_hotkey)
        login_locked = "start_at_login" in settings.locked
        self.autostart.setChecked(settings.start_at_login if login_locked else autostart.enabled())
        self.autostart.setEnabled(autostart.supported() and not login_locked)
        if login_locked:
            self.autostart.setToolTip(MANAGED)
        for name, widget in self._fields().items():
            locked = name in settings.locked
            widget.setEnabled(not locked)
            widget.setToolTip(MANAGED if locked else widget.toolTip().replace(MANAGED, ""))
            if (
                isinstance(widget, QCheckBox)
                and locked
                and not widget.text().endswith(f"({MANAGED.lower()})")
            ):
                widget.setText(f"{widget.text()} ({MANAGED.lower()})")

    def edited(self) -> Settings:
        apps = tuple(a.strip() for a in self.excluded_apps.toPlainText().splitlines() if a.strip())
        return replace(
            self.settings,
            capture_keys=self.capture_keys.isChecked(),
            capture_mouse=self.capture_mouse.isChecked(),
            capture_screen=self.capture_screen.isChecked(),
            idle_frame_interval_s=float(self.idle_frame_interval_s.value()),
            excluded_apps=apps,
            segment_minutes=float(self.segment_minutes.value()),
            disk_budget_mb=int(self.disk_budget_mb.value()),
            pause_hotkey=self.pause_hotkey.text().strip(),
        )

    def save(self) -> None:
        new = self.edited()
        try:
            from app.core.capture.hotkey import parse_hotkey

            parse_hotkey(new.pause_hotkey)
            save_user_settings(self.settings_file, new)
            if (
                autostart.supported()
                and "start_at_login" not in new.locked
                and self.autostart.isChecked() != autostart.enabled()
            ):
                autostart.set_enabled(self.autostart.isChecked())
        except (PraxisError, OSError) as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return
        self.error_label.hide()
        self.settings = new
        self.settings_saved.emit(new)
        self.accept()
