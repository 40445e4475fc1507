"""Read-only questions about the buffer, answered from a reader connection."""

from __future__ import annotations

import json
from typing import Any

from app.core.buffer.store import Buffer
from app.core.lifecycle import DELETABLE_STATES, REVIEWABLE_STATES, SegmentState


def pending_summary(buffer: Buffer) -> dict[str, Any]:
    marks = ",".join("?" for _ in DELETABLE_STATES)
    states = [s.value for s in DELETABLE_STATES]
    with buffer.reader() as db:
        # A segment still being recorded has no end yet: its last committed event is its end.
        segments, first, last = db.execute(
            "SELECT count(*), min(started_at), max(coalesce(ended_at,"
            " (SELECT max(wall) FROM events WHERE segment_id = segments.id), started_at))"
            f" FROM segments WHERE state IN ({marks})",
            states,
        ).fetchone()
        events = db.execute(
            f"SELECT count(*) FROM events WHERE segment_id IN"
            f" (SELECT id FROM segments WHERE state IN ({marks}))",
            states,
        ).fetchone()[0]
        frames, frame_bytes = db.execute(
            f"SELECT count(*), coalesce(sum(size), 0) FROM frames WHERE segment_id IN"
            f" (SELECT id FROM segments WHERE state IN ({marks}))",
            states,
        ).fetchone()
        review_marks = ",".join("?" for _ in REVIEWABLE_STATES)
        review = db.execute(
            f"SELECT count(*) FROM segments WHERE state IN ({review_marks})",
            [s.value for s in REVIEWABLE_STATES],
        ).fetchone()[0]
        dropped = db.execute(
            "SELECT coalesce(sum(dropped_events), 0), coalesce(sum(dropped_frames), 0)"
            " FROM segments"
        ).fetchone()
    return {
        "pending_segments": segments,
        "review_pending": review,
        "pending_events": events,
        "pending_frames": frames,
        "pending_frame_bytes": frame_bytes,
        "pending_first": first,
        "pending_last": last,
        "dropped_events": dropped[0],
        "dropped_frames": dropped[1],
        "buffer_bytes": buffer.size_bytes(),
    }


def segments(buffer: Buffer) -> list[dict[str, Any]]:
    with buffer.reader() as db:
        rows = list(db.query("SELECT * FROM segments ORDER BY started_at"))
    for row in rows:
        row["screen"] = json.loads(row["screen"] or "[]")
        row["redaction"] = json.loads(row["redaction"] or "{}")
    return rows


def activity(buffer: Buffer, limit: int = 100) -> list[dict[str, Any]]:
    with buffer.reader() as db:
        return list(
            db.query("SELECT ts, kind, message FROM activity ORDER BY id DESC LIMIT ?", [limit])
        )


def open_segments(buffer: Buffer) -> list[dict[str, Any]]:
    """Segments still being recorded (or left open by a crash): id, start, events so far,
    time of the last committed event."""
    with buffer.reader() as db:
        rows = db.execute(
            "SELECT id, started_at, (SELECT count(*) FROM events WHERE segment_id = s.id),"
            " (SELECT max(wall) FROM events WHERE segment_id = s.id)"
            " FROM segments s WHERE state = ? ORDER BY started_at",
            [SegmentState.OPEN.value],
        ).fetchall()
    return [
        {"id": i, "started_at": started, "events": n, "last_event_at": last}
        for i, started, n, last in rows
    ]
