"""The background uploader: a stoppable thread that sends approved segments, erases deleted
ones on the collector and removes uploaded content once the retention has passed.

It reads content only through the egress gate. Failures follow `docs/UPLOAD.md`: retry with
backoff, start a new upload, set a segment aside, or stop everything when the token is bad.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urljoin

from app.core.buffer import uploads
from app.core.buffer.store import Buffer
from app.core.egress import EgressRefused, release_for_upload
from app.core.errors import PraxisError
from app.core.lifecycle import LifecycleError
from app.core.settings import Settings
from app.core.upload.backoff import Backoff
from app.core.upload.conditions import Conditions, UploadConditions
from app.core.upload.send import CHUNK_BYTES, Abandoned, Sender
from app.core.upload.target import NO_COLLECTOR, Target
from app.core.upload.tus import (
    READ_TIMEOUT_S,
    AuthFailed,
    Refused,
    Retryable,
    ServerInfo,
    TusClient,
    TusError,
)

log = logging.getLogger(__name__)
LOCAL_KEY = "this-computer"  # Target.key of the collector on this computer
LOCAL_DOWN = "the collector on this computer could not be started to erase it"
POLL_S = 2.0  # how often newly approved segments and erasures are looked for (a cheap read)


@dataclass
class SyncReport:
    uploaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None  # why nothing more could be tried (token, no collector)

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None


class Uploader:
    def __init__(
        self,
        buffer: Buffer,
        settings: Settings,
        target: Callable[[], Target | None],
        *,
        conditions: UploadConditions | None = None,
        backoff: Backoff | None = None,
        on_change: Callable[[], None] | None = None,
        read_timeout: float = READ_TIMEOUT_S,
        renew_local_token: Callable[[], None] | None = None,
        chunk_bytes: int = CHUNK_BYTES,
        local_collector: Callable[[], contextlib.AbstractContextManager[Target | None]]
        | None = None,
        why_no_target: Callable[[], str | None] | None = None,
    ) -> None:
        self.buffer = buffer
        self.settings = settings
        self._target = target
        self._conditions = conditions or Conditions()
        self.backoff = backoff or Backoff()
        self._on_change = on_change or (lambda: None)
        self._read_timeout = read_timeout
        self._renew_local_token = renew_local_token
        self.chunk_bytes = chunk_bytes
        # Starts the collector on this computer for a moment, for erasures of what was sent
        # there before another collector was configured.
        self._local_collector = local_collector
        # Why `target` gave None (a locked keyring, an unusable address), when known.
        self._why_no_target = why_no_target or (lambda: None)
        self._renewed = False  # once per refusal: a token that fails again stops uploads
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._pass_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._info: tuple[Target, ServerInfo] | None = None
        self._collector: str | None = None  # the key of the collector last sent to
        self._held = False  # the last pass could not send (no collector, or conditions)
        self._progress: tuple[str, int, int] | None = None
        self._last_notified = 0.0
        self.waiting_reason: str | None = None  # why nothing is sent now, for status and tray
        self.auth_error: str | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
            return
        # Each run has its own stop event: a loop still finishing a request after stop()
        # keeps its event set and ends, instead of running on next to the new one.
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stop,), name="praxis-uploader", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current request (each has a timeout); the next start resumes."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self._info = None
        self.wake()

    def retry_now(self) -> None:
        """Forget waits and set-aside uploads (after enrolling again, or when asked)."""
        self.auth_error = None
        self._info = None

        def run(tx: Any) -> None:
            uploads.unquarantine(tx)
            tx.set_meta(uploads.STOPPED_META, None)

        self.buffer.write(run)
        self.wake()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_pass()
            except Exception as exc:  # reported, and the worker keeps going after a pause
                log.exception("upload pass failed")
                self.waiting_reason = f"upload stopped by an unexpected error: {exc!r}"
                self._changed(force=True)
            self._wake.wait(self._sleep_s())
            self._wake.clear()

    def _sleep_s(self) -> float:
        if self._held or self.auth_error:
            return POLL_S  # what holds uploads back is looked at again after the poll interval
        with self.buffer.reader() as db:
            due = uploads.next_attempt(db, self._collector)
        if due is None:
            return POLL_S
        return max(0.05, min(POLL_S, due - time.time()))

    # -- status ---------------------------------------------------------------------------
    def counters(self) -> dict[str, Any]:
        with self.buffer.reader() as db:
            upload = uploads.summary(db)
        upload["state"] = self._state(upload)
        upload["waiting_reason"] = self.waiting_reason
        if self.auth_error:
            upload["last_error"] = self.auth_error
        if self._progress is not None:
            segment_id, sent, total = self._progress
            upload["current"] = {"segment_id": segment_id, "sent": sent, "total": total}
        total = upload["bytes_total"]
        upload["percent"] = None if not total else round(100.0 * upload["bytes_sent"] / total, 1)
        return upload

    def _state(self, upload: dict[str, Any]) -> str:
        if self.auth_error:
            return "stopped"
        if self._progress is not None:
            return "uploading"
        if upload["approved"] + upload["uploading"] == 0:
            return "idle"
        return "waiting"

    def _changed(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_notified > 0.5:
            self._last_notified = now
            self._on_change()

    def _set_progress(self, segment_id: str, sent: int, total: int) -> None:
        self._progress = (segment_id, sent, total)
        self._changed()

    # -- one pass ---------------------------------------------------------------------------
    def run_pass(self, *, now: float | None = None) -> SyncReport:
        """Erase what waits for erasure, send every due segment, purge what may go."""
        report = SyncReport()
        stop = self._stop  # this pass ends when the run it belongs to is stopped
        self._held = False
        when = time.time() if now is None else now
        with self.buffer.reader() as db:
            idle = not uploads.due_segments(db, when) and not uploads.due_erasures(db, when)
        if idle:  # nothing to send: no collector is contacted (or started)
            self.purge_due()
            return report
        with self._pass_lock:
            target = self._target()
            if target is None:
                self._held = True
                self.waiting_reason = self._why_no_target() or NO_COLLECTOR
                report.stopped = self.waiting_reason
                return report
            blocked = self._conditions.blocked(self.settings)
            self.waiting_reason = blocked or (
                self.auth_error if self.auth_error else target.description
            )
            self._collector = target.key
            if blocked or self.auth_error:
                self._held = True
                report.stopped = blocked or self.auth_error
                self._changed(force=True)
                return report
            client = TusClient(
                target.files_url,
                target.token,
                ca_bundle=target.ca_bundle,
                read_timeout=self._read_timeout,
            )
            try:
                self._erase_due(client, target, now, stop)
                self._erase_on_this_computer(target, now, stop)
                self._send_due(client, target, report, now, stop)
            finally:
                client.close()
                self._progress = None
                self._changed(force=True)
        self.purge_due()
        return report

    def _server_info(self, client: TusClient, target: Target) -> ServerInfo:
        if self._info is None or self._info[0] != target:
            self._info = (target, client.options())
        return self._info[1]

    def _send_due(
        self,
        client: TusClient,
        target: Target,
        report: SyncReport,
        now: float | None,
        stop: threading.Event,
    ) -> None:
        with self.buffer.reader() as db:
            due = uploads.due_segments(db, time.time() if now is None else now, target.key)
        for segment_id in due:
            if stop.is_set() or self.auth_error:
                return
            error = self._send_one(client, target, segment_id, stop)
            if error is None:
                report.uploaded.append(segment_id)
            elif error:
                report.failed[segment_id] = error

    def _send_one(
        self, client: TusClient, target: Target, segment_id: str, stop: threading.Event
    ) -> str | None:
        """None when delivered, "" when there was nothing to do, else the error."""
        try:
            package = release_for_upload(self.buffer, segment_id)
        except EgressRefused:
            return ""  # the gate logged why; the segment is no longer ours to send
        except (PraxisError, ValueError) as exc:  # its content cannot be read back intact
            message = f"its package could not be built: {_said(exc)}"

            def aside(tx: Any) -> None:
                if uploads.set_aside_unsent(tx, segment_id, target.key, message):
                    tx.log("upload", f"upload of {segment_id} set aside: {message}")

            self.buffer.write(aside)
            return message
        sender = Sender(
            self.buffer,
            client,
            target,
            ServerInfo("", frozenset(), frozenset(), None),
            stop,
            self._set_progress,
            limit_bytes_s=self.settings.upload_limit_kib_s * 1024,
            chunk_bytes=self.chunk_bytes,
        )
        try:
            sender.info = self._server_info(client, target)
            confirmation = sender.send(package)
            self.buffer.write(lambda tx: uploads.acknowledge(tx, segment_id, confirmation))
            self._renewed = False
            return None
        except (Abandoned, KeyError, LifecycleError):
            return ""
        except AuthFailed as exc:
            if target.embedded and self._renew_local_token is not None and not self._renewed:
                # The collector on this computer lost its tokens (its folder was reset):
                # this app made that token itself, so it makes a new one.
                self._renewed = True
                self._renew_local_token()
                return exc.message
            self._stop_for_auth(exc.message)
            self._fail(segment_id, exc.message)  # kept, so `praxis status` says it later too
            return exc.message
        except Refused as exc:
            self._fail(segment_id, exc.message, quarantine=True)
            return exc.message
        except Retryable as exc:
            self._fail(segment_id, exc.message, retry_after=exc.retry_after)
            return exc.message
        except TusError as exc:  # an upload gone again and again, a conflict that persists
            self._fail(segment_id, exc.message)
            return exc.message
        except (PraxisError, ValueError, TimeoutError) as exc:
            # Anything else about this one segment (an address or answer that cannot be used,
            # bookkeeping that took too long) waits its turn again; the others go on.
            message = _said(exc)
            self._fail(segment_id, message)
            return message

    def _fail(
        self,
        segment_id: str,
        message: str,
        *,
        quarantine: bool = False,
        retry_after: float | None = None,
    ) -> None:
        def run(tx: Any) -> bool:
            row = uploads.upload_row(tx.db, segment_id)
            attempts = 1 + (row.attempts if row else 0)
            next_at = time.time() + self.backoff.delay(attempts, retry_after)
            done = uploads.record_failure(tx, segment_id, message, next_at, quarantine=quarantine)
            if quarantine and done:
                tx.log("upload", f"upload of {segment_id} set aside: {message}")
            return done

        self.buffer.write(run)

    def _stop_for_auth(self, message: str) -> None:
        if self.auth_error != message:

            def run(tx: Any) -> None:
                tx.log("upload", f"uploads stopped: {message}")
                tx.set_meta(uploads.STOPPED_META, message)  # `praxis status` says it later

            self.buffer.write(run)
        self.auth_error = message
        self.waiting_reason = message

    # -- erasures and retention --------------------------------------------------------------
    def _erase_due(
        self, client: TusClient, target: Target, now: float | None, stop: threading.Event
    ) -> None:
        with self.buffer.reader() as db:
            # An erasure for another collector waits until that one is configured again.
            due = uploads.due_erasures(db, time.time() if now is None else now, target.key)
        self._erase_list(client, target, due, stop)

    def _erase_on_this_computer(
        self, target: Target, now: float | None, stop: threading.Event
    ) -> None:
        """Erasures of uploads that went to the collector on this computer, while another one
        is configured: that collector is started just for them, so nothing deleted stays in
        the data folder's collector store."""
        if target.embedded or self._local_collector is None or stop.is_set():
            return
        with self.buffer.reader() as db:
            due = uploads.due_erasures(db, time.time() if now is None else now, LOCAL_KEY)
        if not due:
            return
        with self._local_collector() as local:
            if local is None:
                for erasure in due:
                    delay = self.backoff.delay(erasure.attempts + 1)
                    self.buffer.write(
                        partial(_erasure_failed, erasure, LOCAL_DOWN, time.time() + delay)
                    )
                return
            client = TusClient(local.files_url, local.token, read_timeout=self._read_timeout)
            try:
                self._erase_list(client, local, due, stop)
            finally:
                client.close()

    def _erase_list(
        self,
        client: TusClient,
        target: Target,
        due: list[uploads.Erasure],
        stop: threading.Event,
    ) -> None:
        for erasure in due:
            if stop.is_set():
                return
            try:
                how = client.terminate(_absolute(target, erasure.url))
                self.buffer.write(partial(_confirmed, erasure, how))
            except AuthFailed as exc:
                self._stop_for_auth(exc.message)
                return
            except (PraxisError, ValueError) as exc:  # this erasure waits; the others go on
                delay = self.backoff.delay(erasure.attempts + 1, getattr(exc, "retry_after", None))
                self.buffer.write(
                    partial(_erasure_failed, erasure, _said(exc), time.time() + delay)
                )

    def purge_due(self, now: float | None = None) -> list[str]:
        keep_s = self.settings.keep_uploaded_hours * 3600
        # A package confirmed by its length alone (no checksums on that server) stays here
        # at least a week: whether its bytes arrived intact is not known.
        shift_s = max(0.0, uploads.UNVERIFIED_KEEP_S - keep_s)
        before = (time.time() if now is None else now) - keep_s
        with self.buffer.reader() as db:
            oldest = uploads.oldest_acknowledged(db, shift_s)
        if oldest is None or oldest > before:
            return []
        purged: list[str] = self.buffer.write(
            lambda tx: uploads.purge_acknowledged(tx, before, before - shift_s)
        )
        if purged:
            self.buffer.checkpoint()
        return purged

    # -- sync --once -------------------------------------------------------------------------
    def sync_once(self, timeout: float = 600.0) -> SyncReport:
        """Send every approved segment now, retrying what can be retried until `timeout`;
        the report names what was uploaded and what failed."""
        self.retry_now()
        deadline = time.monotonic() + timeout
        total = SyncReport()
        while True:
            report = self.run_pass()
            total.uploaded += report.uploaded
            for segment_id in report.uploaded:
                total.failed.pop(segment_id, None)
            total.failed.update(report.failed)
            if report.stopped:
                total.stopped = report.stopped
                return total
            with self.buffer.reader() as db:
                left = uploads.summary(db)
                due = uploads.next_attempt(db, self._collector)
            waiting = left["approved"] + left["uploading"] - left["quarantined"]
            if waiting <= 0 or self._stop.is_set():
                return total
            pause = 0.05 if due is None else max(0.05, due - time.time())
            if time.monotonic() + pause > deadline:
                return total
            self._stop.wait(pause)


def _said(exc: Exception) -> str:
    return exc.message if isinstance(exc, PraxisError) else str(exc) or type(exc).__name__


def _absolute(target: Target, path: str) -> str:
    return urljoin(target.files_url, path)


def _confirmed(erasure: uploads.Erasure, how: str, tx: Any) -> None:
    uploads.erasure_confirmed(tx, erasure, how)


def _erasure_failed(erasure: uploads.Erasure, message: str, next_at: float, tx: Any) -> None:
    uploads.erasure_failed(tx, erasure, message, next_at)
