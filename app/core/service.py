"""The control vocabulary shared by the socket (running recorder) and direct buffer access."""

from __future__ import annotations

import threading
from typing import Any

from app.core.buffer.store import Buffer
from app.core.buffer.tx import DeletionReport
from app.core.consent import ConsentRecord, ConsentText
from app.core.deletion import DeleteRequest, run_deletion
from app.core.errors import PraxisError
from app.core.recorder import Recorder


def _report(report: DeletionReport) -> dict[str, Any]:
    return {**report.as_dict(), "description": report.describe()}


def handle_request(recorder: Recorder, request: dict[str, Any], stop: threading.Event) -> Any:
    cmd = request.get("cmd")
    if cmd == "status":
        return recorder.status().as_dict()
    if cmd == "pause":
        seconds = request.get("seconds")
        return recorder.pause(float(seconds) if seconds else None).as_dict()
    if cmd == "resume":
        return recorder.resume().as_dict()
    if cmd == "delete":
        return _report(recorder.delete(DeleteRequest.from_wire(request)))
    if cmd == "consent":
        if request.get("accept"):
            recorder.accept_consent()
            return {
                "message": f"Consent version {recorder.consent_text.version} accepted; recording."
            }
        report = recorder.withdraw_consent()
        return {"message": f"Consent withdrawn; recording stopped and {report.describe()}."}
    if cmd == "flush":
        recorder.flush_to_disk()
        return {"message": "flushed"}
    if cmd == "stop":
        stop.set()
        return {"message": "stopping"}
    raise PraxisError(f"unknown command {cmd!r}", title="Bad request")


def delete_direct(buffer: Buffer, request: dict[str, Any]) -> dict[str, Any]:
    """Deletion with no recorder running: same operations, run on the buffer at once."""
    return _report(run_deletion(buffer, DeleteRequest.from_wire(request)))


def consent_direct(buffer: Buffer, text: ConsentText, *, accept: bool) -> dict[str, Any]:
    if accept:
        record = ConsentRecord.now(text.version)
        buffer.unlock()  # accepting means recording may start: the keyring must work now
        buffer.write(lambda tx: tx.accept_consent(record.version, record.accepted_at))
        return {
            "message": f"Consent version {text.version} accepted. "
            "Start recording with `praxis record --headless`."
        }

    report: DeletionReport = buffer.write(lambda tx: tx.withdraw_consent())
    return {"message": f"Consent withdrawn; {report.describe()}."}
