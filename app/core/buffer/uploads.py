"""Upload bookkeeping in the buffer: where each segment's upload stands on the collector, and
the durable queue of erasures. Writes take the writer's `Tx`; reads take a reader connection.

A segment's row in `uploads` exists from its first attempt until it is acknowledged and kept
after that (the erasure of an uploaded segment needs its URL). A deleted or changed segment
hands its URL to `erasures`, so the collector is told even if the app stops right after.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.lifecycle import SegmentState

if TYPE_CHECKING:
    from app.core.buffer.tx import Tx

# How a server that checks no checksums confirms a package: only its length is known to be
# right, so the local copy is kept longer (UNVERIFIED_KEEP_S) in case the bytes were not.
UNVERIFIED = "full length received (the server checks no checksums)"
UNVERIFIED_KEEP_S = 7 * 24 * 3600.0
STOPPED_META = "upload_stopped"  # why uploads stopped (a refused token) until enrolled again
_SENDABLE = (SegmentState.APPROVED.value, SegmentState.UPLOADING.value)


@dataclass(frozen=True)
class UploadRow:
    segment_id: str
    collector: str
    url: str | None
    length: int
    sha256: str
    offset: int
    attempts: int
    next_attempt_at: float
    last_error: str | None
    quarantined: bool


@dataclass(frozen=True)
class Erasure:
    id: int
    segment_id: str
    collector: str
    url: str
    attempts: int


# Segments being sent in this process, each with an event `forget` sets: the sender looks at
# it before every chunk, so a deletion stops the upload at once rather than at the next
# bookkeeping write.
_sending: dict[str, threading.Event] = {}
_sending_lock = threading.Lock()


@contextlib.contextmanager
def watch_forget(segment_id: str) -> Iterator[threading.Event]:
    event = threading.Event()
    with _sending_lock:
        _sending[segment_id] = event
    try:
        yield event
    finally:
        with _sending_lock:
            if _sending.get(segment_id) is event:
                del _sending[segment_id]


# -- writes (inside the writer's transaction) --------------------------------------------
def begin(tx: Tx, segment_id: str, collector: str, length: int, sha256: str) -> UploadRow:
    """Mark the segment as uploading and return its row; a row for another collector or other
    content starts over (its old URL is erased), one for the same continues where it stopped."""
    state = tx.segment_state(segment_id)
    if state == SegmentState.APPROVED:
        tx.set_state(segment_id, SegmentState.UPLOADING)
    elif state != SegmentState.UPLOADING:
        raise KeyError(segment_id)
    row = upload_row(tx.db, segment_id)
    if row is not None and (row.collector != collector or row.sha256 != sha256):
        forget(tx, segment_id, "its upload started over")
        row = None
    if row is None:
        tx.db.execute(
            "INSERT INTO uploads(segment_id, collector, length, sha256, started_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [segment_id, collector, length, sha256, time.time()],
        )
        row = upload_row(tx.db, segment_id)
        assert row is not None
    return row


def _update(tx: Tx, segment_id: str, sql: str, params: list[Any]) -> bool:
    cursor = tx.db.execute(f"UPDATE uploads SET {sql} WHERE segment_id = ?", [*params, segment_id])
    return bool(cursor.rowcount)


def set_url(tx: Tx, segment_id: str, url: str | None) -> bool:
    """False when the segment's upload was forgotten meanwhile (it was deleted)."""
    return _update(tx, segment_id, "url = ?, offset = 0", [url])


def set_offset(tx: Tx, segment_id: str, offset: int) -> bool:
    return _update(tx, segment_id, "offset = ?", [offset])


def record_failure(
    tx: Tx, segment_id: str, error: str, next_attempt_at: float, *, quarantine: bool = False
) -> bool:
    return _update(
        tx,
        segment_id,
        "attempts = attempts + 1, last_error = ?, next_attempt_at = ?, quarantined = ?",
        [error, next_attempt_at, int(quarantine)],
    )


def set_aside_unsent(tx: Tx, segment_id: str, collector: str, error: str) -> bool:
    """Set aside a segment whose package could not even be built (nothing was sent), so the
    others go first and `praxis status` names it; retrying builds it again."""
    if upload_row(tx.db, segment_id) is not None:
        return record_failure(tx, segment_id, error, time.time(), quarantine=True)
    tx.db.execute(
        "INSERT INTO uploads(segment_id, collector, length, sha256, started_at, attempts,"
        " last_error, quarantined) VALUES (?, ?, 0, '', ?, 1, ?, 1)",
        [segment_id, collector, time.time(), error],
    )
    return True


def record_progress(tx: Tx, segment_id: str, offset: int) -> bool:
    """Bytes went through: the next failure starts its backoff from the beginning."""
    return _update(
        tx, segment_id, "offset = ?, attempts = 0, last_error = NULL, next_attempt_at = 0", [offset]
    )


