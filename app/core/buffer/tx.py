"""Write operations on the buffer, run inside the writer's transaction.

Sealing happens here, at the last step before SQLite, so plaintext never waits in a queue
longer than it must and every sealed value is bound to its exact row and column.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from app.core.buffer import uploads
from app.core.buffer.crypto import Sealer, aad_for
from app.core.lifecycle import (
    DELETABLE_STATES,
    ERASABLE_STATES,
    SegmentState,
    check_segment_transition,
)
from app.core.model import EventRecord, FrameRecord


def event_aad(segment_id: str, seq: int) -> bytes:
    return aad_for("events", f"{segment_id}/{seq}", "data")


def frame_aad(segment_id: str, seq: int) -> bytes:
    return aad_for("frames", f"{segment_id}/{seq}", "blob")


def summary_aad(segment_id: str) -> bytes:
    return aad_for("segments", segment_id, "summary")


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
    erasures: int = 0  # uploaded segments whose erasure on the collector was queued

    def add_span(self, first: float | None, last: float | None) -> None:
        if first is not None:
            self.first_wall = first if self.first_wall is None else min(self.first_wall, first)
        if last is not None:
            self.last_wall = last if self.last_wall is None else max(self.last_wall, last)

    def describe(self) -> str:
        if not (self.events or self.frames or self.segments or self.erasures):
            return "nothing to delete"
        span = ""
        if self.first_wall is not None and self.last_wall is not None:
            fmt = "%Y-%m-%d %H:%M:%S"
            span = (
                f" recorded {time.strftime(fmt, time.localtime(self.first_wall))}"
                f" – {time.strftime(fmt, time.localtime(self.last_wall))}"
            )
        text = (
            f"deleted {_count(self.events, 'event')} and {_count(self.frames, 'screenshot')}{span}"
        )
        if self.erasures:
            text += f"; {_count(self.erasures, 'uploaded segment')} to be erased from the collector"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "segments": self.segments,
            "events": self.events,
            "frames": self.frames,
            "first_wall": self.first_wall,
            "last_wall": self.last_wall,
            "segment_ids": self.segment_ids,
            "erasures": self.erasures,
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
    def _deletable(
        self,
        where: str = "1",
        params: list[Any] | None = None,
        states: tuple[SegmentState, ...] = DELETABLE_STATES,
    ) -> list[str]:
        marks = ",".join("?" for _ in states)
        rows = self.db.execute(
            f"SELECT id FROM segments WHERE state IN ({marks}) AND ({where}) ORDER BY started_at",
            [s.value for s in states] + (params or []),
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
            report.erasures += self._tombstone(segment_id)
            report.segments += 1
            report.segment_ids.append(segment_id)
        elif count or report.events or report.frames:
            self.content_changed(segment_id)

    def _tombstone(self, segment_id: str) -> bool:
        """Keep the segment's row, without content, so its history stays visible and nothing
        (an auto-approval, an upload) can act on it again. Whatever reached the collector is
        queued for erasure there."""
        erased = uploads.forget(self, segment_id, "it was deleted")
        self.set_state(segment_id, SegmentState.DELETED)
        self.db.execute(
            "UPDATE segments SET summary = NULL, package_sha256 = NULL, package_bytes = NULL"
            " WHERE id = ?",
            [segment_id],
        )
        return erased

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
                report.erasures += self._tombstone(segment_id)
                report.segments += 1
                report.segment_ids.append(segment_id)
        return report

    def delete_session(self, session_id: str) -> DeletionReport:
        """The whole session, uploaded segments included (their erasure is queued)."""
        return self.delete_segments(
            self._deletable("session_id = ?", [session_id], ERASABLE_STATES)
        )

    def delete_pending(self) -> DeletionReport:
        return self.delete_segments(self._deletable())

    # -- review and lifecycle ------------------------------------------------------
    def segment_state(self, segment_id: str) -> SegmentState | None:
        row = self.db.execute("SELECT state FROM segments WHERE id = ?", [segment_id]).fetchone()
        return None if row is None else SegmentState(row[0])

    def set_state(self, segment_id: str, target: SegmentState) -> SegmentState:
        """Move a segment along its lifecycle; a move the lifecycle forbids raises."""
        current = self.segment_state(segment_id)
        if current is None:
            raise KeyError(segment_id)
        check_segment_transition(current, target)
        self.db.execute(
            "UPDATE segments SET state = ?, state_changed_at = ? WHERE id = ?",
            [target.value, time.time(), segment_id],
        )
        return current

    def store_summary(self, segment_id: str, summary: dict[str, Any]) -> None:
        sealed = self._sealer.seal(
            json.dumps(summary, sort_keys=True).encode(), summary_aad(segment_id)
        )
        self.db.execute("UPDATE segments SET summary = ? WHERE id = ?", [sealed, segment_id])

    def approve(self, segment_id: str, sha256: str, size: int, how: str) -> None:
        self.set_state(segment_id, SegmentState.APPROVED)
        self.db.execute(
            "UPDATE segments SET package_sha256 = ?, package_bytes = ?, approved_at = ?,"
            " approved_how = ? WHERE id = ?",
            [sha256, size, time.time(), how, segment_id],
        )

    def content_changed(self, segment_id: str, why: str = "part of it was deleted") -> None:
        """The segment's package is no longer what it was: forget its summary, and send an
        approved segment back to review, so nothing leaves that the person has not seen."""
        self.db.execute("UPDATE segments SET summary = NULL WHERE id = ?", [segment_id])
        state = self.segment_state(segment_id)
        if state in (SegmentState.APPROVED, SegmentState.UPLOADING):
            uploads.forget(self, segment_id, "its content changed")
            self.set_state(segment_id, SegmentState.PENDING_REVIEW)
            self.db.execute(
                "UPDATE segments SET package_sha256 = NULL, package_bytes = NULL,"
                " approved_at = NULL, approved_how = NULL, review_since = ? WHERE id = ?",
                [time.time(), segment_id],  # a review period under auto-approval starts again
            )
            self.log("review", f"segment {segment_id} needs review again: {why}")

    def delete_in_segment(
        self,
        segment_id: str,
        *,
        frame_seqs: Iterable[int] = (),
        span: tuple[float, float] | None = None,
        seq_span: tuple[int, int | None] | None = None,
    ) -> DeletionReport:
        """Delete single frames, everything between two times (segment seconds), or every row
        from one sequence number up to (not including) another, from one segment that has not
        been uploaded. Frames that depended on deleted ones are re-stored, so every kept frame
        still shows what it showed."""
        from app.core.buffer.rechain import delete_frames

        report = DeletionReport()
        if segment_id not in self._deletable("id = ?", [segment_id]):
            raise KeyError(segment_id)
        seqs = set(frame_seqs)
        where: list[tuple[str, list[Any]]] = []
        if span is not None:
            where.append(("t BETWEEN ? AND ?", [span[0], span[1]]))
        if seq_span is not None:
            first_seq, end_seq = seq_span
            end = end_seq if end_seq is not None else 2**62
            where.append(("seq >= ? AND seq < ?", [first_seq, end]))
        for condition, params in where:
            count, w0, w1 = self.db.execute(
                "SELECT count(*), min(wall), max(wall) FROM events"
                f" WHERE segment_id = ? AND {condition}",
                [segment_id, *params],
            ).fetchone()
            self.db.execute(
                f"DELETE FROM events WHERE segment_id = ? AND {condition}", [segment_id, *params]
            )
            report.events += count
            report.add_span(w0, w1)
            seqs |= {
                int(r[0])
                for r in self.db.execute(
                    f"SELECT seq FROM frames WHERE segment_id = ? AND {condition}",
                    [segment_id, *params],
                ).fetchall()
            }
        if seqs:
            marks = ",".join("?" for _ in seqs)
            w0, w1 = self.db.execute(
                "SELECT min(wall), max(wall) FROM frames"
                f" WHERE segment_id = ? AND seq IN ({marks})",
                [segment_id, *seqs],
            ).fetchone()
            report.add_span(w0, w1)
            report.frames += delete_frames(self.db.conn, self._sealer, segment_id, seqs)
        remaining = self.db.execute(
            "SELECT (SELECT count(*) FROM events WHERE segment_id = ?1)"
            " + (SELECT count(*) FROM frames WHERE segment_id = ?1)",
            [segment_id],
        ).fetchone()[0]
        if remaining == 0:
            report.erasures += self._tombstone(segment_id)
            report.segments += 1
            report.segment_ids.append(segment_id)
        elif report.events or report.frames:
            self.content_changed(segment_id)
        return report
