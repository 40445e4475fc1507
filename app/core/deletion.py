"""What a person can ask to delete, as one value that can be previewed, run and logged."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.buffer.store import Buffer
from app.core.buffer.tx import DeletionReport, Tx
from app.core.errors import PraxisError


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


@dataclass(frozen=True)
class DeleteRequest:
    kind: str  # last | session | pending
    seconds: float | None = None
    session_id: str | None = None

    @staticmethod
    def last(seconds: float) -> DeleteRequest:
        return DeleteRequest("last", seconds=seconds)

    @staticmethod
    def session(session_id: str) -> DeleteRequest:
        return DeleteRequest("session", session_id=session_id)

    @staticmethod
    def pending() -> DeleteRequest:
        return DeleteRequest("pending")

    @staticmethod
    def from_wire(request: dict[str, Any]) -> DeleteRequest:
        if request.get("last_seconds") is not None:
            return DeleteRequest.last(float(request["last_seconds"]))
        if request.get("session"):
            return DeleteRequest.session(str(request["session"]))
        if request.get("all_pending"):
            return DeleteRequest.pending()
        raise PraxisError("say what to delete", title="Bad request")

    def describe(self) -> str:
        if self.kind == "last":
            return f"delete the last {format_duration(self.seconds or 0)}"
        if self.kind == "session":
            return f"delete session {self.session_id}"
        return "delete everything not yet uploaded"

    def operation(self, now: float | None = None) -> Callable[[Tx], DeletionReport]:
        """The deletion itself; `now` fixes "the last N minutes" at the moment it was asked."""
        if self.kind == "last":
            since = (time.time() if now is None else now) - (self.seconds or 0)
            return lambda tx: tx.delete_since(since)
        if self.kind == "session":
            session_id = self.session_id or ""
            return lambda tx: tx.delete_session(session_id)
        return lambda tx: tx.delete_pending()


def run_deletion(
    buffer: Buffer, request: DeleteRequest, now: float | None = None
) -> DeletionReport:
    """Delete, log what was deleted (counts and times, never content), and shrink the WAL."""
    op = request.operation(now)

    def run(tx: Tx) -> DeletionReport:
        report = op(tx)
        tx.log("delete", f"{request.describe()}: {report.describe()}")
        return report

    report = buffer.write(run)
    buffer.checkpoint()
    return report


def preview_deletion(buffer: Buffer, request: DeleteRequest) -> DeletionReport:
    """What `run_deletion` would remove right now, without removing it."""
    return buffer.dry_run(request.operation())