def acknowledge(tx: Tx, segment_id: str, confirmation: str) -> None:
    tx.set_state(segment_id, SegmentState.ACKNOWLEDGED)
    _update(
        tx,
        segment_id,
        "offset = length, acknowledged_at = ?, confirmation = ?, last_error = NULL",
        [time.time(), confirmation],
    )
    tx.log("upload", f"segment {segment_id} uploaded and confirmed by the collector")


def purge_acknowledged(
    tx: Tx, acknowledged_before: float, unverified_before: float | None = None
) -> list[str]:
    """Remove the local content of segments the collector confirmed before the given time
    (before `unverified_before` for those confirmed by their length alone)."""
    unverified_before = acknowledged_before if unverified_before is None else unverified_before
    rows = tx.db.execute(
        "SELECT s.id FROM segments s JOIN uploads u ON u.segment_id = s.id"
        " WHERE s.state = ? AND u.acknowledged_at <= CASE WHEN u.confirmation = ?"
        " THEN min(?, ?) ELSE ? END",
        [
            SegmentState.ACKNOWLEDGED.value,
            UNVERIFIED,
            acknowledged_before,
            unverified_before,
            acknowledged_before,
        ],
    ).fetchall()
    purged = []
    for (segment_id,) in rows:
        for table in ("events", "frames"):
            tx.db.execute(f"DELETE FROM {table} WHERE segment_id = ?", [segment_id])
        tx.db.execute("UPDATE segments SET summary = NULL WHERE id = ?", [segment_id])
        tx.set_state(segment_id, SegmentState.PURGED)
        purged.append(segment_id)
    if purged:
        tx.log("upload", f"removed {len(purged)} uploaded segment(s) from this computer")
    return purged


def forget(tx: Tx, segment_id: str, why: str) -> bool:
    """Drop the segment's upload; if the collector holds any of it, queue its erasure (and
    return True). Called whenever a segment is deleted or its content changes."""
    row = upload_row(tx.db, segment_id)
    if row is None:
        return False
    with _sending_lock:
        event = _sending.get(segment_id)
    if event is not None:
        event.set()
    tx.db.execute("DELETE FROM uploads WHERE segment_id = ?", [segment_id])
    if not row.url:
        return False
    if row.url:
        tx.db.execute(
            "INSERT INTO erasures(segment_id, collector, url, queued_at) VALUES (?, ?, ?, ?)",
            [segment_id, row.collector, row.url, time.time()],
        )
        tx.log("erasure", f"erasure of {segment_id} on the collector queued: {why}")
    return True


def unquarantine(tx: Tx) -> int:
    """Let every refused upload try again (after enrolling anew, or when asked)."""
    cursor = tx.db.execute(
        "UPDATE uploads SET quarantined = 0, attempts = 0, next_attempt_at = 0"
        " WHERE quarantined = 1 OR next_attempt_at > 0"
    )
    tx.db.execute("UPDATE erasures SET next_attempt_at = 0 WHERE confirmed_at IS NULL")
    return int(cursor.rowcount)


def erasure_confirmed(tx: Tx, erasure: Erasure, how: str) -> None:
    tx.db.execute("UPDATE erasures SET confirmed_at = ? WHERE id = ?", [time.time(), erasure.id])
    tx.log("erasure", f"segment {erasure.segment_id} erased from the collector ({how})")


def erasure_failed(tx: Tx, erasure: Erasure, error: str, next_attempt_at: float) -> None:
    tx.db.execute(
        "UPDATE erasures SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
        " WHERE id = ?",
        [error, next_attempt_at, erasure.id],
    )


# -- reads -------------------------------------------------------------------------------
def _row(values: Any) -> UploadRow:
    segment_id, collector, url, length, sha256, offset, attempts, next_at, error, aside = values
    return UploadRow(
        segment_id, collector, url, length, sha256, offset, attempts, next_at, error, bool(aside)
    )


def upload_row(db: Any, segment_id: str) -> UploadRow | None:
    values = db.execute(
        "SELECT segment_id, collector, url, length, sha256, offset, attempts, next_attempt_at,"
        " last_error, quarantined FROM uploads WHERE segment_id = ?",
        [segment_id],
    ).fetchone()
    return None if values is None else _row(values)


def due_segments(db: Any, now: float, collector: str | None = None) -> list[str]:
    """Approved or uploading segments whose next attempt is due, oldest approval first.

    Given the collector, a segment whose earlier upload there still waits for its erasure is
    left out: that collector erases everything it holds for the segment when the old upload is
    deleted, so a new upload finished before the erasure would be erased with it."""
    waiting_erasure = (
        " AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.segment_id = s.id"
        " AND e.collector = ? AND e.confirmed_at IS NULL)"
        if collector is not None
        else ""
    )
    rows = db.execute(
        "SELECT s.id FROM segments s LEFT JOIN uploads u ON u.segment_id = s.id"
        " WHERE s.state IN (?, ?) AND coalesce(u.quarantined, 0) = 0"
        f" AND coalesce(u.next_attempt_at, 0) <= ?{waiting_erasure}"
        " ORDER BY s.approved_at, s.started_at",
        [*_SENDABLE, now, *([] if collector is None else [collector])],
    ).fetchall()
    return [r[0] for r in rows]


