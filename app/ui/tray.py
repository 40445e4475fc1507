"""The tray icon and its menu: a view of the recorder's status, and the one-click controls.

Every action that touches the recorder runs through the bridge (off the UI thread); what the
person sees next comes back as a status signal, never from guessing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox, QSystemTrayIcon

from app.core.buffer.tx import DeletionReport
from app.core.deletion import DeleteRequest
from app.core.errors import PraxisError
from app.core.state import RecorderState, Status
from app.ui.bridge import Bridge
from app.ui.icons import panel_is_dark, state_icon
from app.ui.tray_state import (
    headline,
    review_item_text,
    seconds_until_tomorrow,
    tooltip,
    tray_state,
)

Confirm = Callable[[str, str], bool]  # (title, text) -> go ahead?

PAUSE_CHOICES: list[tuple[str, Callable[[], float | None]]] = [
    ("15 minutes", lambda: 15 * 60),
    ("1 hour", lambda: 60 * 60),
    ("Until tomorrow", lambda: seconds_until_tomorrow(datetime.now())),
    ("Until I resume", lambda: None),
]
DELETE_CHOICES: list[tuple[str, DeleteRequest]] = [
    ("Last 5 minutes", DeleteRequest.last(5 * 60)),
    ("Last hour", DeleteRequest.last(60 * 60)),
    ("This session", DeleteRequest("session")),
    ("Everything not yet uploaded", DeleteRequest.pending()),
]


def ask_with_message_box(title: str, text: str) -> bool:
    answer = QMessageBox.question(
        None,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def describe_preview(request: DeleteRequest, report: DeletionReport) -> str:
    if not (report.events or report.frames):
        return "There is nothing to delete in that range."
    span = ""
    if report.first_wall and report.last_wall:
        fmt = (
            "%H:%M"
            if time.localtime(report.first_wall)[:3] == time.localtime()[:3]
            else "%d %b %H:%M"
        )
        span = (
            f" recorded between {time.strftime(fmt, time.localtime(report.first_wall))}"
            f" and {time.strftime(fmt, time.localtime(report.last_wall))}"
        )
    return (
        f"This permanently deletes {report.events} events and {report.frames} screenshots"
        f"{span}.\n\nDeleted recordings cannot be recovered."
    )


class TrayController(QObject):
    """Owns the menu; shows it in the system tray, or lends it to the fallback window."""

    state_shown = Signal(object)  # TrayState, after icon, tooltip and menu were updated
    quit_requested = Signal()
    window_requested = Signal(str)  # activity | settings | consent | scope | review
    notified = Signal(str, str)  # every notice shown to the person (title, message)

    def __init__(
        self,
        bridge: Bridge,
        *,
        confirm: Confirm = ask_with_message_box,
        use_tray: bool | None = None,
    ) -> None:
        super().__init__()
        self.bridge = bridge
        self.confirm = confirm
        self.status: Status = bridge.recorder.status(with_counts=False)
        self.menu = QMenu()
        self._build_menu()
        available = QSystemTrayIcon.isSystemTrayAvailable() if use_tray is None else use_tray
        self.tray: QSystemTrayIcon | None = QSystemTrayIcon(self) if available else None
        if self.tray is not None:
            self.tray.setContextMenu(self.menu)
            self.tray.activated.connect(self._on_tray_activated)
        bridge.status_changed.connect(self._on_status_changed)
        bridge.notice_raised.connect(self._on_notice_raised)
        self._ticker = QTimer(self)  # keeps "time left" and the session length current
        self._ticker.setInterval(30_000)
        self._ticker.timeout.connect(self.bridge.refresh)
        self._ticker.start()
        self.shown_state = tray_state(self.status)
        self._render()

    # -- menu ----------------------------------------------------------------------
    def _build_menu(self) -> None:
        m = self.menu
        self.headline_action = m.addAction("")
        self.headline_action.setEnabled(False)
        self.consent_action = m.addAction(
            "Give consent to record…", lambda: self.window_requested.emit("consent")
        )
        m.addSeparator()
        self.pause_menu = m.addMenu("Pause")
        self.pause_actions: dict[str, QAction] = {}
        for label, seconds in PAUSE_CHOICES:
            self.pause_actions[label] = self.pause_menu.addAction(
                label, lambda s=seconds: self.pause(s())
            )
        self.resume_action = m.addAction("Resume recording", self.resume)
        self.delete_menu = m.addMenu("Delete")
        self.delete_actions: dict[str, QAction] = {}
        for label, request in DELETE_CHOICES:
            self.delete_actions[label] = self.delete_menu.addAction(
                label + "…", lambda r=request, lb=label: self.delete(r, lb)
            )
        m.addSeparator()
        self.review_action = m.addAction(
            "Review pending uploads…", lambda: self.window_requested.emit("review")
        )
        self.activity_action = m.addAction(
            "Activity log…", lambda: self.window_requested.emit("activity")
        )
        self.scope_action = m.addAction(
            "What is recorded…", lambda: self.window_requested.emit("scope")
        )
        self.settings_action = m.addAction(
            "Settings…", lambda: self.window_requested.emit("settings")
        )
        m.addSeparator()
        self.quit_action = m.addAction("Quit Praxis", self.quit_requested.emit)

    def _render(self) -> None:
        now = time.time()
        state = tray_state(self.status)
        recording_or_paused = self.status.state in (RecorderState.RECORDING, RecorderState.PAUSED)
        self.headline_action.setText(headline(self.status, now))
        self.consent_action.setVisible(self.status.state == RecorderState.NEEDS_CONSENT)
        self.pause_menu.setEnabled(recording_or_paused)
        self.pause_menu.menuAction().setVisible(self.status.state != RecorderState.NEEDS_CONSENT)
        self.resume_action.setVisible(
            self.status.state in (RecorderState.PAUSED, RecorderState.ERROR)
        )
        self.delete_actions["This session"].setEnabled(self.status.session_id is not None)
        self.review_action.setText(review_item_text(self.status))
        if self.tray is not None:
            self.tray.setIcon(state_icon(state, panel_is_dark()))
            self.tray.setToolTip(tooltip(self.status, now))
            self.tray.setVisible(True)
        self.shown_state = state
        self.state_shown.emit(state)

    # -- actions -------------------------------------------------------------------
    def pause(self, seconds: float | None) -> None:
        self.bridge.run(lambda: self.bridge.recorder.pause(seconds), self._report_failure)

    def resume(self) -> None:
        self.bridge.run(self.bridge.recorder.resume, self._report_failure)

    def delete(self, request: DeleteRequest, label: str) -> None:
        recorder = self.bridge.recorder

        def previewed(report: DeletionReport | None, error: BaseException | None) -> None:
            if error is not None or report is None:
                self._report_failure(None, error)
                return
            text = describe_preview(request, report)
            if not (report.events or report.frames):
                self.notify("Nothing to delete", text)
                return
            if self.confirm(f"Delete {label.lower()}?", text):
                self.bridge.run(lambda: recorder.delete(request), self._report_failure)

        self.bridge.run(lambda: recorder.preview_delete(request), previewed)

    def notify(self, title: str, message: str) -> None:
        if self.tray is not None and self.tray.supportsMessages():
            self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 8000)
        self.notified.emit(title, message)

    def _report_failure(self, _result: object, error: BaseException | None) -> None:
        if error is None:
            return
        if isinstance(error, PraxisError):
            self.notify(error.title, error.message)
        else:
            self.notify("Something went wrong", f"{type(error).__name__}: {error}")

    # -- signals in ----------------------------------------------------------------
    def _on_status_changed(self, status: Status) -> None:
        self.status = status
        self._render()

    def _on_notice_raised(self, title: str, message: str) -> None:
        self.notify(title, message)

    def _on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.menu.popup(self.tray.geometry().center() if self.tray else self.menu.pos())
