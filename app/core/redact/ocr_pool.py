"""The recorder's side of the OCR worker process (see ocr_worker).

`OcrProcess` is an OCR engine (`read`, `read_scaled`, `cancel`) whose reading happens in a
separate process: started on the first read, started again after it died or grew past its
memory ceiling, and ended after a while without reads so that its memory goes back to the
system. The recorder's process never imports ONNX Runtime, OpenCV or the models.

The process is a fresh interpreter (see ocr_spawn): forking the recorder would copy its
threads' locks and its X connection into the child, and multiprocessing's 'spawn' leaves a
resource tracker process running beside it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import numpy as np

from app.core.redact.ocr import OcrCancelled, OcrUnavailable, TextBox, line_finding
from app.core.redact.ocr_spawn import start_worker

log = logging.getLogger(__name__)

# A worker above this resident size is ended after its read and a fresh one started for the
# next: the engine's arenas only grow, and a long session must not keep them.
MEMORY_CEILING = 300 * 1024 * 1024
IDLE_SECONDS = 30.0  # without a read for this long, the worker ends
START_TIMEOUT = 60.0  # from start to the first reply includes loading the models
READ_TIMEOUT = 600.0  # a whole 1080p screen takes ~40 CPU-s; a busy machine stretches that
STOP_GRACE = 0.5  # a worker asked to end gets this long before it is killed


class OcrWorkerFailed(RuntimeError):
    """The worker process died, hung or could not read; the frame it was reading fails."""


class _WorkerGone(Exception):
    """The pipe to the worker closed under a read. `before_reply`: the worker had served
    reads before, so it may have died before this one reached it."""

    def __init__(self, *, before_reply: bool) -> None:
        super().__init__("the OCR worker process ended")
        self.before_reply = before_reply


class OcrProcess:
    def __init__(
        self,
        threads: int = 1,
        memory_ceiling: int = MEMORY_CEILING,
        idle_seconds: float = IDLE_SECONDS,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.threads = threads
        # How the worker will find lines: its engine follows the same setting.
        self.find_lines = line_finding()
        self.memory_ceiling = memory_ceiling
        self.idle_seconds = idle_seconds
        self.read_timeout = read_timeout
        self._lock = threading.Lock()  # one read at a time; held for the whole round trip
        self._state = threading.Lock()  # guards _process, _conn and _cancelled
        self._process: Any = None
        self._conn: Any = None
        self._last_used = 0.0
        self._fresh = False  # the worker has not answered yet: it is loading the models
        self._cancelled = False
        self._idle_wake = threading.Event()
        self._idle_thread: threading.Thread | None = None
        # What happened so far, for tests and benchmarks (counts, never content).
        self.starts = 0
        self.restarts_for_memory = 0
        self.deaths = 0
        self.idle_stops = 0
        self.last_rss = 0
        self.peak_rss = 0

    # -- reading ---------------------------------------------------------------------
    def read(self, rgb: np.ndarray) -> list[TextBox]:
        return self.read_scaled(rgb, 1)

    def read_scaled(self, rgb: np.ndarray, scale: int, column: int = 0) -> list[TextBox]:
        crop = np.ascontiguousarray(rgb, dtype=np.uint8)
        height, width = crop.shape[:2]
        with self._lock:
            # A worker that died between reads (killed, out of memory) may still look alive
            # until the pipe says otherwise: that read is tried once more on a new worker.
            for attempt in (1, 2):
                try:
                    return self._read_once(crop, height, width, scale, column)
                except _WorkerGone as gone:
                    if attempt == 2 or not gone.before_reply:
                        raise OcrWorkerFailed(
                            "the OCR worker process ended during a read"
                        ) from gone.__cause__
            raise AssertionError("unreachable")

    def _read_once(
        self, crop: np.ndarray, height: int, width: int, scale: int, column: int
    ) -> list[TextBox]:
        conn = self._ensure_started()
        started = self.starts
        fresh = self._fresh
        try:
            conn.send(("read", height, width, scale, column))
            conn.send_bytes(crop.reshape(-1).data)  # flat: send_bytes slices rows
            timeout = self.read_timeout + (START_TIMEOUT if self._fresh else 0.0)
            if not conn.poll(timeout):
                self._end("hung")
                raise OcrWorkerFailed("the OCR worker did not answer in time")
            reply = conn.recv()
        except (EOFError, OSError) as exc:
            if self._cancelled:
                raise OcrCancelled("the OCR engine was stopped during a read") from exc
            self.deaths += 1
            self._end("died")
            # A worker that had already read for us died before this read; a new one did not.
            raise _WorkerGone(before_reply=not fresh) from exc
        finally:
            self._last_used = time.monotonic()
        self._fresh = False
        if reply[0] != "ok":
            if reply[1] == "OcrUnavailable":
                raise OcrUnavailable("the OCR engine cannot load in its worker process")
            raise OcrWorkerFailed(f"the OCR worker failed to read ({reply[1]})")
        _, boxes, rss = reply
        self.last_rss, self.peak_rss = rss, max(self.peak_rss, rss)
        if rss > self.memory_ceiling and started == self.starts:
            self.restarts_for_memory += 1
            self._end("over its memory ceiling")
        return list(boxes)

    # -- life cycle ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        process = self._process
        return process is not None and process.is_alive()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def _ensure_started(self) -> Any:
        with self._state:
            if self._cancelled:
                raise OcrCancelled("the OCR engine was stopped")
            if self._process is not None and self._process.is_alive():
                return self._conn
            if self._process is not None:
                self.deaths += 1
                self._discard()
            process, parent = start_worker(self.threads)
            self._process, self._conn, self._fresh = process, parent, True
            self.starts += 1
            self._last_used = time.monotonic()
            if self._idle_thread is None or not self._idle_thread.is_alive():
                self._idle_wake.clear()
                self._idle_thread = threading.Thread(
                    target=self._stop_when_idle, name="praxis-ocr-idle", daemon=True
                )
                self._idle_thread.start()
            return parent

    def _stop_when_idle(self) -> None:
        while True:
            with self._state:
                if self._process is None:
                    return
                left = self._last_used + self.idle_seconds - time.monotonic()
            if left <= 0 and self._lock.acquire(blocking=False):
                try:  # no read in progress, and none can start meanwhile
                    if time.monotonic() - self._last_used >= self.idle_seconds:
                        self.idle_stops += 1
                        self._end("idle")
                        return
                finally:
                    self._lock.release()
            self._idle_wake.wait(max(0.05, min(left, self.idle_seconds)))
            if self._cancelled:
                return

    def _end(self, why: str) -> None:
        """End the worker process (politely, then by force) and forget it."""
        with self._state:
            process = self._process
            self._discard()
        if process is None:
            return
        log.debug("OCR worker %s ended: %s", process.pid, why)
        process.join(STOP_GRACE)
        if process.is_alive():
            process.terminate()
            process.join(STOP_GRACE)
        if process.is_alive():
            process.kill()
            process.join(STOP_GRACE)

    def _discard(self) -> None:
        """Close the pipe (the worker reads EOF and ends) and forget the process. Called with
        `_state` held."""
        conn, self._conn, self._process = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def cancel(self) -> None:
        """End the read in progress, if any, and refuse reads from now on (they raise
        OcrCancelled). Returns at once: the worker is killed, not waited for. Any thread."""
        with self._state:
            self._cancelled = True
            process = self._process
        self._idle_wake.set()
        if process is not None and process.is_alive():
            process.kill()  # a read blocked on the pipe sees it close and ends

    def close(self) -> None:
        """End the worker now (call it when no read is in progress); a later read starts a
        new one, unless the engine was cancelled."""
        self._end("closed")
