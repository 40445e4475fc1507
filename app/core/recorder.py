"""The recorder: consent, the state machine, and the wiring from capture to the buffer.

Views (CLI, tray) call its methods from any thread and learn about changes through
`add_listener` callbacks; they never reach into the workers.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from app import __version__
from app.core import review
from app.core.buffer.store import Buffer
from app.core.buffer.tx import DeletionReport, Tx
from app.core.capture.input import InputCapture
from app.core.capture.loop import CaptureLoop, FrameJob, SegmentClosed, SegmentOpened
from app.core.consent import ConsentRecord, ConsentText, load_consent_text
from app.core.deletion import DeleteRequest, format_duration, preview_deletion, run_deletion
from app.core.errors import ConsentRequired, PraxisError
from app.core.frameworker import FrameWorker
from app.core.model import EventRecord, FrameRecord, WindowInfo, new_id
from app.core.queries import pending_summary
from app.core.redact.frames import FrameRedactor, default_frame_redactor
from app.core.settings import Settings
from app.core.state import RecorderState, Status, check_transition
from app.platform import Platform, get_platform

log = logging.getLogger(__name__)
StatusListener = Callable[[Status], None]
NoticeListener = Callable[[str, str], None]
T = TypeVar("T")
# Below this much free space a resumed recording would fail again within seconds.
MIN_FREE_BYTES = 16 * 1024 * 1024
HEADROOM_PROBE_BYTES = 256 * 1024


def describe_fault(exc: BaseException) -> str:
    """A fault in words a person can act on; what was committed before it is kept."""
    if isinstance(exc, PraxisError):
        return exc.message
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code == sqlite3.SQLITE_FULL:
            return (
                "the disk holding the recordings is full. Everything recorded before was kept; "
                "free some space, then resume."
            )
        if code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
            return f"the recordings folder cannot be written ({exc}). Check the disk, then resume."
    return f"{type(exc).__name__}: {exc}"


class Recorder:
    def __init__(
        self,
        data_dir: Path,
        settings: Settings | None = None,
        *,
        platform_factory: Callable[[], Platform] = get_platform,
        input_factory: Callable[[], InputCapture] | None = None,
        frame_redactor: FrameRedactor | None = None,
        consent_text: ConsentText | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.buffer = Buffer(data_dir)
        self.buffer.unlock()  # fail before anything is captured if the keyring is unusable
        self.consent_text = consent_text or load_consent_text(settings)
        self._platform_factory = platform_factory
        self._input_factory = input_factory
        self._lock = threading.RLock()
        self._status = Status(RecorderState.STOPPED, "not started")
        self._status_listeners: list[StatusListener] = []
        self._notice_listeners: list[NoticeListener] = []
        self._status_sources: list[Callable[[], dict[str, Any]]] = []
        self._loop: CaptureLoop | None = None
        self._session_id: str | None = None
        self._session_started: float | None = None
        self._started_capture_at = 0.0
        self._custom_frame_redactor = frame_redactor
        self._frames = FrameWorker(
            frame_redactor or default_frame_redactor(self.settings),
            self._store_frame,
            self._segment_done,
            self._fail,
            codec=self.settings.frame_codec,
        )
        self._wake = threading.Event()
        self._sealed = threading.Event()  # a segment was sealed: prepare it for review
        self._closing = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="praxis-monitor", daemon=True)
        self._started = False
        self._fault_lock = threading.Lock()
        self._reported_message = ""  # the last fault said; cleared when recording runs again
        self._unlogged: list[tuple[str, str, float]] = []  # activity lines the disk refused

    # -- observing -----------------------------------------------------------------
    def add_listener(
        self, on_status: StatusListener | None = None, on_notice: NoticeListener | None = None
    ) -> None:
        if on_status:
            self._status_listeners.append(on_status)
        if on_notice:
            self._notice_listeners.append(on_notice)

    def add_status_source(self, source: Callable[[], dict[str, Any]]) -> None:
        """More counters for `status()` from parts the runtime adds (the uploader)."""
        self._status_sources.append(source)

    def announce(self) -> None:
        """Tell the listeners again, e.g. after a status source changed its counters."""
        status = self._status
        for listener in list(self._status_listeners):
            listener(status)

    @property
    def state(self) -> RecorderState:
        return self._status.state

    def status(self, *, with_counts: bool = True) -> Status:
        status = self._status
        if not with_counts:
            return status
        counters: dict[str, Any] = dict(pending_summary(self.buffer))
        counters["consent_version_required"] = self.consent_text.version
        counters["next_auto_approval"] = review.next_auto_approval(self.buffer, self.settings)
        loop = self._loop
        # Work taken in and not yet stored: flat while recording keeps up, growing if not.
        counters["backlog"] = {
            "input_events": loop.input_backlog if loop is not None else 0,
            "frames": self._frames.backlog,
            "writes": self.buffer.write_backlog,
        }
        for source in self._status_sources:
            counters.update(source())
        return replace(status, counters=counters)

    def _set(
        self, state: RecorderState, reason: str = "", paused_until: float | None = None
    ) -> None:
        with self._lock:
            check_transition(self._status.state, state)
            loop = self._loop
            window = loop.window.app if (loop and loop.window) else None
            excluded = state == RecorderState.RECORDING and loop is not None and loop.excluded()
            self._status = Status(
                state,
                reason,
                paused_until,
                self._session_id,
                window,
                self._session_started,
                excluded,
            )
            status = self._status
        for listener in list(self._status_listeners):
            listener(status)

    def _notify(self, title: str, message: str) -> None:
        for listener in list(self._notice_listeners):
            listener(title, message)

    def _log(self, kind: str, message: str) -> None:
        self._submit(lambda tx: tx.log(kind, message))

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Start the workers and, if consent is on record, recording."""
        with self._lock:
            if self._started:
                return
            self._started = True
            if self.buffer.quarantined is not None:
                self._notify(
                    "Damaged recordings set aside",
                    f"The local buffer was damaged and was moved to {self.buffer.quarantined}; "
                    "a new one was started. Nothing else needs doing.",
                )
            self.buffer.start_writer(self._fail)
            recovered = self.buffer.write(lambda tx: tx.recover_open_segments())
            if recovered:
                self._log("recovery", f"sealed {recovered} segment(s) left open by an unclean exit")
            self._frames.start()
            self._monitor.start()
            if self.consent_on_record():
                self._begin()
            else:
                self._set(RecorderState.NEEDS_CONSENT, "consent has not been given yet")

    def shutdown(self) -> None:
        """Stop recording, seal, and stop every worker. Safe to call twice."""
        with self._lock:
            if not self._started:
                return
            self._end_capture("recorder stopped")
            if self._status.state != RecorderState.NEEDS_CONSENT:
                self._set(RecorderState.STOPPED, "recorder stopped")
            self._closing.set()
            self._wake.set()
            if self._session_id:
                session_id, ended = self._session_id, time.time()
                self._submit(lambda tx: tx.end_session(session_id, ended))
                self._session_id = self._session_started = None
            self._frames.stop()
            self.buffer.stop_writer()
            self._started = False
            if self._unlogged:
                unlogged, self._unlogged = self._unlogged, []

                def catch_up(tx: Tx) -> None:
                    for kind, message, ts in unlogged:
                        tx.log(kind, message, ts)

                with contextlib.suppress(Exception):  # still no room: nothing more to do
                    self.buffer.run_direct(catch_up)

    # -- consent -------------------------------------------------------------------
    def consent_on_record(self) -> ConsentRecord | None:
        version = self.buffer.meta("consent_version")
        accepted = self.buffer.meta("consent_accepted_at")
        if version is None or accepted is None:
            return None
        record = ConsentRecord(int(version), float(accepted))
        return record if record.covers(self.consent_text) else None

    def accept_consent(self) -> None:
        record = ConsentRecord.now(self.consent_text.version)
        self.buffer.write(lambda tx: tx.accept_consent(record.version, record.accepted_at))
        with self._lock:
            if self._started and self._status.state == RecorderState.NEEDS_CONSENT:
                self._begin()

    def withdraw_consent(self) -> DeletionReport:
        """Stop capture and delete everything not yet uploaded."""
        with self._lock:
            self._end_capture("consent withdrawn")
            self._flush_or_revive()
            report = self._in_words(lambda: self.buffer.write(lambda tx: tx.withdraw_consent()))
            if self._started:
                self._set(RecorderState.NEEDS_CONSENT, "consent withdrawn")
            return report

    # -- recording -----------------------------------------------------------------
    def _begin(self, *, log: bool = True) -> None:
        if not self.consent_on_record():
            raise ConsentRequired(
                "accept the consent text before recording (praxis consent --accept)"
            )
        if self._session_id is None:
            session_id, started = new_id("ses"), time.time()
            self._session_id = session_id
            self._session_started = started
            self._submit(lambda tx: tx.add_session(session_id, started, __version__))
        loop = CaptureLoop(
            self.settings,
            self._platform_factory,
            _Sink(self),
            self._capture_failed,
            self._input_factory,
        )
        loop.start()  # raises DisplayUnavailable & co. before any state change
        self._loop = loop
        self._started_capture_at = time.monotonic()
        with self._fault_lock:
            self._reported_message = ""
        self._set(RecorderState.RECORDING, "")
        if log:
            self._log("recording", "recording started")

    def _end_capture(self, reason: str) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.stop(reason)

    def _flush(self, timeout: float = 120.0) -> None:
        """Wait until everything captured so far is committed."""
        if not self._frames.drain(timeout):
            raise PraxisError(
                "screenshots are still being redacted; try again in a minute",
                title="Busy",
            )
        self.buffer.write(lambda tx: None, timeout)

    def _flush_or_revive(self) -> None:
        """Before deleting: commit what was captured, or, when a fault stopped the writer
        (a full disk), start a new one. Deleting must work then too: it is the person's
        right, and it is what makes room."""
        if self.buffer.writer_failure is None:
            self._flush()
        else:
            self.buffer.start_writer(self._fail)

    def _in_words(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except sqlite3.Error as exc:
            raise PraxisError(describe_fault(exc), title="Could not delete") from exc

    def flush_to_disk(self) -> None:
        """Seal the current segment and commit everything, then go on recording."""
        with self._lock:
            if self._status.state == RecorderState.ERROR:
                return  # capture ended with the fault; what was committed is all there is
            was_recording = self._status.state == RecorderState.RECORDING
            self._end_capture("sealed for export")
            self._flush()
            if was_recording:
                self._begin(log=False)

    def apply_settings(self, settings: Settings) -> None:
        """Use new settings from now on; a running capture restarts with them."""
        with self._lock:
            self.settings = settings
            if self._custom_frame_redactor is None:
                self._frames.replace_redactor(default_frame_redactor(settings))
            if self._status.state == RecorderState.RECORDING:
                self._end_capture("settings changed")
                self._begin(log=False)
            self._log("settings", "settings changed")

    def pause(self, seconds: float | None = None, reason: str = "") -> Status:
        with self._lock:
            if self._status.state not in (RecorderState.RECORDING, RecorderState.PAUSED):
                raise PraxisError(
                    f"cannot pause while {self._status.state.value.replace('_', ' ')}",
                    title="Not recording",
                )
            self._end_capture("paused")
            until = time.time() + seconds if seconds else None
            words = reason or (
                f"paused for {format_duration(seconds)}" if seconds else "paused until resumed"
            )
            self._set(RecorderState.PAUSED, words, until)
            self._log("pause", words)
            self._wake.set()
            return self._status

    def resume(self, *, automatic: bool = False) -> Status:
        with self._lock:
            if self._status.state == RecorderState.RECORDING:
                return self._status
            if self._status.state not in (
                RecorderState.PAUSED,
                RecorderState.ERROR,
                RecorderState.STOPPED,
            ):
                raise ConsentRequired("recording cannot resume before consent is given")
            self._check_budget_allows_recording()
            if self._status.state == RecorderState.ERROR:
                self._restart_after_fault()
            self._begin(log=False)
            self._log(
                "resume", "recording resumed automatically" if automatic else "recording resumed"
            )
            return self._status

    def _restart_after_fault(self) -> None:
        """Make sure the buffer takes writes again before saying "recording": first the
        space on the disk, then a real write of what the fault kept from the activity log
        and of the segment it cut short."""
        free = shutil.disk_usage(self.buffer.data_dir).free
        if free < MIN_FREE_BYTES:
            raise PraxisError(
                f"the disk holding the recordings still has only {free / 1e6:.1f} MB free. "
                "Free some space, then resume; everything recorded before was kept.",
                title="Disk still full",
            )
        unlogged, self._unlogged = self._unlogged, []

        def catch_up(tx: Tx) -> None:
            # Room to grow, not just the free slots the failed batch left behind: a write
            # that needs new pages, taken back at once.
            tx.db.execute("SAVEPOINT room")
            tx.db.execute(
                "INSERT INTO activity(ts, kind, message) VALUES (0, 'probe', zeroblob(?))",
                [HEADROOM_PROBE_BYTES],
            )
            tx.db.execute("ROLLBACK TO room")
            tx.db.execute("RELEASE room")
            for kind, message, ts in unlogged:
                tx.log(kind, message, ts)
            tx.recover_open_segments()  # the segment cut short by the fault is sealed now

        self.buffer.start_writer(self._fail)  # replaces a writer that a fault stopped
        try:
            self.buffer.write(catch_up)
        except Exception as exc:
            self._unlogged = unlogged + self._unlogged
            raise PraxisError(describe_fault(exc), title="Cannot resume") from exc

    # -- deleting ------------------------------------------------------------------
    def _resolve(self, request: DeleteRequest) -> DeleteRequest:
        if request.kind == "session" and not request.session_id:
            if self._session_id is None:
                raise PraxisError("there is no current session", title="Nothing to delete")
            return DeleteRequest.session(self._session_id)
        return request

    def preview_delete(self, request: DeleteRequest) -> DeletionReport:
        """What `delete` would remove now (committed data only), for a confirmation."""
        return preview_deletion(self.buffer, self._resolve(request))

    def delete(self, request: DeleteRequest) -> DeletionReport:
        request = self._resolve(request)
        asked_at = time.time()
        with self._lock:
            was_recording = self._status.state == RecorderState.RECORDING
            # Seal first, so nothing in flight lands after the deletion.
            self._end_capture("deletion requested")
            self._flush_or_revive()
            report = self._in_words(lambda: run_deletion(self.buffer, request, asked_at))
            if was_recording:
                self._begin(log=False)
        self._notify("Deleted", report.describe()[0].upper() + report.describe()[1:] + ".")
        return report

    def delete_last(self, seconds: float) -> DeletionReport:
        return self.delete(DeleteRequest.last(seconds))

    def delete_session(self, session_id: str | None = None) -> DeletionReport:
        return self.delete(DeleteRequest("session", session_id=session_id))

    def delete_pending(self) -> DeletionReport:
        return self.delete(DeleteRequest.pending())

    # -- faults and the monitor ----------------------------------------------------
    def _submit(self, op: Callable[[Tx], Any]) -> Future[Any]:
        future = self.buffer.submit(op)
        future.add_done_callback(self._check_future)
        return future

    def _check_future(self, future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            self._fail(exc)

    def _capture_failed(self, exc: BaseException) -> None:
        self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        """Any worker fault: stop capturing (record less, never more) and say why. When the
        writer died, later writes fail too; the message names what killed it, not them."""
        exc = self.buffer.writer_failure or exc
        message = describe_fault(exc)
        with self._fault_lock:
            # Said once until recording runs again: every write queued behind a dead writer
            # fails with the same cause, and a resume the disk refuses was already answered.
            echo = message == self._reported_message
            self._reported_message = message
        if not echo:
            log.error("recording stopped by an error: %s", message)
        happened = time.monotonic()

        def stop_in_background() -> None:
            with self._lock:
                if self._status.state not in (RecorderState.RECORDING, RecorderState.PAUSED):
                    return  # already stopped: one notice per fault is enough
                if happened < self._started_capture_at:
                    return  # an echo of a fault from before the person resumed
                self._end_capture("error")
                self._set(RecorderState.ERROR, message)
                self._log_fault(message)
            self._notify("Recording stopped", message)

        threading.Thread(target=stop_in_background, name="praxis-fault", daemon=True).start()

    def _log_fault(self, message: str) -> None:
        """Put a fault in the activity log: through the writer if it lives, else directly;
        if the disk refuses even that, keep the line until a write succeeds again."""
        ts = time.time()
        if self.buffer.writer_failure is None:
            self._log("error", message)
            return
        try:
            self.buffer.run_direct(lambda tx: tx.log("error", message, ts))
        except Exception:
            self._unlogged.append(("error", message, ts))

    def _budget_exceeded(self) -> bool:
        return self.buffer.size_bytes() > self.settings.disk_budget_mb * 1024 * 1024

    def _check_budget_allows_recording(self) -> None:
        if self._budget_exceeded():
            raise PraxisError(
                f"the local buffer has reached its {self.settings.disk_budget_mb} MB budget. "
                "Review and upload or delete recordings to make room.",
                title="Disk budget reached",
            )

    def _review_housekeeping(self) -> None:
        """Put newly sealed segments up for review, and approve those whose time has come
        under an auto-approval policy. A failure here never touches recording."""
        try:
            review.prepare(self.buffer)
            approved = review.auto_approve_due(self.buffer, self.settings)
        except Exception as exc:
            log.warning("review housekeeping failed: %s", describe_fault(exc))
            return
        if approved:
            self._notify(
                "Approved for upload",
                f"{len(approved)} recording segment(s) reached the end of their review period "
                "and were approved automatically.",
            )

    def _watch(self) -> None:
        """Auto-resume after a timed pause; pause when the disk budget is reached; keep the
        review list current."""
        next_housekeeping = 0.0
        while not self._closing.is_set():
            status = self._status
            timeout = 5.0
            if time.monotonic() >= next_housekeeping or self._sealed.is_set():
                self._sealed.clear()
                self._review_housekeeping()
                next_housekeeping = time.monotonic() + 60.0
            if status.state == RecorderState.PAUSED and status.paused_until:
                remaining = status.paused_until - time.time()
                if remaining <= 0:
                    try:
                        self.resume(automatic=True)
                        self._notify("Recording resumed", "The timed pause has ended.")
                    except PraxisError as exc:
                        self._notify(exc.title, exc.message)
                        with self._lock:
                            if self._status.state == RecorderState.PAUSED:
                                self._set(RecorderState.PAUSED, exc.message)
                    continue
                timeout = min(timeout, remaining)
            elif status.state == RecorderState.RECORDING and self._budget_exceeded():
                words = f"paused: the disk budget of {self.settings.disk_budget_mb} MB is reached"
                try:
                    self.pause(reason=words)
                    self._notify("Recording paused", words)
                except PraxisError:
                    pass
            self._wake.wait(timeout)
            self._wake.clear()

    # -- sink callbacks (capture and frame threads) --------------------------------
    def _window_changed(self, window: WindowInfo | None, excluded: bool) -> None:
        with self._lock:
            status = self._status
            app = window.app if window else None
            if (status.excluded, status.window_app) == (excluded, app):
                return
            self._status = replace(status, excluded=excluded, window_app=app)
            status = self._status
        for listener in list(self._status_listeners):
            listener(status)

    def _store_frame(self, record: FrameRecord) -> None:
        self._submit(lambda tx: tx.add_frame(record))

    def _segment_done(self, closed: SegmentClosed, dropped_frames: int, failed_frames: int) -> None:
        redaction = dict(closed.redaction)
        if failed_frames:
            redaction["FRAME_REDACTION_FAILED"] = failed_frames

        def seal(tx: Tx) -> None:
            tx.seal_segment(
                closed.segment_id,
                closed.ended_at,
                closed.reason,
                closed.dropped_events,
                dropped_frames + failed_frames,
                redaction,
            )
            if failed_frames:
                tx.log(
                    "redaction",
                    f"{failed_frames} screenshot(s) not kept: redaction could not run on them",
                )
            if dropped_frames:
                tx.log("capture", f"{dropped_frames} screenshot(s) skipped: the computer was busy")

        self._submit(seal).add_done_callback(self._on_sealed)

    def _on_sealed(self, _future: Future[Any]) -> None:
        self._sealed.set()
        self._wake.set()


class _Sink:
    """What the capture thread talks to: the buffer for events, the frame worker for frames."""

    def __init__(self, recorder: Recorder) -> None:
        self._r = recorder

    def segment_opened(self, opened: SegmentOpened) -> None:
        session_id = self._r._session_id or ""
        self._r._submit(
            lambda tx: tx.open_segment(
                opened.segment_id, session_id, opened.started_at, opened.screen
            )
        )

    def events(self, records: list[EventRecord]) -> None:
        self._r._submit(lambda tx: tx.add_events(records))

    def frame(self, job: FrameJob) -> bool:
        return self._r._frames.submit(job)

    def segment_closed(self, closed: SegmentClosed) -> None:
        self._r._frames.close_segment(closed)

    def window_changed(self, window: WindowInfo | None, excluded: bool) -> None:
        self._r._window_changed(window, excluded)
