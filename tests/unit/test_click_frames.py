"""Every click keeps a frame of its own moment: the capture loop asks for one at each click
(spaced only from other clicks), the frame thread keeps it before any other frame, and a click
on an unchanged screen is stored as a frame that refers to the stored frame showing it."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from app.core.capture.loop import (
    CLICK,
    CLICK_FRAME_GAP_S,
    CaptureLoop,
    FrameJob,
    SegmentClosed,
    SegmentOpened,
    _Run,
)
from app.core.frames import SAME, decode
from app.core.frameworker import MAX_BACKLOG, FrameWorker
from app.core.model import EventRecord, FrameRecord, RawInput, WindowInfo
from app.core.redact.frames import FrameContext, FrameRedactor
from app.core.settings import Settings
from tests.unit.fakes import FixedWindow, ScriptedInput

TERMINAL = WindowInfo("xterm", "notes", 0, 0, 96, 64, handle="0x1", pid=1)


def screen(value: int) -> np.ndarray:
    return np.full((64, 96, 3), value % 256, dtype=np.uint8)


def job(seq: int, trigger: str, pixels: np.ndarray | None) -> FrameJob:
    return FrameJob("seg_x", seq, seq * 0.5, 100.0 + seq, trigger, 1.0, pixels, None, [])


class Worker:
    """A frame worker whose redaction marks every frame (so a stored frame is known to have
    been redacted) and can be held, like a long on-screen text read."""

    def __init__(self) -> None:
        self.stored: list[FrameRecord] = []
        self.sealed: list[tuple[int, int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.reading = threading.Event()
        self.seen: list[np.ndarray] = []
        self.fail_values: set[int] = set()
        self._done = threading.Event()

        def mark(pixels: np.ndarray, context: FrameContext) -> np.ndarray:
            self.reading.set()
            self.gate.wait(10)
            if int(pixels[10, 10, 0]) in self.fail_values:
                raise RuntimeError("the reader is missing")
            self.seen.append(pixels.copy())
            pixels[:4, :4] = 7  # the redaction's mark
            return pixels

        def segment_done(closed: SegmentClosed, dropped: int, failed: int) -> None:
            self.sealed.append((dropped, failed))
            self._done.set()

        self.worker = FrameWorker(
            FrameRedactor([mark]), self.stored.append, segment_done, lambda exc: None
        )
        self.worker.start()

    def finish(self) -> None:
        self.gate.set()
        self.worker.close_segment(SegmentClosed("seg_x", 200.0, "stopped", 0))
        assert self._done.wait(10)
        self.worker.stop()

    def pixels_of(self, record: FrameRecord) -> np.ndarray:
        """The pixels a stored frame shows, decoded from the stored chain."""
        by_seq = {r.seq: r for r in self.stored}
        if record.kind == SAME:
            assert record.base_seq is not None
            return self.pixels_of(by_seq[record.base_seq])
        if record.kind == "key":
            return decode(record.payload, None)
        assert record.base_seq is not None
        return decode(record.payload, self.pixels_of(by_seq[record.base_seq]))


# -- the frame thread ----------------------------------------------------------------------
def test_a_click_on_an_unchanged_grab_is_stored_as_a_frame_referring_to_the_last_one() -> None:
    w = Worker()
    assert w.worker.submit(job(0, "typing_pause", screen(10)))
    assert w.worker.submit(job(3, CLICK, None))  # the grab saw the same bytes
    w.finish()
    first, click = w.stored
    assert (first.kind, click.kind, click.base_seq) == ("key", SAME, 0)
    assert (click.seq, click.t, click.wall, click.trigger) == (3, 1.5, 103.0, CLICK)
    assert click.payload == b"" and (click.w, click.h) == (96, 64)
    assert np.array_equal(w.pixels_of(click), w.pixels_of(first))
    assert w.sealed == [(0, 0)]


def test_a_click_whose_redacted_frame_equals_the_last_stored_one_refers_to_it() -> None:
    w = Worker()
    assert w.worker.submit(job(0, "segment_start", screen(10)))
    assert w.worker.submit(job(1, "interval", screen(10)))  # not a click: nothing stored
    assert w.worker.submit(job(2, CLICK, screen(10)))
    assert w.worker.submit(job(3, CLICK, screen(20)))
    w.finish()
    assert [(r.seq, r.kind, r.base_seq) for r in w.stored] == [
        (0, "key", None),
        (2, SAME, 0),
        (3, "key", None),  # a new whole screen
    ]
    assert np.array_equal(w.pixels_of(w.stored[2])[10:, 10:], screen(20)[10:, 10:])


def test_a_click_repeating_a_grab_whose_redaction_failed_is_not_stored_and_is_counted() -> None:
    w = Worker()
    w.fail_values = {30}
    assert w.worker.submit(job(0, "segment_start", screen(10)))
    assert w.worker.submit(job(1, "typing_pause", screen(30)))  # its redaction fails
    assert w.worker.submit(job(2, CLICK, None))  # the same screen as that failed grab
    w.finish()
    assert [(r.seq, r.kind) for r in w.stored] == [(0, "key")]  # never frame 0's pixels
    assert w.sealed == [(0, 2)]


def test_a_click_with_nothing_stored_before_it_is_dropped_and_counted() -> None:
    w = Worker()
    assert w.worker.submit(job(0, CLICK, None))
    w.finish()
    assert w.stored == [] and w.sealed == [(1, 0)]


def test_a_click_takes_the_place_of_the_oldest_waiting_frame_that_is_not_a_click() -> None:
    w = Worker()
    w.gate.clear()
    assert w.worker.submit(job(0, "segment_start", screen(10)))
    assert w.reading.wait(5)  # frame 0 is being read; the backlog fills behind it
    for seq, trigger in ((1, CLICK), (2, "typing_pause"), (3, "interval")):
        assert w.worker.submit(job(seq, trigger, screen(10 + 10 * seq)))
    assert w.worker.backlog == MAX_BACKLOG
    assert not w.worker.submit(job(4, "interval", screen(50)))  # not a click: dropped
    assert w.worker.submit(job(5, CLICK, screen(60)))  # a click: frame 2 makes room
    assert w.worker.submit(job(6, CLICK, screen(70)))  # and frame 3
    assert w.worker.backlog == MAX_BACKLOG
    assert not w.worker.submit(job(7, CLICK, screen(80)))  # only clicks wait: dropped
    w.finish()
    assert [r.seq for r in w.stored] == [0, 1, 5, 6]
    assert all(r.trigger in (CLICK, "segment_start") for r in w.stored)
    assert w.sealed == [(4, 0)]  # frames 2, 3 (replaced), 4 and 7
    # Everything stored went through redaction; the replaced frames never did.
    assert sorted(int(p[10, 10, 0]) for p in w.seen) == [10, 20, 60, 70]
    for record in w.stored:
        assert (w.pixels_of(record)[:4, :4] == 7).all()


def test_a_waiting_frame_that_a_later_click_repeats_is_not_replaced() -> None:
    w = Worker()
    w.gate.clear()
    assert w.worker.submit(job(0, "segment_start", screen(10)))
    assert w.reading.wait(5)
    for seq in (1, 2, 3):
        assert w.worker.submit(job(seq, "typing_pause", screen(10 + 10 * seq)))
    assert w.worker.submit(job(4, CLICK, None))  # the screen of frame 3, unchanged
    assert w.worker.submit(job(5, CLICK, screen(60)))  # replaces frame 1, not frame 3
    assert w.worker.submit(job(6, CLICK, screen(70)))  # replaces frame 2
    assert not w.worker.submit(job(7, CLICK, screen(80)))  # frame 3 is needed by click 4
    w.finish()
    assert [(r.seq, r.kind) for r in w.stored] == [
        (0, "key"),
        (3, "key"),
        (4, SAME),
        (5, "key"),
        (6, "key"),
    ]
    by_seq = {r.seq: r for r in w.stored}
    assert by_seq[4].base_seq == 3
    assert w.sealed == [(3, 0)]


def test_a_replaced_frame_lets_go_of_its_pixels_at_once() -> None:
    w = Worker()
    w.gate.clear()
    assert w.worker.submit(job(0, "segment_start", screen(10)))
    assert w.reading.wait(5)
    waiting = [job(seq, "interval", screen(10 + 10 * seq)) for seq in (1, 2, 3)]
    for waiting_job in waiting:
        assert w.worker.submit(waiting_job)
    assert w.worker.submit(job(4, CLICK, screen(90)))
    assert waiting[0].pixels is None  # unredacted pixels are not kept for a frame that goes
    assert waiting[1].pixels is not None
    w.finish()


# -- the capture loop ----------------------------------------------------------------------
class FakeGrabber:
    """Grabs whatever screen the test shows; None when it is the bytes of the last grab."""

    monitors = [{"left": 0, "top": 0, "width": 96, "height": 64}]
    origin = (0, 0)

    def __init__(self) -> None:
        self.screen = 1
        self._last: int | None = None
        self.grabs = 0

    def grab_raw(self) -> Any:
        self.grabs += 1
        if self.screen == self._last:
            return None
        self._last = self.screen
        return screen(self.screen)

    def forget(self) -> None:
        self._last = None

    def close(self) -> None:
        pass


class Sink:
    def __init__(self) -> None:
        self.jobs: list[FrameJob] = []
        self.accept = True

    def segment_opened(self, opened: SegmentOpened) -> None:
        pass

    def events(self, records: list[EventRecord]) -> None:
        pass

    def frame(self, job: FrameJob) -> bool:
        self.jobs.append(job)
        return self.accept

    def segment_closed(self, closed: SegmentClosed) -> None:
        pass

    def window_changed(self, window: WindowInfo | None, excluded: bool) -> None:
        pass


@pytest.fixture
def run() -> tuple[_Run, FakeGrabber, Sink]:
    sink = Sink()
    platform = FixedWindow(TERMINAL)
    owner = CaptureLoop(Settings(), lambda: platform, sink, lambda exc: None)
    grabber = FakeGrabber()
    loop_run = _Run(owner, platform, grabber, ScriptedInput())  # type: ignore[arg-type]
    owner.window = TERMINAL
    loop_run.open_segment()
    return loop_run, grabber, sink


def click(run: _Run) -> None:
    now = time.monotonic()
    run.handle(RawInput("mouse_button", now, time.time(), "down", button="left", x=5, y=5))
    run.handle(RawInput("mouse_button", now, time.time(), "up", button="left", x=5, y=5))


def test_a_click_right_after_another_frame_still_takes_its_own(run: Any) -> None:
    loop_run, grabber, sink = run
    assert [j.trigger for j in sink.jobs] == ["segment_start"]
    grabber.screen = 2
    loop_run.request_frame("typing_pause", time.monotonic(), time.time(), force=True)
    grabber.screen = 3
    click(loop_run)  # well within min_frame_gap_s of the typing frame
    assert [j.trigger for j in sink.jobs] == ["segment_start", "typing_pause", CLICK]
    assert int(sink.jobs[-1].pixels[0, 0, 0]) == 3


def test_a_click_on_an_unchanged_screen_sends_a_frame_without_pixels(run: Any) -> None:
    loop_run, grabber, sink = run
    time.sleep(Settings().min_frame_gap_s)
    loop_run.request_frame("interval", time.monotonic(), time.time())
    assert [j.trigger for j in sink.jobs] == ["segment_start"]  # unchanged: no interval frame
    click(loop_run)
    assert [j.trigger for j in sink.jobs] == ["segment_start", CLICK]
    assert sink.jobs[-1].pixels is None


def test_an_auto_clicker_gets_a_frame_per_click_but_a_bounded_number_of_grabs(
    run: Any,
) -> None:
    loop_run, grabber, sink = run
    grabs_before = grabber.grabs
    start = time.monotonic()
    clicks = 200  # as fast as this loop runs: hundreds a second, many within the gap
    for _ in range(clicks):
        grabber.screen += 1  # the screen changes all the time
        click(loop_run)
    elapsed = time.monotonic() - start
    click_jobs = [j for j in sink.jobs if j.trigger == CLICK]
    assert len(click_jobs) == clicks  # every click has its frame
    with_pixels = [j for j in click_jobs if j.pixels is not None]
    assert 1 <= len(with_pixels) <= elapsed / CLICK_FRAME_GAP_S + 1
    assert grabber.grabs - grabs_before == len(with_pixels)
    # A click that shares a grab says how long before it that grab was taken.
    shared = [j for j in click_jobs if j.pixels is None]
    assert shared and all(-1000 * CLICK_FRAME_GAP_S <= j.lag_ms <= 0 for j in shared)
    # After the gap, a click grabs the screen again.
    time.sleep(CLICK_FRAME_GAP_S)
    before = len(sink.jobs)
    click(loop_run)
    assert [j.pixels is not None for j in sink.jobs[before:]] == [True]


def test_a_click_after_a_dropped_frame_grabs_again(run: Any) -> None:
    loop_run, grabber, sink = run
    sink.accept = False  # the frame thread is busy
    grabber.screen = 2
    click(loop_run)
    sink.accept = True
    click(loop_run)  # within the click gap, but the grab before was not kept
    assert [j.pixels is not None for j in sink.jobs[1:]] == [True, True]
