"""Where no system tray exists, a small always-available window with the same controls."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.state import RecorderState
from app.ui.icons import panel_is_dark, state_icon
from app.ui.tray import TrayController
from app.ui.tray_state import TrayState, headline

NO_TRAY_REASON = (
    "This desktop has no system tray, so Praxis shows its status here. "
    "Closing this window minimizes it; use Quit in the menu to stop Praxis."
)


class StatusWindow(QWidget):
    def __init__(self, controller: TrayController) -> None:
        super().__init__()
        self.controller = controller
        self.setWindowTitle("Praxis")
        self.setMinimumWidth(400)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        top = QHBoxLayout()
        self.icon = QLabel()
        self.headline = QLabel()
        self.headline.setStyleSheet("font-weight: 600;")
        top.addWidget(self.icon)
        top.addWidget(self.headline, 1)
        layout.addLayout(top)
        # Without a tray there are no notification bubbles: the latest notice is shown here.
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.hide()
        layout.addWidget(self.notice)
        note = QLabel(NO_TRAY_REASON)
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QHBoxLayout()
        self.pause_button = QPushButton("Pause 15 minutes")
        self.pause_button.clicked.connect(lambda: controller.pause(15 * 60))
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(controller.resume)
        more = QPushButton("Menu")  # a push button sized like its neighbours, with an arrow
        more.setMenu(controller.menu)
        for widget in (self.pause_button, self.resume_button, more):
            buttons.addWidget(widget)
        layout.addLayout(buttons)
        controller.state_shown.connect(self._on_state_shown)
        controller.notified.connect(self._on_notified)
        self._on_state_shown(controller.shown_state)

    def _on_notified(self, title: str, message: str) -> None:
        self.notice.setText(f"{time.strftime('%H:%M')}  {title}: {message}")
        self.notice.show()
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow (never shrink) to fit wrapped text at the current width."""
        layout = self.layout()
        layout.activate()
        needed = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else -1
        needed = max(needed, layout.totalMinimumSize().height())
        if self.height() < needed:
            self.resize(self.width(), needed)

    def _on_state_shown(self, state: TrayState) -> None:
        status = self.controller.status
        self.icon.setPixmap(state_icon(state, panel_is_dark()).pixmap(32, 32))
        self.headline.setText(headline(status, time.time()))
        self.pause_button.setVisible(status.state == RecorderState.RECORDING)
        self.resume_button.setVisible(status.state in (RecorderState.PAUSED, RecorderState.ERROR))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        event.ignore()
        self.setWindowState(self.windowState() | Qt.WindowState.WindowMinimized)
