"""Review before upload: what waits for the person, approving it, and deleting parts of it.

Every answer here comes from the segment's package (app.core.package), the same bytes the
uploader will send: the list's sizes, the preview, and the hash frozen at approval.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from app.core.buffer.rechain import chained
from app.core.buffer.store import Buffer
from app.core.buffer.tx import DeletionReport, Tx, summary_aad
from app.core.errors import PraxisError
from app.core.lifecycle import REVIEWABLE_STATES, SegmentState
from app.core.package import Package, build_from
from app.core.settings import Settings

log = logging.getLogger(__name__)


class ReviewError(PraxisError):
    title = "Review"


@dataclass(frozen=True)
class SegmentSummary:
    """One line of the review list."""

    id: str
    session_id: str
    state: SegmentState
    started_at: float
    ended_at: float | None
    apps: list[str]
    actions: int
    frames: int
    events: int
    bytes: int
    redacted: dict[str, int] = field(default_factory=dict)
    frames_dropped_by_redaction: int = 0
    approved_at: float | None = None
    approved_how: str | None = None
    auto_approve_at: float | None = None
    sha256: str = ""  # of the package when the list was made: approving checks against it

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "state": self.state.value,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "apps": self.apps,
            "actions": self.actions,
            "frames": self.frames,
            "events": self.events,
            "bytes": self.bytes,
            "redacted": self.redacted,
            "frames_dropped_by_redaction": self.frames_dropped_by_redaction,
            "approved_at": self.approved_at,
            "approved_how": self.approved_how,
            "auto_approve_at": self.auto_approve_at,
            "sha256": self.sha256,
        }


def size_text(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.0f} kB" if n >= 1000 else f"{n} B"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def receipt_items(receipt: dict[str, Any]) -> list[tuple[str, str]]:
    """The consent-scope receipt in plain words, as (label, text) pairs: the same lines in the
    review window and in `praxis review --approve`."""
    redacted = ", ".join(
        f"{n} × {k.lower().replace('_', ' ')}" for k, n in receipt["redacted"].items()
    )
    apps = ", ".join(receipt["apps"]) or "none"
    if receipt.get("excluded_windows"):
        apps += f" (and {receipt['excluded_windows']} switches to excluded apps: nothing kept)"
    return [
        ("Apps", apps),
        ("Recorded", ", ".join(receipt["modalities"]) or "nothing"),
        (
            "Contents",
            f"{receipt['actions']} actions, {receipt['events']} events,"
            f" {receipt['frames']} screenshots",
        ),
        ("Redacted", redacted or "nothing found in typed text and window titles"),
        (
            "Not kept",
            _plural(receipt["frames_dropped_by_redaction"], "screenshot")
            + " whose redaction could not run",
        ),
        ("To send", f"{size_text(receipt['bytes'])} ({receipt['bytes']:,} bytes)"),
    ]


def _summary_of(package: Package) -> dict[str, Any]:
    receipt = package.receipt
    return {
        "apps": receipt["apps"],
        "actions": receipt["actions"],
        "frames": receipt["frames"],
        "events": receipt["events"],
        "bytes": package.size,
        "sha256": package.sha256,
        "redacted": receipt["redacted"],
        "frames_dropped_by_redaction": receipt["frames_dropped_by_redaction"],
    }


def _build(tx: Tx, buffer: Buffer, segment_id: str) -> Package:
    return build_from(tx.db.conn, buffer.sealer, buffer.device_id, segment_id)


def prepare(buffer: Buffer, built: dict[str, Package] | None = None) -> int:
    """Package every sealed segment and put it up for review (or drop it if it is empty).
    Returns how many segments were prepared; `built` collects their packages, for a caller
    about to show them."""
    with buffer.reader() as db:
        ids = [
            r[0]
            for r in db.execute(
                "SELECT id FROM segments WHERE state = ? OR (state = ? AND summary IS NULL)"
                " ORDER BY started_at",
                [SegmentState.SEALED.value, SegmentState.PENDING_REVIEW.value],
            ).fetchall()
        ]
    for segment_id in ids:
        try:
            _prepare_one(buffer, segment_id, built)
        except Exception as exc:  # one unreadable segment must not hide the others
            log.warning("segment %s cannot be prepared for review: %s", segment_id, exc)
    return len(ids)


def _fingerprint(db: Any, segment_id: str) -> tuple[Any, ...]:
    """What changes whenever a segment's content does (rows are only ever removed or re-stored
    once it is sealed): enough to tell a package built a moment ago is still current."""
    return tuple(
        db.execute(
            "SELECT (SELECT count(*) FROM events WHERE segment_id = ?1),"
            " (SELECT count(*) FROM frames WHERE segment_id = ?1),"
            " (SELECT coalesce(sum(size), 0) FROM frames WHERE segment_id = ?1),"
            " (SELECT coalesce(max(seq), -1) FROM frames WHERE segment_id = ?1)",
            [segment_id],
        ).fetchone()
    )


def _prepare_one(buffer: Buffer, segment_id: str, built: dict[str, Package] | None) -> None:
    # The package is built on a reader, outside the write lock: building takes a while on a
    # long segment, and the recorder's writes must not wait for it.
    with buffer.reader() as db:
        db.execute("BEGIN")  # one snapshot for the package and its fingerprint
        try:
            package = build_from(db.conn, buffer.sealer, buffer.device_id, segment_id)
            seen = _fingerprint(db, segment_id)
        finally:
            db.execute("ROLLBACK")

    def run(tx: Tx) -> None:
        state = tx.segment_state(segment_id)
        if state not in REVIEWABLE_STATES or _fingerprint(tx.db, segment_id) != seen:
            return  # deleted, approved or changed meanwhile: the next round prepares it
        if package.receipt["events"] == 0 and package.receipt["frames"] == 0:
            tx.delete_segments([segment_id])  # nothing to review
            return
        tx.store_summary(segment_id, _summary_of(package))
        if built is not None:
            built[segment_id] = package
        if state == SegmentState.SEALED:
            tx.set_state(segment_id, SegmentState.PENDING_REVIEW)

    buffer.write(run)


def auto_approve_after_s(settings: Settings) -> float | None:
    """Seconds after a segment ends at which it approves itself, or None (review required)."""
    if settings.upload == "auto" or settings.auto_after_hours > 0:
        return (settings.auto_after_hours or 24.0) * 3600.0
    return None


def list_segments(
    buffer: Buffer,
    settings: Settings | None = None,
    *,
    include_approved: bool = True,
    built: dict[str, Package] | None = None,
) -> list[SegmentSummary]:
    """Segments waiting for review (prepared first if needed), then approved ones not yet sent."""
    prepare(buffer, built)
    delay = auto_approve_after_s(settings or Settings())
    states = list(REVIEWABLE_STATES)
    if include_approved:
        states.append(SegmentState.APPROVED)
    marks = ",".join("?" for _ in states)
    with buffer.reader() as db:
        rows = db.execute(
            "SELECT id, session_id, state, started_at, ended_at, summary, approved_at,"
            " approved_how, coalesce(review_since, ended_at, started_at)"
            f" FROM segments WHERE state IN ({marks}) ORDER BY started_at",
            [s.value for s in states],
        ).fetchall()
    out = []
    for segment_id, session_id, state, started, ended, sealed, approved_at, how, since in rows:
        if sealed is None:
            continue  # emptied and dropped meanwhile, or not readable (see prepare)
        try:
            summary = json.loads(buffer.sealer.open(sealed, summary_aad(segment_id)))
        except Exception as exc:
            log.warning("the summary of segment %s cannot be read: %s", segment_id, exc)
            continue
        state = SegmentState(state)
        # The review period runs from the end of the recording, or from when a change sent
        # the segment back to review.
        auto_at = since + delay if delay is not None and state in REVIEWABLE_STATES else None
        out.append(
            SegmentSummary(
                segment_id,
                session_id,
                state,
                started,
                ended,
                summary["apps"],
                summary["actions"],
                summary["frames"],
                summary["events"],
                summary["bytes"],
                summary.get("redacted", {}),
                summary.get("frames_dropped_by_redaction", 0),
                approved_at,
                how,
                auto_at,
                summary.get("sha256", ""),
            )
        )
    return out


def package_for_review(buffer: Buffer, segment_id: str) -> Package:
    """The package as it stands now: what the review window shows and approval would freeze."""
    with buffer.reader() as db:
        row = db.execute("SELECT state FROM segments WHERE id = ?", [segment_id]).fetchone()
        if row is None:
            raise ReviewError(f"there is no segment {segment_id}")
        if SegmentState(row[0]) in (SegmentState.DELETED, SegmentState.PURGED):
            raise ReviewError(f"segment {segment_id} was {row[0]}; nothing is left to show")
        return build_from(db.conn, buffer.sealer, buffer.device_id, segment_id)


def approve(
    buffer: Buffer, segment_id: str, *, expected_sha256: str | None = None, how: str = "employee"
) -> Package:
    """Approve one segment: build its package, freeze its hash. With `expected_sha256` (the
    package the person was shown), approval fails if the content changed since."""

    def run(tx: Tx) -> Package:
        state = tx.segment_state(segment_id)
        if state is None:
            raise ReviewError(f"there is no segment {segment_id}")
        if state == SegmentState.SEALED:
            tx.set_state(segment_id, SegmentState.PENDING_REVIEW)
        elif state != SegmentState.PENDING_REVIEW:
            raise ReviewError(
                f"segment {segment_id} is {state.label}; only segments waiting for review "
                "can be approved"
            )
        package = _build(tx, buffer, segment_id)
        if expected_sha256 is not None and package.sha256 != expected_sha256:
            raise ReviewError(
                "this segment changed after it was shown; look at it again before approving"
            )
        tx.store_summary(segment_id, _summary_of(package))
        tx.approve(segment_id, package.sha256, package.size, how)
        who = "automatically" if how == "automatic" else "by the employee"
        tx.log(
            "review",
            f"segment {segment_id} approved {who}: {package.receipt['frames']} screenshots,"
            f" {package.receipt['actions']} actions, {package.size} bytes,"
            f" sha256 {package.sha256[:16]}…",
        )
        return package

    return buffer.write(run)


def approve_all(
    buffer: Buffer, *, expected: dict[str, str] | None = None, how: str = "employee"
) -> list[Package]:
    """Approve every segment waiting for review, or, with `expected` (segment id → the sha256
    of the package the person was shown), exactly those and only if unchanged. Segments that
    cannot be approved are named in one error after the others were approved."""
    if expected is None:
        expected = {s.id: "" for s in list_segments(buffer, include_approved=False)}
    approved, refused = [], []
    for segment_id, sha in expected.items():
        try:
            approved.append(approve(buffer, segment_id, expected_sha256=sha or None, how=how))
        except ReviewError as exc:
            refused.append(f"{segment_id}: {exc.message}")
    if refused:
        raise ReviewError(
            f"{len(approved)} approved; not approved: " + "; ".join(refused), title="Review"
        )
    return approved


def auto_approve_due(buffer: Buffer, settings: Settings, now: float | None = None) -> list[str]:
    """Approve segments whose review window has passed under an auto-approval policy.
    Deleted segments are never approved: they are tombstones without content."""
    delay = auto_approve_after_s(settings)
    if delay is None:
        return []
    now = time.time() if now is None else now
    approved = []
    for segment in list_segments(buffer, settings, include_approved=False):
        if segment.auto_approve_at is not None and segment.auto_approve_at <= now:
            approve(buffer, segment.id, how="automatic")
            approved.append(segment.id)
    return approved


def next_auto_approval(buffer: Buffer, settings: Settings) -> float | None:
    """When the next segment will approve itself (wall clock), if the policy says so."""
    delay = auto_approve_after_s(settings)
    if delay is None:
        return None
    marks = ",".join("?" for _ in REVIEWABLE_STATES)
    with buffer.reader() as db:
        first = db.execute(
            "SELECT min(coalesce(review_since, ended_at, started_at)) FROM segments"
            f" WHERE state IN ({marks})",
            [s.value for s in REVIEWABLE_STATES],
        ).fetchone()[0]
    return None if first is None else float(first) + delay


def delete_segment(buffer: Buffer, segment_id: str) -> DeletionReport:
    """The whole segment; one that reached the collector meanwhile is erased there too."""
    return _delete(
        buffer, segment_id, lambda tx: tx.delete_segments([segment_id]), "segment", whole=True
    )


def delete_frames(buffer: Buffer, segment_id: str, frame_indices: list[int]) -> DeletionReport:
    """Delete frames by their 1-based index in the segment's package."""

    def run(tx: Tx) -> DeletionReport:
        frames = _frame_seqs(tx, segment_id)
        wanted = {frames[i - 1] for i in frame_indices if 1 <= i <= len(frames)}
        if not wanted:
            raise ReviewError("those screenshots are not in this segment")
        return tx.delete_in_segment(segment_id, frame_seqs=wanted)

    return _delete(buffer, segment_id, run, "screenshots")


