"""Write operations on the buffer, run inside the writer's transaction.

Sealing happens here, at the last step before SQLite, so plaintext never waits in a queue
longer than it must and every sealed value is bound to its exact row and column.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from app.core.buffer.crypto import Sealer, aad_for
from app.core.lifecycle import DELETABLE_STATES, SegmentState
from app.core.model import EventRecord, FrameRecord


def event_aad(segment_id: str, seq: int) -> bytes:
    return aad_for("events", f"{segment_id}/{seq}", "data")


def frame_aad(segment_id: str, seq: int) -> bytes:
    return aad_for("frames", f"{segment_id}/{seq}", "blob")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass
class DeletionReport:
    """What a deletion removed, for the activity log and the person who asked."""

    segments: int = 0
    events: int = 0
    frames: int = 0
    first_wall: float | None = None
    last_wall: float | None = None
    segment_ids: list[str] = field(default_factory=list)

    def add_span(self, first: float | None, last: float | None) -> None:
        if first is not None:
            self.first_wall = first if self.first_wall is None else min(self.first_wall, first)
        if last is not None:
            self.last_wall = last if self.last_wall is None else max(self.last_wall, last)

    def describe(self) -> str:
        if not (self.events or self.frames or self.segments):
            return "nothing to delete"
        span = ""
        if self.first_wall is not None and self.last_wall is not None:
            fmt = "%Y-%m-%d %H:%M:%S"
            span = (
                f" recorded {time.strftime(fmt, time.localtime(self.first_wall))}"
                f" – {time.strftime(fmt, time.localtime(self.last_wall))}"
            )
        return (
            f"deleted {_count(self.events, 'event')} and {_count(self.frames, 'screenshot')}{span}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "segments": self.segments,
            "events": self.events,
            "frames": self.frames,
            "first_wall": self.first_wall,
            "last_wall": self.last_wall,
            "segment_ids": self.segment_ids,
        }


class Tx:
    """The write vocabulary of the buffer. All methods run in the caller's open transaction."""

    def __init__(self, db: sqlite_utils.Database, sealer: Sealer) -> None:
        self.db = db
        self._sealer = sealer

    # -- recording -----------------------------------------------------------------
    def add_session(self, session_id: str, started_at: float, app_version: str) -> None:
        self.db.execute(
            "INSERT INTO sessions(id, started_at, app_version) VALUES (?, ?, ?)",
            [session_id, started_at, app_version],
        )

    def end_session(self, session_id: str, ended_at: float) -> None:
        self.db.execute("UPDATE sessions SET ended_at = ? WHERE id = ?", [ended_at, session_id])

    def open_segment(
        self, segment_id: str, session_id: str, started_at: float, screen: list[dict[str, int]]
    ) -> None:
        self.db.execute(
            "INSERT INTO segments(id, session_id, state, started_at, screen, dropped_events,"
            " dropped_frames, redaction) VALUES (?, ?, ?, ?, ?, 0, 0, '{}')",
            [segment_id, session_id, SegmentState.OPEN.value, started_at, json.dumps(screen)],
        )

    def add_events(self, records: list[EventRecord]) -> None:
        seal = self._sealer.seal
        rows = [
            (
                r.segment_id,
                r.seq,
                r.t,
                r.wall,
                r.type,
                seal(
                    json.dumps(r.data, separators=(",", ":")).encode(),
                    event_aad(r.segment_id, r.seq),
                ),
            )
            for r in records
        ]
        self.db.conn.executemany(
            "INSERT INTO events(segment_id, seq, t, wall, type, data) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def add_frame(self, r: FrameRecord) -> None:
        blob = self._sealer.seal(r.payload, frame_aad(r.segment_id, r.seq))
        self.db.conn.execute(
            "INSERT INTO frames(segment_id, seq, t, wall, kind, base_seq, w, h, codec, trigger,"
            " lag_ms, size, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                r.segment_id,
                r.seq,
                r.t,
                r.wall,
                r.kind,
                r.base_seq,
                r.w,
                r.h,
                r.codec,
                r.trigger,
                r.lag_ms,
                len(r.payload),
                blob,
            ],
        )

    def seal_segment(
        self,
        segment_id: str,
        ended_at: float,
        reason: str,
        dropped_events: int,
        dropped_frames: int,
        redaction: dict[str, int],
    ) -> None:
        self.db.execute(
            "UPDATE segments SET state = ?, ended_at = ?, sealed_reason = ?, dropped_events = ?,"
            " dropped_frames = ?, redaction = ? WHERE id = ? AND state = ?",
            [
                SegmentState.SEALED.value,
                ended_at,
                reason,
                dropped_events,
                dropped_frames,
                json.dumps(redaction, sort_keys=True),
                segment_id,
                SegmentState.OPEN.value,
            ],
        )

    def recover_open_segments(self) -> int:
        """Seal segments left open by a process that died; their committed rows are kept."""
        rows = self.db.execute(
            "SELECT id FROM segments WHERE state = ?", [SegmentState.OPEN.value]
        ).fetchall()
        for (segment_id,) in rows:
            last = self.db.execute(
                "SELECT max(w) FROM (SELECT max(wall) AS w FROM events WHERE segment_id = ?1"
                " UNION ALL SELECT max(wall) FROM frames WHERE segment_id = ?1)",
                [segment_id],
            ).fetchone()[0]
            self.db.execute(
                "UPDATE segments SET state = ?, sealed_reason = 'recovered after an unclean exit',"
                " ended_at = coalesce(?, started_at) WHERE id = ?",
                [SegmentState.SEALED.value, last, segment_id],
            )
        return len(rows)

    def log(self, kind: str, message: str, ts: float | None = None) -> None:
        self.db.execute(
            "INSERT INTO activity(ts, kind, message) VALUES (?, ?, ?)",
            [time.time() if ts is None else ts, kind, message],
        )

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key = ?", [key])
        else:
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    # -- consent -------------------------------------------------------------------
    def accept_consent(self, version: int, accepted_at: float) -> None:
        self.set_meta("consent_version", str(version))
        self.set_meta("consent_accepted_at", repr(accepted_at))
        self.log("consent", f"consent version {version} accepted")

    def withdraw_consent(self) -> DeletionReport:
        """Forget the consent and delete everything not yet uploaded, in one transaction."""
        self.set_meta("consent_version", None)
        self.set_meta("consent_accepted_at", None)
        report = self.delete_pending()
        self.log("consent", f"consent withdrawn; {report.describe()}")
        return report

    # -- deleting ------------------------------------------------------------------
    def _deletable(self, where: str = "1", params: list[Any] | None = None) -> list[str]:
        marks = ",".join("?" for _ in DELETABLE_STATES)
        rows = self.db.execute(
            f"SELECT id FROM segments WHERE state IN ({marks}) AND ({where}) ORDER BY started_at",
            [s.value for s in DELETABLE_STATES] + (params or []),
        ).fetchall()
        return [r[0] for r in rows]

    def _delete_from_seq(self, segment_id: str, first_seq: int, report: DeletionReport) -> None:
        for table in ("events", "frames"):
            count, first, last = self.db.execute(
                f"SELECT count(*), min(wall), max(wall) FROM {table}"
                " WHERE segment_id = ? AND seq >= ?",
                [segment_id, first_seq],
            ).fetchone()
            self.db.execute(
                f"DELETE FROM {table} WHERE segment_id = ? AND seq >= ?", [segment_id, first_seq]
            )
            report.add_span(first, last)
            if table == "events":
                report.events += count
            else:
                report.frames += count
        remaining = self.db.execute(
            "SELECT (SELECT count(*) FROM events WHERE segment_id = ?1)"
            " + (SELECT count(*) FROM frames WHERE segment_id = ?1)",
            [segment_id],
        ).fetchone()[0]
        if remaining == 0 and first_seq == 0:
            self.db.execute("DELETE FROM segments WHERE id = ?", [segment_id])
            report.segments += 1
            report.segment_ids.append(segment_id)

    def delete_since(self, wall: float) -> DeletionReport:
        """Delete everything recorded at or after `wall` that has not been uploaded.

        Cuts each segment at its first row at or after `wall` and drops every later row,
        so a kept delta frame never loses the frame it is based on.
        """
        report = DeletionReport()
        for segment_id in self._deletable("coalesce(ended_at, ?) >= ?", [wall, wall]):
            first_seq = self.db.execute(
                "SELECT min(s) FROM (SELECT min(seq) AS s FROM events WHERE segment_id = ?1"
                " AND wall >= ?2 UNION ALL SELECT min(seq) FROM frames WHERE segment_id = ?1"
                " AND wall >= ?2)",
                [segment_id, wall],
            ).fetchone()[0]
            if first_seq is None:
                continue
            keep = self.db.execute(
                "SELECT (SELECT count(*) FROM events WHERE segment_id = ?1 AND seq < ?2)"
                " + (SELECT count(*) FROM frames WHERE segment_id = ?1 AND seq < ?2)",
                [segment_id, first_seq],
            ).fetchone()[0]
            self._delete_from_seq(segment_id, 0 if keep == 0 else first_seq, report)
        return report

    def delete_segments(self, segment_ids: list[str]) -> DeletionReport:
        report = DeletionReport()
        for segment_id in segment_ids:
            self._delete_from_seq(segment_id, 0, report)
            if segment_id not in report.segment_ids:  # an empty segment row
                self.db.execute("DELETE FROM segments WHERE id = ?", [segment_id])
                report.segments += 1
                report.segment_ids.append(segment_id)
        return report

    def delete_session(self, session_id: str) -> DeletionReport:
        return self.delete_segments(self._deletable("session_id = ?", [session_id]))

    def delete_pending(self) -> DeletionReport:
        return self.delete_segments(self._deletable())
