"""The one place that assembles the app, for the tray and for headless recording alike:
instance lock, settings (read once), recorder, uploader (with its collector) and the control
socket. Views add their own handling of control requests and of signals on top."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app.core import allocator
from app.core.control import ControlServer, InstanceLock, UploadLock
from app.core.errors import AlreadyRunning, PraxisError
from app.core.paths import ensure_private_dir
from app.core.recorder import Recorder
from app.core.service import handle_request
from app.core.settings import SETTINGS_FILE, Settings, load_effective_settings
from app.core.upload import embedded
from app.core.upload.target import LOCAL_COLLECTOR, NO_COLLECTOR, Target, configured_target
from app.core.upload.worker import Uploader

log = logging.getLogger(__name__)
_COUNTERS_TTL_S = 0.5
_LOCAL_RETRY_S = 60.0
_RESOLVE_RETRY_S = 30.0  # a configured collector that could not be used is looked at again
Handler = Callable[[dict[str, Any]], Any]


def settings_file(data_dir: Path) -> Path:
    return data_dir / SETTINGS_FILE


def load_app_settings(data_dir: Path) -> Settings:
    """The settings in force: defaults, the user's file in the data folder, IT's policy."""
    return load_effective_settings(data_dir)


class Uploads:
    """The uploader and where it sends: the configured collector, or one on this computer."""

    def __init__(self, buffer: Any, settings: Settings, *, on_change: Callable[[], None]) -> None:
        self._buffer = buffer
        self._settings = settings
        self._target: Target | None = None
        self._local: embedded.EmbeddedCollector | None = None
        self._lock = threading.Lock()
        self._upload_lock = UploadLock(buffer.data_dir)
        self.uploading_here = False  # this process holds the upload lock
        self._closing = threading.Event()
        self.problem: str | None = None  # why no collector could be reached, in words
        self._on_change = on_change
        self._counted: tuple[float, dict[str, Any]] | None = None
        self._retry_local_at = 0.0  # a local collector that failed to start is tried again later
        self.uploader = Uploader(
            buffer,
            settings,
            self.target,
            on_change=self._changed,
            renew_local_token=self.renew_local_token,
            local_collector=self._local_for_erasures,
            why_no_target=lambda: self.problem,
        )

    def _changed(self) -> None:
        self._counted = None
        self._on_change()

    def target(self) -> Target | None:
        """Where to send; found (and the local collector started) the first time the uploader
        has something to send, so an app with nothing approved starts no collector. A local
        collector that died is started again."""
        with self._lock:
            if self._local is not None and not self._local.alive():
                log.warning("the collector on this computer exited; it is started again")
                self._local.stop()
                self._local, self._target = None, None
        if (
            self._target is None
            and not self._closing.is_set()
            and time.monotonic() >= self._retry_local_at
        ):
            self.resolve()
        return self._target

    def start(self) -> None:
        """Start sending, once no other process uploads from this data folder. Blocks while
        one does: the caller runs it off any UI thread."""
        while True:  # a `praxis sync` started before the app finishes first
            try:
                self._upload_lock.acquire()
                break
            except AlreadyRunning as exc:
                self.problem = exc.message
                if self._closing.wait(2.0):
                    return
        self.problem = None
        self.uploading_here = True
        self.uploader.start()

    def resolve(self) -> None:
        with self._lock:
            settings = self._settings
            self.problem = None
            if settings.collector_url:
                self._stop_local()
                try:
                    self._target = configured_target(settings.collector_url, settings.ca_bundle)
                except PraxisError as exc:
                    self._target, self.problem = None, exc.message
                    # Not on every pass: a locked keyring may ask the person each time.
                    self._retry_local_at = time.monotonic() + _RESOLVE_RETRY_S
                return
            if self._local is not None and self._target is not None:
                return
            if not embedded.available():
                self._target, self.problem = None, NO_COLLECTOR
                return
            self._local = embedded.EmbeddedCollector(self._buffer.data_dir, self._buffer.device_id)
            try:
                self._target = self._local.start()
            except PraxisError as exc:
                self._local = None
                self._target, self.problem = None, f"{exc.title}: {exc.message}"
                self._retry_local_at = time.monotonic() + _LOCAL_RETRY_S

    @contextlib.contextmanager
    def _local_for_erasures(self) -> Iterator[Target | None]:
        """The collector on this computer, started for a moment while another one is the
        target (or None when it cannot run here)."""
        if not embedded.available() or self._closing.is_set():
            yield None
            return
        local = embedded.EmbeddedCollector(self._buffer.data_dir, self._buffer.device_id)
        try:
            target = local.start()
        except PraxisError as exc:
            log.warning("the collector on this computer did not start: %s", exc.message)
            yield None
            return
        try:
            yield target
        finally:
            local.stop()

    def renew_local_token(self) -> None:
        with self._lock:
            if self._local is not None:
                self._target = self._local.renew_token()

    def apply_settings(self, settings: Settings) -> None:
        changed = (settings.collector_url, settings.ca_bundle) != (
            self._settings.collector_url,
            self._settings.ca_bundle,
        )
        self._settings = settings
        if changed:
            self._forget_target()
        self.uploader.apply_settings(settings)

    def enrolled(self, settings: Settings) -> None:
        """`praxis enroll` changed the collector or its token: use them and try again."""
        self._settings = settings
        self.uploader.settings = settings
        self._forget_target()
        self.uploader.retry_now()

    def _forget_target(self) -> None:
        self._retry_local_at = 0.0
        with self._lock:
            if self._settings.collector_url:
                self._stop_local()
            self._target = None

    def counters(self) -> dict[str, Any]:
        """For every status request. Kept for half a second unless the uploader reports a
        change, so a client polling the status does not cost the recorder database reads."""
        counted = self._counted
        if counted is not None and time.monotonic() - counted[0] < _COUNTERS_TTL_S:
            return counted[1]
        upload = self.uploader.counters()
        target = self._target
        upload["collector"] = None if target is None else target.files_url
        upload["embedded"] = bool(target and target.embedded)
        upload["collector_text"] = self.problem or (
            _where(self._settings) if target is None else target.description
        )
        self._counted = (time.monotonic(), {"upload": upload})
        return {"upload": upload}

    def stop(self) -> None:
        self._closing.set()
        self.uploader.stop()
        self._stop_local()
        self.uploading_here = False
        self._upload_lock.release()

    def _stop_local(self) -> None:
        if self._local is not None:
            self._local.stop()
            self._local = None
            self._target = None


def _where(settings: Settings) -> str:
    """Where uploads will go, before the collector was contacted."""
    if settings.collector_url:
        return f"uploads go to {settings.collector_url}"
    return LOCAL_COLLECTOR if embedded.available() else NO_COLLECTOR


def offline_upload_counters(buffer: Any, settings: Settings) -> dict[str, Any]:
    """What `praxis status` says about uploads when no app is running."""
    from app.core.buffer import uploads as book

    with buffer.reader() as db:
        upload = book.summary(db)
    text = _where(settings)
    upload.update(state="not_running", percent=None, collector_text=text, waiting_reason=None)
    upload["collector"] = settings.collector_url or None
    return {"upload": upload}


class Runtime:
    """Lock, settings, recorder, uploads and control server for one data folder."""

    def __init__(self, data_dir: Path, *, recorder_factory: Callable[..., Recorder] = Recorder):
        # Before any capture thread starts: freed screens then go back to the system instead
        # of staying in per-thread heaps (most of the recorder's memory otherwise).
        allocator.tune_for_frames()
        self.data_dir = ensure_private_dir(data_dir)
        self.settings_file = settings_file(self.data_dir)
        self.settings = load_app_settings(self.data_dir)
        self.lock = InstanceLock(self.data_dir)
        self.lock.acquire()
        try:
            self.recorder = recorder_factory(self.data_dir, self.settings)
        except BaseException:
            self.lock.release()
            raise
        self.stop_requested = threading.Event()
        self.uploads = Uploads(
            self.recorder.buffer, self.settings, on_change=self.recorder.announce
        )
        self.recorder.add_status_source(self.uploads.counters)
        self._server: ControlServer | None = None
        self._upload_starter: threading.Thread | None = None

    # -- control --------------------------------------------------------------------------
    def handle(self, request: dict[str, Any], stop: Any = None) -> Any:
        """The control vocabulary of a running app: the recorder's, plus uploads."""
        cmd = request.get("cmd")
        if cmd == "sync":
            if not self.uploads.uploading_here:  # a `praxis sync` process holds the lock
                return {
                    "uploaded": [],
                    "failed": {},
                    "stopped": self.uploads.problem
                    or "uploads have not started in the running app yet; try again shortly",
                }
            report = self.uploads.uploader.sync_once(float(request.get("timeout") or 600))
            return {
                "uploaded": report.uploaded,
                "failed": report.failed,
                "stopped": report.stopped,
            }
        if cmd == "enrolled":
            self.apply_settings(load_app_settings(self.data_dir), enrolled=True)
            return {"message": "the running app uses the new enrollment"}
        return handle_request(self.recorder, request, stop or self.stop_requested)

    def serve(self, handler: Handler | None = None) -> None:
        self._server = ControlServer(self.data_dir, handler or self.handle)
        self._server.start()

    def install_signal_handlers(self, on_signal: Callable[[], None] | None = None) -> None:
        """SIGINT and SIGTERM (logout, service stop) end the app cleanly, sealing the last
        segment. Must be called from the main thread."""
        callback = on_signal or self.stop_requested.set
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: callback())

    # -- uploads -----------------------------------------------------------------------
    def start_uploads(self) -> None:
        """In the background: starting the collector on this computer takes a moment."""

        def start() -> None:
            try:
                self.uploads.start()
            except Exception:  # the recorder goes on; status shows the problem
                log.exception("uploads could not start")
            self.recorder.announce()

        self._upload_starter = threading.Thread(target=start, name="praxis-upload-start")
        self._upload_starter.start()

    def apply_settings(self, settings: Settings, *, enrolled: bool = False) -> None:
        self.settings = settings
        self.recorder.apply_settings(settings)
        if enrolled:
            self.uploads.enrolled(settings)
        else:
            self.uploads.apply_settings(settings)

    def close(self) -> None:
        """Stop in order: no new requests, no more uploads, then seal and stop recording."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.uploads.stop()
        if self._upload_starter is not None:
            self._upload_starter.join(60)
            self.uploads.stop()  # a collector the starter brought up while we were stopping
        self.recorder.shutdown()
        self.lock.release()