def delete_frame_span(buffer: Buffer, segment_id: str, first: int, last: int) -> DeletionReport:
    """Delete screenshots `first`..`last` (1-based, in the package) and everything recorded
    while they were the latest: every row from the first one up to the screenshot after the
    last (or the end). Chosen by stored order, so nothing hinges on rounded times."""
    first, last = sorted((first, last))

    def run(tx: Tx) -> DeletionReport:
        frames = _frame_seqs(tx, segment_id)
        if not 1 <= first <= last <= len(frames):
            raise ReviewError("those screenshots are not in this segment")
        end = frames[last] if last < len(frames) else None
        return tx.delete_in_segment(segment_id, seq_span=(frames[first - 1], end))

    return _delete(buffer, segment_id, run, f"screenshots {first}–{last}")


def delete_range(buffer: Buffer, segment_id: str, start_t: float, end_t: float) -> DeletionReport:
    """Delete everything between two times, in seconds from the segment's start."""
    first, last = sorted((start_t, end_t))
    return _delete(
        buffer,
        segment_id,
        lambda tx: tx.delete_in_segment(segment_id, span=(first, last)),
        f"{first:.1f}–{last:.1f} s",
    )


def _frame_seqs(tx: Tx, segment_id: str) -> list[int]:
    """The stored sequence numbers of the frames a package contains, in package order."""
    rows = tx.db.execute(
        "SELECT seq, kind, base_seq FROM frames WHERE segment_id = ? ORDER BY seq", [segment_id]
    ).fetchall()
    return chained((int(seq), str(kind), base) for seq, kind, base in rows)


def _delete(
    buffer: Buffer, segment_id: str, op: Any, what: str, *, whole: bool = False
) -> DeletionReport:
    def run(tx: Tx) -> DeletionReport:
        state = tx.segment_state(segment_id)
        uploaded = state in (SegmentState.ACKNOWLEDGED, SegmentState.PURGED)
        if state is None or state == SegmentState.DELETED or (uploaded and not whole):
            raise ReviewError(f"there is no segment {segment_id} to delete from")
        if state == SegmentState.ACKNOWLEDGED and not whole:
            raise ReviewError(f"segment {segment_id} was already uploaded")
        if state == SegmentState.OPEN:
            raise ReviewError(
                f"segment {segment_id} is being recorded; pause recording (which seals it) "
                "and delete it then, or use `praxis delete --last`"
            )
        report: DeletionReport = op(tx)
        tx.log("delete", f"review: deleted {what} of {segment_id}: {report.describe()}")
        return report

    report = buffer.write(run)
    buffer.checkpoint()
    return report  # the next listing prepares the summary of what is left