def erasure_pending(db: Any, segment_id: str, collector: str) -> bool:
    """Whether an earlier upload of the segment on that collector still waits for erasure."""
    row = db.execute(
        "SELECT 1 FROM erasures WHERE segment_id = ? AND collector = ? AND confirmed_at IS NULL",
        [segment_id, collector],
    ).fetchone()
    return row is not None


def due_erasures(db: Any, now: float, collector: str | None = None) -> list[Erasure]:
    """Erasures whose next attempt is due; given the collector, only those meant for it."""
    only = "" if collector is None else " AND collector = ?"
    rows = db.execute(
        "SELECT id, segment_id, collector, url, attempts FROM erasures"
        f" WHERE confirmed_at IS NULL AND next_attempt_at <= ?{only} ORDER BY id",
        [now, *([] if collector is None else [collector])],
    ).fetchall()
    return [Erasure(*r) for r in rows]


def next_attempt(db: Any, collector: str | None = None) -> float | None:
    """When the earliest waiting upload or erasure may be tried again, if any waits. Given the
    collector in use, erasures meant for another one do not count: they wait for it."""
    only = "" if collector is None else " AND collector = ?"
    value = db.execute(
        "SELECT min(t) FROM (SELECT u.next_attempt_at AS t FROM uploads u JOIN segments s"
        " ON s.id = u.segment_id WHERE s.state IN (?, ?) AND u.quarantined = 0"
        f" UNION ALL SELECT next_attempt_at FROM erasures WHERE confirmed_at IS NULL{only})",
        [*_SENDABLE, *([] if collector is None else [collector])],
    ).fetchone()[0]
    return None if value is None else float(value)


def oldest_acknowledged(db: Any, unverified_shift_s: float = 0.0) -> float | None:
    """The earliest acknowledgement still held locally; one confirmed by its length alone
    counts `unverified_shift_s` later (it is kept that much longer)."""
    value = db.execute(
        "SELECT min(u.acknowledged_at + CASE WHEN u.confirmation = ? THEN ? ELSE 0 END)"
        " FROM uploads u JOIN segments s ON s.id = u.segment_id WHERE s.state = ?",
        [UNVERIFIED, unverified_shift_s, SegmentState.ACKNOWLEDGED.value],
    ).fetchone()[0]
    return None if value is None else float(value)


def summary(db: Any) -> dict[str, Any]:
    """Counts for `praxis status` and the tray: what waits, what went, what failed."""
    counts = dict(
        db.execute(
            "SELECT state, count(*) FROM segments WHERE state IN (?, ?, ?, ?) GROUP BY state",
            [*_SENDABLE, SegmentState.ACKNOWLEDGED.value, SegmentState.PURGED.value],
        ).fetchall()
    )
    waiting_bytes, sent_bytes = db.execute(
        "SELECT coalesce(sum(s.package_bytes), 0),"
        " coalesce(sum(min(u.offset, s.package_bytes)), 0) FROM segments s"
        " LEFT JOIN uploads u ON u.segment_id = s.id AND u.sha256 = s.package_sha256"
        " WHERE s.state IN (?, ?)",
        list(_SENDABLE),
    ).fetchone()
    quarantined = db.execute("SELECT count(*) FROM uploads WHERE quarantined = 1").fetchone()[0]
    last = db.execute(
        "SELECT segment_id, last_error FROM uploads WHERE last_error IS NOT NULL"
        " ORDER BY next_attempt_at DESC LIMIT 1"
    ).fetchone()
    stopped = db.execute("SELECT value FROM meta WHERE key = ?", [STOPPED_META]).fetchone()
    erasures = db.execute(
        "SELECT count(*), max(last_error) FROM erasures WHERE confirmed_at IS NULL"
    ).fetchone()
    return {
        "approved": counts.get(SegmentState.APPROVED.value, 0),
        "uploading": counts.get(SegmentState.UPLOADING.value, 0),
        "acknowledged": counts.get(SegmentState.ACKNOWLEDGED.value, 0),
        "purged": counts.get(SegmentState.PURGED.value, 0),
        "quarantined": quarantined,
        "bytes_pending": int(waiting_bytes) - int(sent_bytes),
        "bytes_total": int(waiting_bytes),
        "bytes_sent": int(sent_bytes),
        "last_error": stopped[0]
        if stopped
        else (None if last is None else f"{last[0]}: {last[1]}"),
        "erasures_pending": erasures[0],
        "erasure_error": erasures[1],
    }
