"""The one place where the core's callbacks (from any thread) become Qt signals, and where
slow core calls leave the UI thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import PraxisError
from app.core.recorder import Recorder
from app.core.state import Status


class Tasks(QObject):
    """Runs slow core calls on worker threads and hands their results back on the UI thread.
    Windows that work without a recorder (the review window on its own) use just this."""

    notice_raised = Signal(str, str)  # title, message
    task_finished = Signal(object, object, object)  # callback, result, error

    def __init__(self) -> None:
        super().__init__()
        self.task_finished.connect(self._on_task_finished)

    def run(
        self,
        work: Callable[[], Any],
        done: Callable[[Any, BaseException | None], None] | None = None,
    ) -> None:
        """Run `work` on a worker thread; `done(result, error)` is called on the UI thread."""

        def target() -> None:
            try:
                result, error = work(), None
            except BaseException as exc:  # handed to `done`, which shows it
                result, error = None, exc
            self.task_finished.emit(done, result, error)

        threading.Thread(target=target, name="praxis-ui-task", daemon=True).start()

    def _on_task_finished(self, done: Any, result: Any, error: Any) -> None:
        if done is not None:
            done(result, error)
        elif error is not None:
            title = error.title if isinstance(error, PraxisError) else "Something went wrong"
            message = error.message if isinstance(error, PraxisError) else str(error)
            self.notice_raised.emit(title, message)


class Bridge(Tasks):
    status_changed = Signal(object)  # Status

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder
        self._upload_problem: str | None = None
        recorder.add_listener(on_status=self._from_core_status, on_notice=self.notice_raised.emit)

    def _from_core_status(self, status: Status) -> None:
        # Counts need a database read: fetch them here, off the UI thread, then hand over.
        with contextlib.suppress(PraxisError):
            status = self.recorder.status()
        self._tell_upload_problem(status)
        self.status_changed.emit(status)

    def _tell_upload_problem(self, status: Status) -> None:
        """A stop of all uploads (a refused token) is said once, not only in the tooltip."""
        upload = status.counters.get("upload") or {}
        problem = upload.get("last_error") if upload.get("state") == "stopped" else None
        if problem and problem != self._upload_problem:
            self.notice_raised.emit("Uploads stopped", str(problem))
        self._upload_problem = problem

    def refresh(self) -> None:
        """Re-read the status with counts, in the background."""
        self.run(
            self.recorder.status,
            lambda status, error: self.status_changed.emit(status) if status else None,
        )
