"""Dialogs of the review window: choosing a stretch to delete, and approving with the
receipt in view."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QSpinBox,
    QWidget,
)

from app.core.package import PackageReader
from app.ui.review_text import offset_text


def ask_to_approve(title: str, text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text)
    approve = box.addButton("Approve for upload", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is approve


class RangeDialog(QDialog):
    """Choose screenshots `first`..`last`; everything recorded while they were on screen goes."""

    def __init__(self, reader: PackageReader, current: int, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Delete a stretch of this recording")
        self.reader = reader
        count = reader.frame_count
        form = QFormLayout(self)
        form.addRow(
            QLabel(
                "Everything recorded from the first screenshot up to the one after the last "
                "is deleted: screenshots, keys, clicks and typed text."
            )
        )
        self.first, self.last = QSpinBox(), QSpinBox()
        for box, value in ((self.first, current), (self.last, min(count, current + 4))):
            box.setRange(1, count)
            box.setValue(value)
            box.valueChanged.connect(self._update)
            box.setSuffix(f" of {count}")
        self.span = QLabel()
        form.addRow("From screenshot", self.first)
        form.addRow("To screenshot", self.last)
        form.addRow(self.span)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Delete")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._update()

    def times(self) -> tuple[float, float]:
        return span_for_frames(self.reader, self.first.value(), self.last.value())

    def _update(self) -> None:
        start, end = self.times()
        self.span.setText(f"Deletes {offset_text(start)} – {offset_text(end)} of the recording.")


def span_for_frames(reader: PackageReader, first: int, last: int) -> tuple[float, float]:
    """Segment times covered by screenshots first..last, for the words of a confirmation: from
    the first one's time up to the screenshot after the last (or the segment's end)."""
    first, last = sorted((first, last))
    start = float(reader.frames[first - 1]["t"])
    if last < reader.frame_count:
        end = float(reader.frames[last]["t"])
    else:
        end = float(reader.manifest.get("duration_s") or reader.frames[-1]["t"])
    return start, max(start, end)
