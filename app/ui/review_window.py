"""The review window: see exactly what would leave this computer, delete any of it, approve it.

Everything shown comes from the segment's package, the same bytes the uploader would send;
approving freezes the hash of the package that was on screen. Slow work (building a package,
deleting, approving) runs off the UI thread; stepping through screenshots is done here, from
the decoded chain, and stays well under the time a key repeat takes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core import review
from app.core.buffer.store import Buffer
from app.core.lifecycle import REVIEWABLE_STATES
from app.core.package import Package, PackageReader
from app.core.review import SegmentSummary, receipt_items, size_text
from app.core.settings import Settings
from app.ui.bridge import Tasks
from app.ui.frame_view import FrameView, qt_decode_image
from app.ui.review_dialogs import RangeDialog, ask_to_approve, span_for_frames
from app.ui.review_text import describe_action, offset_text, span_text
from app.ui.tray import ask_with_message_box

Confirm = Callable[[str, str], bool]
PLAY_INTERVAL_MS = 700
INTRO = (
    "Nothing leaves this computer until you approve it. What you see here is exactly what "
    "would be sent, after personal data was removed. Delete anything you do not want to share."
)
EMPTY = (
    "Nothing waits for review.\n\nRecordings appear here when a segment ends: every few "
    "minutes while you work, and whenever you pause."
)


@dataclass
class _Loaded:
    segment_id: str
    package: Package
    reader: PackageReader
    origin: tuple[int, int]
    by_frame: dict[int, list[dict[str, Any]]]


def _load(buffer: Buffer, segment_id: str, built: Package | None = None) -> _Loaded:
    """Build and open the package (unless listing the segments just built it), and decode its
    first screenshot (worker thread)."""
    package = built or review.package_for_review(buffer, segment_id)
    reader = PackageReader(package.data, decode_image=qt_decode_image)
    if reader.frame_count:
        reader.frame(1)
    screens = reader.manifest.get("screens") or [{"left": 0, "top": 0}]
    origin = (min(s["left"] for s in screens), min(s["top"] for s in screens))
    by_frame: dict[int, list[dict[str, Any]]] = {}
    for action in reader.actions:
        by_frame.setdefault(int(action.get("frame") or 1), []).append(action)
    return _Loaded(segment_id, package, reader, origin, by_frame)


class ReviewWindow(QWidget):
    segments_listed = Signal(int)  # how many segments the list shows
    package_shown = Signal(str)  # segment id, once its first screenshot is on screen
    frame_shown = Signal(int)  # 1-based screenshot index
    segment_changed = Signal(str)  # segment id, after a deletion or an approval finished
    failed = Signal(str, str)  # title, message of a failure shown to the person

    def __init__(
        self,
        tasks: Tasks,
        buffer: Buffer,
        settings: Settings,
        *,
        confirm: Confirm | None = None,
        confirm_approval: Confirm = ask_to_approve,
    ) -> None:
        super().__init__()
        self.tasks = tasks
        self.buffer = buffer
        self.settings = settings
        self.confirm = confirm or ask_with_message_box
        self.confirm_approval = confirm_approval
        self.summaries: list[SegmentSummary] = []
        self.loaded: _Loaded | None = None
        self.index = 0
        self._load_token = 0  # only the latest package load may show its result
        self._slider_pending = False
        self._changed: str | None = None  # a change whose result is not on screen yet
        self.setWindowTitle("Praxis: review before upload")
        self.resize(1280, 800)
        self._build()
        self._play = QTimer(self)
        self._play.setInterval(PLAY_INTERVAL_MS)
        self._play.timeout.connect(self._on_play_tick)
        for key, handler in (
            (Qt.Key.Key_Right, lambda: self.step(1)),
            (Qt.Key.Key_Left, lambda: self.step(-1)),
            (Qt.Key.Key_Home, lambda: self.show_frame(1)),
            (Qt.Key.Key_End, lambda: self.show_frame(self.frame_count)),
            (Qt.Key.Key_Space, self.toggle_play),
            (Qt.Key.Key_Delete, self.delete_current_frame),
        ):
            QShortcut(QKeySequence(key), self, handler)

    # -- layout --------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        root.addWidget(intro)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(splitter, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.list_title = QLabel("<b>Recordings</b>")
        left_layout.addWidget(self.list_title)
        self.segment_list = QListWidget()
        self.segment_list.setWordWrap(True)
        self.segment_list.currentRowChanged.connect(self._on_segment_selected)
        left_layout.addWidget(self.segment_list, 1)
        self.approve_all_button = QPushButton("Approve all waiting…")
        self.approve_all_button.clicked.connect(self.approve_all)
        left_layout.addWidget(self.approve_all_button)
        splitter.addWidget(left)

        right = QWidget()
        layout = QVBoxLayout(right)
        layout.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel()
        self.header.setWordWrap(True)
        layout.addWidget(self.header)
        self.view = FrameView()
        layout.addWidget(self.view, 1)

        controls = QHBoxLayout()
        self.back_button = QPushButton("◀")
        self.back_button.setToolTip("Previous screenshot (Left arrow)")
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Play or stop (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("Next screenshot (Right arrow)")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimum(1)
        self.slider.valueChanged.connect(self._on_slider)
        self.position = QLabel()
        for widget in (self.back_button, self.play_button, self.next_button):
            controls.addWidget(widget)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.position)
        layout.addLayout(controls)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.caption)

        lower = QHBoxLayout()
        self.action_list = QListWidget()
        self.action_list.setMaximumHeight(170)
        self.action_list.itemActivated.connect(self._on_action_activated)
        self.action_list.itemClicked.connect(self._on_action_activated)
        lower.addWidget(self.action_list, 3)
        receipt_box = QFrame()
        receipt_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.receipt = QFormLayout(receipt_box)
        lower.addWidget(receipt_box, 2)
        layout.addLayout(lower)

        buttons = QHBoxLayout()
        self.delete_frame_button = QPushButton("Delete this screenshot")
        self.delete_frame_button.clicked.connect(self.delete_current_frame)
        self.delete_range_button = QPushButton("Delete a stretch…")
        self.delete_range_button.clicked.connect(self._ask_range)
        self.delete_segment_button = QPushButton("Delete this recording")
        self.delete_segment_button.clicked.connect(self.delete_segment)
        self.approve_button = QPushButton("Approve for upload…")
        self.approve_button.setDefault(False)
        self.approve_button.clicked.connect(self.approve_current)
        for widget in (
            self.delete_frame_button,
            self.delete_range_button,
            self.delete_segment_button,
        ):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.approve_button)
        layout.addLayout(buttons)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 980])
        self._show_nothing(EMPTY)

    # -- the list ------------------------------------------------------------------
    def reload(self, keep: str | None = None) -> None:
        keep = keep or self.current_segment_id()
        built: dict[str, Package] = {}
        self.tasks.run(
            lambda: review.list_segments(self.buffer, self.settings, built=built),
            lambda result, error: self._on_listed(result, error, keep, built),
        )

    def _on_listed(
        self,
        result: list[SegmentSummary] | None,
        error: BaseException | None,
        keep: str | None,
        built: dict[str, Package] | None = None,
    ) -> None:
        built = built or {}
        if error is not None or result is None:
            self._fail(error)
            self._announce_change()
            return
        self.summaries = result
        now = time.time()
        self.segment_list.blockSignals(True)
        self.segment_list.clear()
        for summary in result:
            state = (
                "waiting for review"
                if summary.state in REVIEWABLE_STATES
                else "approved: will be uploaded"
            )
            lines = [
                span_text(summary.started_at, summary.ended_at, now),
                ", ".join(summary.apps) or "no app recorded",
                f"{summary.actions} actions · {summary.frames} screenshots ·"
                f" {size_text(summary.bytes)}",
                state,
            ]
            if summary.auto_approve_at:
                lines.append(
                    "approves itself "
                    + time.strftime("%a %H:%M", time.localtime(summary.auto_approve_at))
                )
            item = QListWidgetItem("\n".join(lines))
            item.setData(Qt.ItemDataRole.UserRole, summary.id)
            self.segment_list.addItem(item)
        self.segment_list.blockSignals(False)
        waiting = sum(1 for s in result if s.state in REVIEWABLE_STATES)
        self.list_title.setText(f"<b>Waiting for review: {waiting}</b>")
        self.approve_all_button.setEnabled(waiting > 0)
        row = next((i for i, s in enumerate(result) if s.id == keep), 0 if result else -1)
        self.segments_listed.emit(len(result))
        if row < 0:
            self.loaded = None
            self._show_nothing(EMPTY)
            self._announce_change()
            return
        self.segment_list.blockSignals(True)
        self.segment_list.setCurrentRow(row)
        self.segment_list.blockSignals(False)
        self._on_segment_selected(row, built.get(result[row].id))

    def current_segment_id(self) -> str | None:
        item = self.segment_list.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def summary(self, segment_id: str) -> SegmentSummary | None:
        return next((s for s in self.summaries if s.id == segment_id), None)

    def _on_segment_selected(self, row: int, built: Package | None = None) -> None:
        """Show the segment in `row`; `built` is its package if the listing just built it."""
        if row < 0 or row >= len(self.summaries):
            return
        segment_id = self.summaries[row].id
        self._load_token += 1
        token = self._load_token
        self.stop_play()
        self.view.show_message("Opening the recording…")
        self.tasks.run(
            lambda: _load(self.buffer, segment_id, built),
            lambda result, error: self._on_loaded(token, segment_id, result, error),
        )

    def _on_loaded(
        self, token: int, segment_id: str, result: _Loaded | None, error: BaseException | None
    ) -> None:
        if token != self._load_token:
            return  # another segment was chosen, or the buffer changed, since this started
        if error is not None or result is None:
            self._fail(error)
            self._announce_change()
            return
        self.loaded = result
        reader = result.reader
        summary = self.summary(segment_id)
        now = time.time()
        state = ""
        if summary is not None:
            state = (
                " · waiting for your review"
                if summary.state in REVIEWABLE_STATES
                else " · approved, will be uploaded"
            )
            self.header.setText(
                f"<b>{span_text(summary.started_at, summary.ended_at, now)}</b>{state}"
            )
        self._fill_receipt(result.package.receipt)
        self._fill_actions(reader.actions)
        approvable = summary is not None and summary.state in REVIEWABLE_STATES
        self.approve_button.setEnabled(approvable)
        for button in (self.delete_frame_button, self.delete_range_button):
            button.setEnabled(reader.frame_count > 0)
        self.delete_segment_button.setEnabled(True)
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(1, reader.frame_count))
        self.slider.blockSignals(False)
        self.index = 0
        if reader.frame_count:
            self.show_frame(1)
        else:
            self.view.show_message("This recording has no screenshots, only events.")
            self.caption.setText("")
            self.position.setText("")
        self.package_shown.emit(segment_id)
        self._announce_change()

    def _announce_change(self) -> None:
        if self._changed is not None:
            changed, self._changed = self._changed, None
            self.segment_changed.emit(changed)

    def _fill_receipt(self, receipt: dict[str, Any]) -> None:
        while self.receipt.rowCount():
            self.receipt.removeRow(0)
        for label, text in receipt_items(receipt):
            value = QLabel(text)
            value.setWordWrap(True)
            self.receipt.addRow(f"{label}:", value)

    def _fill_actions(self, actions: list[dict[str, Any]]) -> None:
        self.action_list.clear()
        for action in actions:
            item = QListWidgetItem(f"{offset_text(action['t'])}  {describe_action(action)}")
            item.setData(Qt.ItemDataRole.UserRole, action.get("frame") or 1)
            self.action_list.addItem(item)

    def _on_action_activated(self, item: QListWidgetItem) -> None:
        self.show_frame(int(item.data(Qt.ItemDataRole.UserRole)))

    def _show_nothing(self, text: str) -> None:
        self.view.show_message(text)
        self.header.setText("")
        self.caption.setText("")
        self.position.setText("")
        self.action_list.clear()
        while self.receipt.rowCount():
            self.receipt.removeRow(0)
        for button in (
            self.approve_button,
            self.delete_frame_button,
            self.delete_range_button,
            self.delete_segment_button,
        ):
            button.setEnabled(False)

    # -- stepping ------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        return 0 if self.loaded is None else self.loaded.reader.frame_count

    def show_frame(self, index: int) -> None:
        if self.loaded is None or not self.frame_count:
            return
        index = max(1, min(self.frame_count, index))
        reader = self.loaded.reader
        actions = self.loaded.by_frame.get(index, [])
        self.view.show_frame(reader.frame(index), actions, self.loaded.origin)
        self.index = index
        item = reader.frames[index - 1]
        self.position.setText(
            f"Screenshot {index} of {self.frame_count} · {offset_text(item['t'])}"
        )
        self.caption.setText(
            "  ·  ".join(f"{n}. {describe_action(a)}" for n, a in enumerate(actions, start=1))
            or "No action on this screenshot."
        )
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        self.frame_shown.emit(index)

    def step(self, delta: int) -> None:
        self.show_frame(self.index + delta)

    def _on_slider(self, value: int) -> None:
        # A drag sends many positions: show only the latest, once events are processed, so
        # the window never decodes screenshots nobody will see.
        if not self._slider_pending:
            self._slider_pending = True
            QTimer.singleShot(0, self._show_slider_value)

    def _show_slider_value(self) -> None:
        self._slider_pending = False
        self.show_frame(self.slider.value())

    def toggle_play(self) -> None:
        if self._play.isActive():
            self.stop_play()
        elif self.frame_count:
            if self.index >= self.frame_count:
                self.show_frame(1)
            self._play.start()
            self.play_button.setText("Stop")

    def stop_play(self) -> None:
        self._play.stop()
        self.play_button.setText("Play")

    def _on_play_tick(self) -> None:
        if self.index >= self.frame_count:
            self.stop_play()
        else:
            self.step(1)

    # -- deleting and approving ----------------------------------------------------
    def delete_current_frame(self) -> None:
        if self.loaded is None or not self.index:
            return
        index = self.index
        if self.confirm("Delete this screenshot?", self._deletion_words(index)):
            segment_id = self.loaded.segment_id
            self._change(segment_id, lambda: review.delete_frames(self.buffer, segment_id, [index]))

    def _deletion_words(self, index: int) -> str:
        """A click on an unchanged screen shows the pixels of an earlier screenshot: deleting
        that one deletes every click's view of it, deleting the click's leaves the pixels."""
        assert self.loaded is not None
        reader = self.loaded.reader
        words = f"Screenshot {index} is deleted from this recording and will not be uploaded."
        item = reader.frames[index - 1]
        if "same_as" in item:
            return f"{words} It shows the same screen as screenshot {item['same_as']}, which stays."
        member = reader.member_of(index)
        also = sum(
            reader.member_of(i) == member for i in range(1, reader.frame_count + 1) if i != index
        )
        if also:
            words += f" So are the {also} later screenshot(s) of clicks on this same screen."
        return words

    def _ask_range(self) -> None:
        if self.loaded is None or not self.frame_count:
            return
        dialog = RangeDialog(self.loaded.reader, max(1, self.index), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.delete_frames_range(dialog.first.value(), dialog.last.value(), confirmed=True)

    def delete_frames_range(self, first: int, last: int, *, confirmed: bool = False) -> None:
        """Delete screenshots first..last and everything recorded while they were the latest."""
        if self.loaded is None:
            return
        first, last = sorted((first, last))
        start, end = span_for_frames(self.loaded.reader, first, last)
        if not confirmed and not self.confirm(
            "Delete this stretch?",
            f"Everything recorded {offset_text(start)} – {offset_text(end)} into this "
            "recording is deleted: screenshots, keys, clicks and typed text.",
        ):
            return
        segment_id = self.loaded.segment_id
        self._change(
            segment_id,
            lambda: review.delete_frame_span(self.buffer, segment_id, first, last),
        )

    def delete_segment(self) -> None:
        if self.loaded is None:
            return
        segment_id = self.loaded.segment_id
        summary = self.summary(segment_id)
        what = f"{summary.actions} actions and {summary.frames} screenshots" if summary else "it"
        if self.confirm(
            "Delete this recording?",
            f"The whole recording ({what}) is deleted from this computer and will never be "
            "uploaded. This cannot be undone.",
        ):
            self.loaded = None
            self._change(None, lambda: review.delete_segment(self.buffer, segment_id))

    def approve_current(self) -> None:
        if self.loaded is None:
            return
        loaded = self.loaded
        receipt = loaded.package.receipt
        text = "\n".join(f"{label}: {value}" for label, value in receipt_items(receipt))
        if not self.confirm_approval(
            "Approve this recording for upload?",
            "This is what will be sent, exactly as you reviewed it:\n\n" + text,
        ):
            return
        sha = loaded.package.sha256
        self._change(
            loaded.segment_id,
            lambda: review.approve(self.buffer, loaded.segment_id, expected_sha256=sha),
        )

    def approve_all(self) -> None:
        waiting = [s for s in self.summaries if s.state in REVIEWABLE_STATES]
        if not waiting:
            return
        total = sum(s.bytes for s in waiting)
        if self.confirm_approval(
            "Approve all waiting recordings?",
            f"{len(waiting)} recordings ({sum(s.frames for s in waiting)} screenshots,"
            f" {size_text(total)}) will be uploaded as they are now.",
        ):
            keep = self.current_segment_id()
            shown = {s.id: s.sha256 for s in waiting}  # exactly what the list showed
            self._change(keep, lambda: review.approve_all(self.buffer, expected=shown))

    def _change(self, keep: str | None, work: Callable[[], Any]) -> None:
        self.stop_play()
        self.setEnabled(False)
        self._load_token += 1  # a package still loading shows the content before the change

        def done(_result: Any, error: BaseException | None) -> None:
            self.setEnabled(True)
            if error is not None:
                self._fail(error)
            self._changed = keep or ""  # announced once the list and preview show the result
            self.reload(keep)

        self.tasks.run(work, done)

    # -- errors and events ---------------------------------------------------------
    def _fail(self, error: BaseException | None) -> None:
        title = getattr(error, "title", "Something went wrong")
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        self.failed.emit(title, message)
        if self.isVisible():
            QMessageBox.warning(self, title, message)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.reload()
        super().showEvent(event)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.stop_play()
        super().closeEvent(event)


def run_review_window(data_dir: Path) -> int:
    """`praxis review` with no tray running: the window on its own."""
    from app.core.errors import PolicyError
    from app.core.settings import Settings, load_effective_settings

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Praxis")
    try:
        settings = load_effective_settings(data_dir)
    except PolicyError:
        # A broken policy keeps recording off; it never takes review away from the person.
        settings = Settings()
    buffer = Buffer(data_dir, create=False)
    tasks = Tasks()
    window = ReviewWindow(tasks, buffer, settings)
    window.show()
    return int(app.exec())
