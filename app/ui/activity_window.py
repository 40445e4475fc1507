"""The employee-visible log of recording, pauses, deletions and errors."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.core.queries import activity
from app.ui.bridge import Bridge

KIND_LABELS = {
    "recording": "Recording",
    "pause": "Paused",
    "resume": "Resumed",
    "delete": "Deleted",
    "consent": "Consent",
    "error": "Error",
    "recovery": "Recovered",
    "settings": "Settings",
}


class ActivityWindow(QWidget):
    def __init__(self, bridge: Bridge) -> None:
        super().__init__()
        self.bridge = bridge
        self.setWindowTitle("Praxis activity")
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["When", "What", "Details"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        self._rows: list[dict] | None = None
        bridge.status_changed.connect(lambda _status: self.reload())
        # Log lines are written after the status they follow (and some, such as a deletion
        # while paused, change no status at all): re-read while the window is open.
        self._poll = QTimer(self)
        self._poll.setInterval(1000)
        self._poll.timeout.connect(self.reload)

    def reload(self) -> None:
        buffer = self.bridge.recorder.buffer
        self.bridge.run(lambda: activity(buffer, 500), self._show)

    def _show(self, rows: list[dict] | None, error: BaseException | None) -> None:
        if rows is None or rows == self._rows:
            return
        self._rows = rows
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["ts"]))
            message = row["message"][:1].upper() + row["message"][1:]
            for col, text in enumerate((when, KIND_LABELS.get(row["kind"], row["kind"]), message)):
                self.table.setItem(i, col, QTableWidgetItem(text))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.reload()
        self._poll.start()
        super().showEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._poll.stop()
        super().hideEvent(event)
