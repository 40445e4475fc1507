"""The egress gate: the one place where a segment's content may be read for leaving the machine.

A segment passes only if it is approved (or already being uploaded after approval) and its
package, built again now, hashes to the value frozen when it was approved. Anything else is
refused and written to the activity log; a segment whose content changed after approval goes
back to review, so the person sees it again before anything is sent.
"""

from __future__ import annotations

from app.core.buffer.store import Buffer
from app.core.buffer.tx import Tx
from app.core.errors import PraxisError
from app.core.lifecycle import SegmentState
from app.core.package import Package, build_from

RELEASABLE = (SegmentState.APPROVED, SegmentState.UPLOADING)


class EgressRefused(PraxisError):
    title = "Upload refused"


def release_for_upload(buffer: Buffer, segment_id: str) -> Package:
    """The exact package to send, or EgressRefused (logged) with the reason.

    The package is built from one read snapshot, off the writer thread, so building several
    megabytes never holds up the recorder's writes; anything but a clean pass is decided
    again inside the writer, where refusals are logged and changed segments sent back."""
    with buffer.reader() as db:
        db.conn.execute("BEGIN")  # state, hash and content from the same snapshot
        try:
            row = db.execute(
                "SELECT state, package_sha256 FROM segments WHERE id = ?", [segment_id]
            ).fetchone()
            if row is not None and SegmentState(row[0]) in RELEASABLE and row[1]:
                package = build_from(db.conn, buffer.sealer, buffer.device_id, segment_id)
                if package.sha256 == row[1]:
                    return package
        finally:
            db.conn.execute("COMMIT")
    return _release_in_writer(buffer, segment_id)


def _release_in_writer(buffer: Buffer, segment_id: str) -> Package:
    def run(tx: Tx) -> Package | str:
        row = tx.db.execute(
            "SELECT state, package_sha256 FROM segments WHERE id = ?", [segment_id]
        ).fetchone()
        if row is None:
            return _refuse(tx, segment_id, "there is no such segment")
        state, frozen = SegmentState(row[0]), row[1]
        if state not in RELEASABLE:
            return _refuse(tx, segment_id, f"it is {state.label}, not approved")
        if not frozen:
            return _refuse(tx, segment_id, "it has no approved content hash")
        package = build_from(tx.db.conn, buffer.sealer, buffer.device_id, segment_id)
        if package.sha256 != frozen:
            tx.content_changed(segment_id, "its content changed after it was approved")
            return _refuse(tx, segment_id, "its content changed after it was approved")
        return package

    # Refusals are committed (the log entry, the return to review) and then raised here,
    # outside the writer, so a refusal is never rolled back with the exception.
    result = buffer.write(run)
    if isinstance(result, str):
        raise EgressRefused(result)
    return result


def _refuse(tx: Tx, segment_id: str, why: str) -> str:
    tx.log("egress", f"upload of {segment_id} refused: {why}")
    return f"segment {segment_id} may not leave this machine: {why}"
