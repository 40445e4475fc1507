"""The review window, driven like a person would: pick a recording, step through it, delete
parts, approve. What it approves is what the egress gate then releases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.core import review
from app.core.buffer.store import Buffer
from app.core.egress import release_for_upload
from app.core.queries import segments
from app.core.settings import Settings
from app.ui.bridge import Tasks
from app.ui.review_window import EMPTY, ReviewWindow
from tests.ui.helpers import WAIT_MS, FakeConfirm
from tests.unit.test_review import record_segment


@pytest.fixture
def buffer(data_dir: Path) -> Buffer:
    return Buffer(data_dir)


@pytest.fixture
def approvals() -> FakeConfirm:
    return FakeConfirm()


@pytest.fixture
def window(
    qtbot, buffer: Buffer, confirm: FakeConfirm, approvals: FakeConfirm
) -> Iterator[ReviewWindow]:  # noqa: ANN001
    w = ReviewWindow(Tasks(), buffer, Settings(), confirm=confirm, confirm_approval=approvals)
    qtbot.addWidget(w)
    yield w
    w.close()


def open_window(qtbot, window: ReviewWindow) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.package_shown, timeout=WAIT_MS):
        window.show()


def wait_changed(qtbot, window: ReviewWindow, action) -> None:  # noqa: ANN001
    """Run an action that changes the buffer; wait until the list and preview show it."""
    with qtbot.waitSignal(window.segment_changed, timeout=WAIT_MS):
        action()
    assert window.isEnabled()
    if window.loaded is not None:
        current = review.package_for_review(window.buffer, window.loaded.segment_id)
        assert window.loaded.package.sha256 == current.sha256


def shown_pixels(window: ReviewWindow) -> np.ndarray:
    assert window.view._pixels is not None
    return window.view._pixels


def test_lists_recordings_and_shows_the_first_screenshot(
    qtbot,
    window: ReviewWindow,
    buffer: Buffer,  # noqa: ANN001
) -> None:
    first = record_segment(buffer, "seg_a", frames=6, started=1000.0)
    record_segment(buffer, "seg_b", frames=3, started=2000.0)
    open_window(qtbot, window)
    assert window.segment_list.count() == 2
    assert window.list_title.text() == "<b>Waiting for review: 2</b>"
    assert "gedit" in window.segment_list.item(0).text()
    assert "6 screenshots" in window.segment_list.item(0).text()
    assert window.index == 1 and np.array_equal(shown_pixels(window), first[0])
    assert window.position.text().startswith("Screenshot 1 of 6")
    assert "Clicked at 10, 20" in window.caption.text()
    receipt = {
        window.receipt.itemAt(i, window.receipt.ItemRole.LabelRole)
        .widget()
        .text(): window.receipt.itemAt(i, window.receipt.ItemRole.FieldRole).widget().text()
        for i in range(window.receipt.rowCount())
    }
    assert receipt["Apps:"] == "gedit"
    assert receipt["Redacted:"] == "6 × email"
    assert receipt["To send:"].endswith(f"({window.loaded.package.size:,} bytes)")

    with qtbot.waitSignal(window.package_shown, timeout=WAIT_MS) as shown:
        window.segment_list.setCurrentRow(1)
    assert shown.args == ["seg_b"]
    assert window.frame_count == 3


def test_keyboard_and_slider_step_through_exact_screenshots(
    qtbot,
    window: ReviewWindow,
    buffer: Buffer,  # noqa: ANN001
) -> None:
    pixels = record_segment(buffer, frames=10, keyframe_every=4)
    open_window(qtbot, window)
    for _ in range(9):
        qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.index == 10 and np.array_equal(shown_pixels(window), pixels[9])
    qtbot.keyClick(window, Qt.Key.Key_Right)  # at the end it stays there
    assert window.index == 10
    for expected in range(9, 0, -1):
        qtbot.keyClick(window, Qt.Key.Key_Left)
        assert window.index == expected
        assert np.array_equal(shown_pixels(window), pixels[expected - 1])
    for value in (3, 5, 7):  # a drag: only where it stops is shown
        window.slider.setValue(value)
    with qtbot.waitSignal(window.frame_shown, timeout=WAIT_MS) as shown:
        pass
    assert shown.args == [7]
    assert window.index == 7 and np.array_equal(shown_pixels(window), pixels[6])
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert window.index == 10
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.index == 1
    window.action_list.itemClicked.emit(window.action_list.item(7))  # an action on screenshot 4
    assert window.index == 4


def test_play_runs_to_the_end_and_stops(qtbot, window: ReviewWindow, buffer: Buffer) -> None:  # noqa: ANN001
    record_segment(buffer, frames=4)
    open_window(qtbot, window)
    window._play.setInterval(10)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.index == 4 and not window._play.isActive(), timeout=WAIT_MS)
    assert window.play_button.text() == "Play"


def test_deleting_a_screenshot_rebuilds_what_would_be_sent(
    qtbot,
    window: ReviewWindow,
    buffer: Buffer,
    confirm: FakeConfirm,  # noqa: ANN001
) -> None:
    pixels = record_segment(buffer, frames=8, keyframe_every=3)
    open_window(qtbot, window)
    before = window.loaded.package.sha256
    window.show_frame(3)
    wait_changed(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_Delete))
    assert confirm.calls[-1][0] == "Delete this screenshot?"
    assert window.frame_count == 7 and window.loaded.package.sha256 != before
    kept = pixels[:2] + pixels[3:]
    for index in range(1, 8):
        window.show_frame(index)
        assert np.array_equal(shown_pixels(window), kept[index - 1]), index
    assert "7 screenshots" in window.segment_list.item(0).text()


def test_a_declined_confirmation_deletes_nothing(
    qtbot,
    window: ReviewWindow,
    buffer: Buffer,
    confirm: FakeConfirm,  # noqa: ANN001
) -> None:
    record_segment(buffer, frames=4)
    open_window(qtbot, window)
    confirm.answer = False
    window.delete_current_frame()
    window.delete_segment()
    assert window.isEnabled()  # nothing was started
    assert review.package_for_review(buffer, "seg_a").receipt["frames"] == 4


def test_deleting_a_stretch_removes_screenshots_and_events_in_it(
    qtbot,
    window: ReviewWindow,
    buffer: Buffer,  # noqa: ANN001
) -> None:
    record_segment(buffer, frames=10)
    open_window(qtbot, window)
    wait_changed(qtbot, window, lambda: window.delete_frames_range(4, 6))
    reader = window.loaded.reader
    assert reader.frame_count == 7
    assert not [a for a in reader.actions if 4.0 <= a["t"] < 7.0]
    assert [a["text"] for a in reader.actions if a["type"] == "type"][3] == "word6 [EMAIL]"


def test_approving_freezes_the_package_the_gate_then_releases(
    qtbot,
    window: ReviewWindow,
    buffer: Buffer,
    approvals: FakeConfirm,  # noqa: ANN001
) -> None:
    record_segment(buffer, frames=6)
    open_window(qtbot, window)
    window.show_frame(2)
    wait_changed(qtbot, window, window.delete_current_frame)
    shown = window.loaded.package
    wait_changed(qtbot, window, window.approve_current)
    title, text = approvals.calls[-1]
    assert title == "Approve this recording for upload?"
    assert "Apps: gedit" in text and f"({shown.size:,} bytes)" in text
    assert release_for_upload(buffer, "seg_a").sha256 == shown.sha256
    assert "approved" in window.segment_list.item(0).text()
    assert not window.approve_button.isEnabled()
    assert window.list_title.text() == "<b>Waiting for review: 0</b>"


def test_a_declined_approval_approves_nothing(
    qtbot,
    window: ReviewWindow,
    buffer: Buffer,
    approvals: FakeConfirm,  # noqa: ANN001
) -> None:
    record_segment(buffer, frames=2)
    open_window(qtbot, window)
    approvals.answer = False
    window.approve_current()
    assert window.isEnabled()  # nothing was started
    assert {s["state"] for s in segments(buffer)} == {"pending_review"}


def test_approve_all_and_delete_a_whole_recording(
    qtbot,
    window: ReviewWindow,
    buffer: Buffer,  # noqa: ANN001
) -> None:
    record_segment(buffer, "seg_a", frames=2, started=1000.0)
    record_segment(buffer, "seg_b", frames=2, started=2000.0)
    record_segment(buffer, "seg_c", frames=2, started=3000.0)
    open_window(qtbot, window)
    wait_changed(qtbot, window, window.delete_segment)
    assert window.segment_list.count() == 2
    wait_changed(qtbot, window, window.approve_all)
    assert {s["id"]: s["state"] for s in segments(buffer)} == {
        "seg_a": "deleted",
        "seg_b": "approved",
        "seg_c": "approved",
    }
    assert not window.approve_all_button.isEnabled()


def test_nothing_to_review_says_so(qtbot, window: ReviewWindow) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.segments_listed, timeout=WAIT_MS) as listed:
        window.show()
    assert listed.args == [0]
    assert window.view._message == EMPTY
    assert not window.approve_button.isEnabled()
    assert not window.delete_segment_button.isEnabled()


def test_the_viewer_decodes_screenshots_exactly_like_the_core(buffer: Buffer) -> None:
    from app.core.package import PackageReader
    from app.ui.frame_view import qt_decode_image

    pixels = record_segment(buffer, frames=9, keyframe_every=4)
    data = review.package_for_review(buffer, "seg_a").data
    core, viewer = PackageReader(data), PackageReader(data, decode_image=qt_decode_image)
    for index in (1, 9, 5, 2, 8):
        assert np.array_equal(viewer.frame(index), core.frame(index))
        assert np.array_equal(viewer.frame(index), pixels[index - 1])


def test_each_click_on_an_unchanged_screen_is_a_screenshot_of_its_own(
    qtbot,
    window: ReviewWindow,
    buffer: Buffer,
    confirm: FakeConfirm,  # noqa: ANN001
) -> None:
    from tests.unit.test_same_frames import record, shown_screens

    record(buffer)  # six frames; clicks 3 and 4 show screenshot 2, click 6 shows 5
    open_window(qtbot, window)
    assert window.frame_count == 6
    expected = shown_screens()
    for index in range(1, 7):
        window.show_frame(index)
        assert np.array_equal(shown_pixels(window), expected[index - 1]), index
    window.show_frame(4)
    assert window.position.text().startswith("Screenshot 4 of 6")
    assert "Clicked at 8, 5" in window.caption.text()  # its own click, not the one before
    # Deleting a click's screenshot leaves the screen it shows...
    wait_changed(qtbot, window, window.delete_current_frame)
    assert "same screen as screenshot 2" in confirm.calls[-1][1]
    assert window.frame_count == 5
    # ...deleting that screen deletes the clicks that show it.
    window.show_frame(2)
    wait_changed(qtbot, window, window.delete_current_frame)
    assert "the 1 later screenshot(s) of clicks on this same screen" in confirm.calls[-1][1]
    assert window.frame_count == 3
    assert [f["trigger"] for f in window.loaded.reader.frames] == [
        "segment_start",
        "typing_pause",
        "mouse_down",
    ]
