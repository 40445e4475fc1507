"""The frame thread: redacts each grabbed frame, encodes it against the previous one, and hands
it to the buffer. A frame whose redaction fails is dropped and counted, never stored raw.

A click's frame is kept before any other: when the backlog is full it takes the place of the
oldest waiting frame that no click needs, and when the screen at a click had not changed it
is stored as a frame that refers to the stored frame showing that screen."""

from __future__ import annotations

import queue
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.capture.loop import CLICK, FrameJob, SegmentClosed
from app.core.capture.screen import Screenshot
from app.core.frames import Encoded, FrameEncoder
from app.core.model import FrameRecord
from app.core.redact.frames import FrameContext, FrameRedactor

MAX_BACKLOG = 4  # frames waiting; each holds a full screen in memory (8 MB at 1080p)
# Clicks on an unchanged screen waiting (they hold no pixels). Clicks are spaced by
# CLICK_FRAME_GAP_S, so this is more than a second of an auto-clicker while a frame is read.
MAX_REPEATS = 64
# At stop, how long a frame being redacted may take to finish before its redaction is
# cancelled: an incremental frame is done in well under this, a whole-screen OCR read can
# take tens of seconds.
STOP_GRACE = 1.0


@dataclass
class _Stop:
    pass


class FrameWorker:
    def __init__(
        self,
        redactor: FrameRedactor,
        store_frame: Callable[[FrameRecord], None],
        segment_done: Callable[[SegmentClosed, int, int], None],
        on_error: Callable[[BaseException], None],
        codec: str = "webp",
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.redactor = redactor
        self._in_use = redactor  # the redactor of the frame thread's last frame
        self._store_frame = store_frame
        self._segment_done = segment_done
        self._on_error = on_error
        self._codec = codec
        self._stop_grace = stop_grace
        self._queue: queue.Queue[Any] = queue.Queue()
        self._backlog = 0
        self._lock = threading.Lock()
        self._encoders: dict[str, FrameEncoder] = {}
        self._dropped: Counter[str] = Counter()  # per segment: frames not kept (backlog full)
        self._failed: Counter[str] = Counter()  # per segment: frames whose redaction failed
        self._waiting: deque[FrameJob] = deque()  # jobs with pixels, not yet taken up
        self._evicted: set[FrameJob] = set()  # replaced, still in the queue
        self._needed: set[FrameJob] = set()  # waiting jobs whose screen a later click repeats
        self._last_grab: FrameJob | None = None  # the last job with pixels submitted
        self._repeats = 0  # waiting jobs without pixels
        # Per segment, what became of the last grab the frame thread took up: "kept" (the
        # encoder's last stored frame shows it), "failed" or "dropped". A click on an
        # unchanged screen follows its fate.
        self._last_fate: dict[str, str] = {}
        self._thread = threading.Thread(target=self._run, name="praxis-frames", daemon=True)
        self._stopping = False

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish: frames still waiting are dropped (and counted), seals are always written.
        The frame being redacted right now gets `stop_grace` seconds; then its redaction is
        cancelled and the frame dropped and counted, never stored unredacted."""
        self._stopping = True
        self._queue.put(_Stop())
        self._thread.join(min(timeout, self._stop_grace))
        if self._thread.is_alive():
            for redactor in {id(r): r for r in (self.redactor, self._in_use)}.values():
                redactor.cancel()
            self._thread.join(max(0.0, timeout - self._stop_grace))
        else:  # the OCR worker ends with the recorder, not after its idle time
            self.redactor.close()
            self._in_use.close()

    def replace_redactor(self, redactor: FrameRedactor) -> None:
        """Use `redactor` from the next frame on. The frame thread closes the one it replaces
        (ending its OCR worker) once it is done with the frame in hand."""
        self.redactor = redactor

    @property
    def backlog(self) -> int:
        """Screenshots waiting to be redacted and stored."""
        return self._backlog

    def submit(self, job: FrameJob) -> bool:
        """Queue a frame; False if it was dropped (and counted). A click's frame may take the
        place of the oldest waiting frame that is not a click and that no click repeats:
        that one is dropped and counted instead."""
        with self._lock:
            if job.pixels is None:
                if self._repeats >= MAX_REPEATS:
                    self._dropped[job.segment_id] += 1
                    return False
                self._repeats += 1
                if self._last_grab is not None:
                    self._needed.add(self._last_grab)
            else:
                if self._backlog >= MAX_BACKLOG and not (
                    job.trigger == CLICK and self._evict_one()
                ):
                    self._dropped[job.segment_id] += 1
                    return False
                self._backlog += 1
                self._waiting.append(job)
                self._last_grab = job
            self._queue.put(job)
        return True

    def _evict_one(self) -> bool:
        """Drop the oldest waiting frame no click needs (under the lock): its pixels go now,
        and the frame thread passes over it."""
        for victim in self._waiting:
            if victim.trigger != CLICK and victim not in self._needed:
                self._waiting.remove(victim)
                self._evicted.add(victim)
                victim.pixels = None
                self._backlog -= 1
                self._dropped[victim.segment_id] += 1
                return True
        return False

    def drain(self, timeout: float) -> bool:
        """Wait until every frame and seal queued so far has been handed to the buffer."""
        reached = threading.Event()
        self._queue.put(reached)
        return reached.wait(timeout)

    def close_segment(self, closed: SegmentClosed) -> None:
        """Queued behind the segment's frames, so the seal lands after its last frame."""
        self._queue.put(closed)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, _Stop):
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                if isinstance(item, SegmentClosed):
                    self._encoders.pop(item.segment_id, None)
                    self._last_fate.pop(item.segment_id, None)
                    self._segment_done(
                        item,
                        self._dropped.pop(item.segment_id, 0),
                        self._failed.pop(item.segment_id, 0),
                    )
                else:
                    self._take(item)
            except BaseException as exc:  # storage faults: reported, and the worker goes on
                self._on_error(exc)

    def _take(self, job: FrameJob) -> None:
        with self._lock:
            if job in self._evicted:  # replaced by a click's frame, already counted
                self._evicted.discard(job)
                self._last_fate[job.segment_id] = "dropped"
                return
            repeat = job.pixels is None
            if repeat:
                self._repeats -= 1
            else:
                self._waiting.remove(job)  # the oldest: a deque takes it from the front
        try:
            if self._stopping:
                self._dropped[job.segment_id] += 1  # shutting down: not redacted
                self._last_fate[job.segment_id] = "dropped"
            elif repeat:
                self._repeat(job)
            else:
                self._last_fate[job.segment_id] = "failed"  # until it is kept
                self._process(job)
        finally:
            if not repeat:
                with self._lock:
                    self._backlog -= 1
                    self._needed.discard(job)
                    if self._last_grab is job:
                        self._last_grab = None

    def _repeat(self, job: FrameJob) -> None:
        """A click on a screen byte for byte the same as the grab before: it shares that
        grab's fate, so it never shows a screen it did not see."""
        fate = self._last_fate.get(job.segment_id, "dropped")
        encoder = self._encoders.get(job.segment_id)
        same = encoder.same() if encoder is not None and fate == "kept" else None
        if same is None or encoder is None or encoder.last_size is None:
            if fate == "failed":
                self._failed[job.segment_id] += 1
            else:
                self._dropped[job.segment_id] += 1
            return
        self._store(job, same, encoder.last_size)

    def _process(self, job: FrameJob) -> None:
        context = FrameContext(job.window, job.windows, job.origin)
        redactor = self.redactor
        if redactor is not self._in_use:
            self._in_use.close()
            self._in_use = redactor
        pixels = job.pixels
        job.pixels = None  # the unredacted frame lives no longer than this call
        if isinstance(pixels, Screenshot):
            pixels = pixels.rgb()  # here rather than on the capture thread (see Screenshot)
        redacted = redactor.redact(pixels, context)
        if redacted is None:
            if redactor.cancelled:
                self._dropped[job.segment_id] += 1  # stopped before its redaction finished
                self._last_fate[job.segment_id] = "dropped"
            else:
                self._failed[job.segment_id] += 1
            return
        encoder = self._encoders.setdefault(job.segment_id, FrameEncoder(self._codec))
        encoded = encoder.encode(redacted, job.seq, keep_same=job.trigger == CLICK)
        self._last_fate[job.segment_id] = "kept"  # stored, or equal to the last stored frame
        if encoded is not None:
            height, width = redacted.shape[:2]
            self._store(job, encoded, (width, height))

    def _store(self, job: FrameJob, encoded: Encoded, size: tuple[int, int]) -> None:
        self._store_frame(
            FrameRecord(
                job.segment_id,
                job.seq,
                job.t,
                job.wall,
                encoded.kind,
                encoded.base_seq,
                size[0],
                size[1],
                self._codec,
                job.trigger,
                job.lag_ms,
                encoded.payload,
            )
        )
