"""Fail closed: a frame whose redaction fails is counted and never stored."""

import threading

import numpy as np

from app.core.capture.loop import FrameJob, SegmentClosed
from app.core.capture.screen import Screenshot
from app.core.frames import decode
from app.core.frameworker import FrameWorker
from app.core.model import FrameRecord
from app.core.redact.frames import FrameContext, FrameRedactor


def job(seq: int) -> FrameJob:
    pixels = np.full((64, 96, 3), seq * 20, dtype=np.uint8)
    return FrameJob("seg_x", seq, seq * 0.5, 100.0 + seq, "mouse_down", 1.0, pixels, None, [])


def run(steps: list) -> tuple[list[FrameRecord], list[tuple[int, int]]]:
    stored: list[FrameRecord] = []
    sealed: list[tuple[int, int]] = []
    done = threading.Event()

    def segment_done(closed: SegmentClosed, dropped: int, failed: int) -> None:
        sealed.append((dropped, failed))
        done.set()

    worker = FrameWorker(FrameRedactor(steps), stored.append, segment_done, lambda exc: None)
    worker.start()
    for seq in range(3):
        assert worker.submit(job(seq))
    worker.close_segment(SegmentClosed("seg_x", 101.0, "stopped", 0))
    assert done.wait(10)
    worker.stop()
    return stored, sealed


def test_frames_pass_through_redaction_and_are_encoded() -> None:
    seen: list[FrameContext] = []

    def mark(pixels: np.ndarray, context: FrameContext) -> np.ndarray:
        seen.append(context)
        pixels[:4, :4] = 0
        return pixels

    stored, sealed = run([mark])
    assert [r.seq for r in stored] == [0, 1, 2]
    assert stored[0].kind == "key"
    assert sealed == [(0, 0)]
    assert len(seen) == 3 and seen[0].windows == []


def test_failing_redaction_drops_the_frame_and_counts_it() -> None:
    def broken(pixels: np.ndarray, context: FrameContext) -> np.ndarray:
        raise RuntimeError("model file missing")

    stored, sealed = run([broken])
    assert stored == []
    assert sealed == [(0, 3)]


def test_a_step_that_returns_a_different_shape_is_a_failure() -> None:
    stored, sealed = run([lambda pixels, context: pixels[:10]])
    assert stored == [] and sealed == [(0, 3)]


def test_stop_drops_waiting_frames_but_always_writes_the_seal() -> None:
    import time

    stored: list[FrameRecord] = []
    sealed: list[tuple[int, int]] = []
    gate = threading.Event()
    reading = threading.Event()

    def slow(pixels: np.ndarray, context: FrameContext) -> np.ndarray:
        reading.set()
        gate.wait(5)  # an OCR read in progress
        return pixels

    worker = FrameWorker(
        FrameRedactor([slow]), stored.append, lambda c, d, f: sealed.append((d, f)), lambda e: None
    )
    worker.start()
    for seq in range(3):
        worker.submit(job(seq))
    worker.close_segment(SegmentClosed("seg_x", 101.0, "stopped", 0))
    assert reading.wait(5)
    started = time.monotonic()
    threading.Timer(0.3, gate.set).start()
    worker.stop()
    assert time.monotonic() - started < 3
    assert len(stored) == 1  # the frame in progress finished; the two waiting were dropped
    assert sealed == [(2, 0)]


class SlowRead:
    """A redaction step like OCR: slow, but it can be told to stop."""

    __name__ = "screen_text"

    def __init__(self) -> None:
        self.reading = threading.Event()
        self.stopped = threading.Event()

    def __call__(self, pixels: np.ndarray, context: FrameContext) -> np.ndarray:
        self.reading.set()
        if self.stopped.wait(30):  # a whole-screen read
            raise RuntimeError("read cancelled")
        return pixels

    def cancel(self) -> None:
        self.stopped.set()


def test_stop_cancels_a_slow_redaction_drops_its_frame_and_still_seals() -> None:
    import time

    stored: list[FrameRecord] = []
    sealed: list[tuple[int, int]] = []
    step = SlowRead()
    redactor = FrameRedactor([step])
    worker = FrameWorker(
        redactor,
        stored.append,
        lambda c, d, f: sealed.append((d, f)),
        lambda e: None,
        stop_grace=0.2,
    )
    worker.start()
    for seq in range(3):
        worker.submit(job(seq))
    worker.close_segment(SegmentClosed("seg_x", 101.0, "stopped", 0))
    assert step.reading.wait(5)
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started < 2
    assert stored == []  # nothing kept whose redaction did not finish
    assert sealed == [(3, 0)]  # the frame in progress and the two waiting, all counted
    assert redactor.failures == {}  # a stop is not a failure of the step


def test_a_step_finishing_after_the_stop_does_not_store_its_frame() -> None:
    redactor = FrameRedactor([lambda pixels, context: pixels])
    redactor.cancel()
    assert redactor.redact(np.zeros((4, 4, 3), np.uint8), FrameContext(None, [])) is None


def test_a_screenshot_as_grabbed_is_redacted_and_stored_as_rgb() -> None:
    """The capture thread hands over the grab's BGRA bytes; redaction and storage see RGB."""
    bgra = np.zeros((64, 96, 4), dtype=np.uint8)
    bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = 10, 20, 30, 255  # B, G, R, X
    bgra[5:9, 7:11, 2] = 200  # a red square
    shot = Screenshot(bytearray(bgra.tobytes()), 96, 64)
    seen: list[np.ndarray] = []

    def keep(pixels: np.ndarray, context: FrameContext) -> np.ndarray:
        seen.append(pixels.copy())
        return pixels

    stored: list[FrameRecord] = []
    worker = FrameWorker(FrameRedactor([keep]), stored.append, lambda *a: None, lambda e: None)
    worker.start()
    frame = job(0)
    frame.pixels = shot
    assert worker.submit(frame)
    assert worker.drain(10)
    worker.stop()
    expected = np.zeros((64, 96, 3), dtype=np.uint8)
    expected[...] = (30, 20, 10)
    expected[5:9, 7:11, 0] = 200
    assert len(seen) == 1 and np.array_equal(seen[0], expected)
    assert frame.pixels is None  # the unredacted grab is not kept past its redaction
    assert np.array_equal(decode(stored[0].payload, None), expected)
