"""Review before upload: packages, approval, the egress gate, deletion inside a segment."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from app.core import review
from app.core.buffer.store import Buffer
from app.core.egress import EgressRefused, release_for_upload
from app.core.frames import FrameEncoder
from app.core.lifecycle import LifecycleError, SegmentState
from app.core.model import EventRecord, FrameRecord
from app.core.package import PackageReader, build_package
from app.core.queries import activity, pending_summary, segments
from app.core.settings import Settings

W, H = 192, 96


def screens(count: int, seed: int = 1) -> list[np.ndarray]:
    """Successive screens that differ by a few tiles, like typing and clicking do."""
    rng = np.random.default_rng(seed)
    current = np.full((H, W, 3), 230, dtype=np.uint8)
    out = []
    for i in range(count):
        current = current.copy()
        x, y = int(rng.integers(0, W - 40)), int(rng.integers(0, H - 12))
        current[y : y + 10, x : x + 36] = rng.integers(0, 255, 3, dtype=np.uint8)
        if i % 7 == 3:
            current[:, :] = rng.integers(0, 255, 3, dtype=np.uint8)  # a new window: keyframe
        out.append(current)
    return out


def record_segment(
    buffer: Buffer,
    segment_id: str = "seg_a",
    *,
    frames: int = 12,
    started: float = 1000.0,
    keyframe_every: int = 60,
    offset: float = 0.0,
) -> list[np.ndarray]:
    """A sealed segment: a window switch, then per frame a click (frame first, like the
    recorder stores it) and a typed word."""
    pixels = screens(frames)
    encoder = FrameEncoder(keyframe_every=keyframe_every)

    def op(tx):  # type: ignore[no-untyped-def]
        session = f"ses_{segment_id}"
        tx.add_session(session, started, "9.9")
        tx.open_segment(
            segment_id, session, started, [{"left": 0, "top": 0, "width": W, "height": H}]
        )
        seq = 0
        tx.add_events(
            [
                EventRecord(
                    segment_id,
                    seq,
                    0.0,
                    started,
                    "window",
                    {"app": "gedit", "title": "notes", "x": 0, "y": 0, "w": W, "h": H},
                )
            ]
        )
        for i, screen in enumerate(pixels):
            t = 1.0 + i + offset  # with an offset, times like a real clock's, not round
            seq += 1
            enc = encoder.encode(screen, seq)
            assert enc is not None
            tx.add_frame(
                FrameRecord(
                    segment_id, seq, t, started + t, enc.kind, enc.base_seq, W, H, "webp",
                    "mouse_down", 3.0, enc.payload,
                )
            )  # fmt: skip
            events = []
            for action in ("down", "up"):
                seq += 1
                events.append(
                    EventRecord(
                        segment_id, seq, t, started + t, "mouse_button",
                        {"action": action, "button": "left", "x": 10 + i, "y": 20},
                    )
                )  # fmt: skip
            seq += 1
            events.append(
                EventRecord(
                    segment_id, seq, t + 0.3, started + t + 0.3, "text",
                    {"text": f"word{i} [EMAIL]", "redactions": ["EMAIL"]},
                )
            )  # fmt: skip
            tx.add_events(events)
        tx.seal_segment(
            segment_id,
            started + frames + 1,
            "stopped",
            0,
            2,
            {"EMAIL": frames, "FRAME_REDACTION_FAILED": 1},
        )

    buffer.write(op)
    return pixels


def state_of(buffer: Buffer, segment_id: str) -> str:
    return {s["id"]: s["state"] for s in segments(buffer)}[segment_id]


@pytest.fixture
def buffer(data_dir: Path) -> Buffer:
    return Buffer(data_dir)


def test_package_is_deterministic_and_states_its_own_size(buffer: Buffer) -> None:
    record_segment(buffer)
    first, second = build_package(buffer, "seg_a"), build_package(buffer, "seg_a")
    assert first.data == second.data
    assert first.sha256 == hashlib.sha256(first.data).hexdigest()
    assert first.receipt["bytes"] == len(first.data)
    names = zipfile.ZipFile(io.BytesIO(first.data)).namelist()
    assert names[:3] == ["manifest.json", "events.jsonl", "actions.jsonl"]
    assert names[3:] == [f"frames/{i:06d}.pxf" for i in range(1, 13)]


def test_receipt_names_apps_modalities_redactions_and_drops(buffer: Buffer) -> None:
    record_segment(buffer)
    receipt = build_package(buffer, "seg_a").receipt
    assert receipt["apps"] == ["gedit"]
    assert receipt["modalities"] == ["typed text", "mouse", "window titles", "screenshots"]
    assert receipt["redacted"] == {"EMAIL": 12}
    assert receipt["frames_dropped_by_redaction"] == 1
    assert receipt["frames_dropped_busy"] == 1
    assert receipt["frames"] == 12 and receipt["events"] == 1 + 12 * 3


def test_reader_shows_every_frame_exactly_stepping_both_ways(buffer: Buffer) -> None:
    pixels = record_segment(buffer, frames=30, keyframe_every=10)
    reader = PackageReader(build_package(buffer, "seg_a").data, cache_bytes=4 * W * H * 3)
    order = list(range(1, 31)) + list(range(30, 0, -1)) + [17, 3, 29, 1, 12]
    for index in order:
        assert np.array_equal(reader.frame(index), pixels[index - 1]), index
    with pytest.raises(IndexError):
        reader.frame(31)


def test_prepare_puts_sealed_segments_up_for_review_and_lists_them(buffer: Buffer) -> None:
    record_segment(buffer)
    [item] = review.list_segments(buffer)
    assert item.state == SegmentState.PENDING_REVIEW
    assert (item.apps, item.frames, item.events) == (["gedit"], 12, 37)
    assert item.bytes == build_package(buffer, "seg_a").size
    assert item.auto_approve_at is None  # the default policy waits for the person
    assert pending_summary(buffer)["review_pending"] == 1


def test_gate_refuses_a_segment_that_is_not_approved(buffer: Buffer) -> None:
    record_segment(buffer)
    review.prepare(buffer)
    with pytest.raises(EgressRefused, match="not approved"):
        release_for_upload(buffer, "seg_a")
    with pytest.raises(EgressRefused, match="no such segment"):
        release_for_upload(buffer, "seg_nope")
    log = [a["message"] for a in activity(buffer) if a["kind"] == "egress"]
    assert len(log) == 2 and all("refused" in m for m in log)


def test_gate_releases_exactly_the_approved_bytes(buffer: Buffer) -> None:
    record_segment(buffer)
    shown = review.package_for_review(buffer, "seg_a")
    approved = review.approve(buffer, "seg_a", expected_sha256=shown.sha256)
    assert approved.sha256 == shown.sha256
    assert state_of(buffer, "seg_a") == "approved"
    released = release_for_upload(buffer, "seg_a")
    assert released.data == shown.data


def test_gate_refuses_content_changed_behind_its_back_and_sends_it_back_to_review(
    buffer: Buffer,
) -> None:
    record_segment(buffer)
    review.approve(buffer, "seg_a")
    with buffer.reader() as db:  # a change that did not go through review
        db.execute("DELETE FROM events WHERE segment_id = 'seg_a' AND type = 'text'")
    with pytest.raises(EgressRefused, match="changed after it was approved"):
        release_for_upload(buffer, "seg_a")
    assert state_of(buffer, "seg_a") == "pending_review"
    with pytest.raises(EgressRefused, match="not approved"):
        release_for_upload(buffer, "seg_a")
    # Approving again freezes the new content, which may then leave.
    again = review.approve(buffer, "seg_a")
    assert release_for_upload(buffer, "seg_a").sha256 == again.sha256


def test_gate_refuses_a_deleted_segment_and_deletion_keeps_a_tombstone(buffer: Buffer) -> None:
    record_segment(buffer)
    review.approve(buffer, "seg_a")
    report = review.delete_segment(buffer, "seg_a")
    assert (report.segments, report.frames) == (1, 12)
    assert state_of(buffer, "seg_a") == "deleted"
    with pytest.raises(EgressRefused, match="deleted"):
        release_for_upload(buffer, "seg_a")
    with buffer.reader() as db:
        assert db.execute("SELECT count(*) FROM frames").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert review.list_segments(buffer) == []


def test_approval_of_what_was_shown_fails_if_it_changed_since(buffer: Buffer) -> None:
    record_segment(buffer)
    shown = review.package_for_review(buffer, "seg_a")
    review.delete_frames(buffer, "seg_a", [2])
    with pytest.raises(review.ReviewError, match="changed after it was shown"):
        review.approve(buffer, "seg_a", expected_sha256=shown.sha256)


def test_deleting_frames_rebuilds_the_chain_package_and_hash(buffer: Buffer) -> None:
    pixels = record_segment(buffer, frames=20, keyframe_every=6)
    before = build_package(buffer, "seg_a")
    review.approve(buffer, "seg_a")
    report = review.delete_frames(buffer, "seg_a", [2, 3, 9, 20])
    assert report.frames == 4
    after = review.package_for_review(buffer, "seg_a")
    assert after.sha256 != before.sha256
    assert state_of(buffer, "seg_a") == "pending_review"  # changed after approval
    reader = PackageReader(after.data)
    kept = [p for i, p in enumerate(pixels, start=1) if i not in (2, 3, 9, 20)]
    assert reader.frame_count == len(kept) == 16
    for index in range(reader.frame_count, 0, -1):
        assert np.array_equal(reader.frame(index), kept[index - 1]), index
    assert any("needs review again" in a["message"] for a in activity(buffer))
    [item] = review.list_segments(buffer)
    assert item.frames == 16 and item.bytes == after.size


def test_deleting_a_time_range_removes_events_and_frames_inside_it(buffer: Buffer) -> None:
    pixels = record_segment(buffer, frames=10)
    report = review.delete_range(buffer, "seg_a", 3.0, 5.5)  # frames at t = 3, 4, 5
    assert report.frames == 3 and report.events == 9
    reader = PackageReader(review.package_for_review(buffer, "seg_a").data)
    assert all(not 3.0 <= item["t"] <= 5.5 for item in reader.items)
    kept = pixels[:2] + pixels[5:]
    assert [np.array_equal(reader.frame(i), kept[i - 1]) for i in range(1, 8)] == [True] * 7


def test_deleting_everything_in_a_segment_deletes_the_segment(buffer: Buffer) -> None:
    record_segment(buffer, frames=3)
    report = review.delete_range(buffer, "seg_a", 0.0, 100.0)
    assert report.segments == 1
    assert state_of(buffer, "seg_a") == "deleted"


def test_auto_approval_waits_for_its_time_and_skips_deleted_segments(buffer: Buffer) -> None:
    settings = Settings(upload="auto", auto_after_hours=2.0)
    record_segment(buffer, "seg_a", started=1000.0)  # ends at 1013
    record_segment(buffer, "seg_b", started=5000.0)  # ends at 5013
    record_segment(buffer, "seg_c", started=6000.0)
    review.delete_segment(buffer, "seg_c")
    assert review.next_auto_approval(buffer, settings) == 1013.0 + 7200
    assert review.auto_approve_due(buffer, settings, now=1013.0 + 7199) == []
    assert review.auto_approve_due(buffer, settings, now=1013.0 + 7200) == ["seg_a"]
    assert review.next_auto_approval(buffer, settings) == 5013.0 + 7200
    assert review.auto_approve_due(buffer, settings, now=10**9) == ["seg_b"]
    states = {s["id"]: (s["state"], s["approved_how"]) for s in segments(buffer)}
    assert states == {
        "seg_a": ("approved", "automatic"),
        "seg_b": ("approved", "automatic"),
        "seg_c": ("deleted", None),
    }
    assert review.next_auto_approval(buffer, settings) is None


def test_review_policy_by_default_never_approves_by_itself(buffer: Buffer) -> None:
    record_segment(buffer)
    assert review.auto_approve_due(buffer, Settings(), now=10**12) == []
    assert review.next_auto_approval(buffer, Settings()) is None


def test_lifecycle_refuses_moves_it_does_not_allow(buffer: Buffer) -> None:
    record_segment(buffer)
    review.delete_segment(buffer, "seg_a")
    with pytest.raises(review.ReviewError):
        review.approve(buffer, "seg_a")
    with pytest.raises(LifecycleError):
        buffer.write(lambda tx: tx.set_state("seg_a", SegmentState.APPROVED))


def test_an_empty_sealed_segment_is_dropped_not_listed(buffer: Buffer) -> None:
    def op(tx):  # type: ignore[no-untyped-def]
        tx.add_session("ses_e", 1.0, "9.9")
        tx.open_segment("seg_e", "ses_e", 1.0, [])
        tx.seal_segment("seg_e", 2.0, "paused", 0, 0, {})

    buffer.write(op)
    assert review.list_segments(buffer) == []
    assert state_of(buffer, "seg_e") == "deleted"


def test_summary_in_the_buffer_is_sealed(buffer: Buffer) -> None:
    record_segment(buffer)
    review.prepare(buffer)
    raw = b"".join(p.read_bytes() for p in buffer.data_dir.glob("buffer.db*"))
    assert b"gedit" not in raw
    assert json.dumps(["gedit"]).encode() not in raw


def test_deleting_screenshots_by_number_is_exact_whatever_the_clock_said(buffer: Buffer) -> None:
    pixels = record_segment(buffer, frames=6, offset=0.34567891)  # rounds up in the package
    report = review.delete_frame_span(buffer, "seg_a", 2, 3)
    assert (report.frames, report.events) == (2, 6)
    reader = PackageReader(review.package_for_review(buffer, "seg_a").data)
    texts = [a["text"] for a in reader.actions if a["type"] == "type"]
    assert texts == ["word0 [EMAIL]", "word3 [EMAIL]", "word4 [EMAIL]", "word5 [EMAIL]"]
    kept = [pixels[0], *pixels[3:]]
    assert all(np.array_equal(reader.frame(i), kept[i - 1]) for i in range(1, 5))
    review.delete_frame_span(buffer, "seg_a", 4, 4)  # the last one: up to the end
    reader = PackageReader(review.package_for_review(buffer, "seg_a").data)
    assert reader.frame_count == 3
    assert [a["text"] for a in reader.actions if a["type"] == "type"][-1] == "word4 [EMAIL]"


def test_the_segment_being_recorded_cannot_be_deleted_from_review(buffer: Buffer) -> None:
    def op(tx):  # type: ignore[no-untyped-def]
        tx.add_session("ses_o", 1.0, "9.9")
        tx.open_segment("seg_open", "ses_o", 1.0, [])

    buffer.write(op)
    with pytest.raises(review.ReviewError, match="being recorded"):
        review.delete_segment(buffer, "seg_open")
    assert state_of(buffer, "seg_open") == "open"


def test_nothing_can_be_written_into_a_deleted_segment(buffer: Buffer) -> None:
    record_segment(buffer, frames=2)
    review.delete_segment(buffer, "seg_a")
    late = EventRecord("seg_a", 999, 9.0, 1009.0, "key", {"action": "up", "key": "a", "char": None})
    with pytest.raises(sqlite3.IntegrityError, match="the segment was deleted"):
        buffer.write(lambda tx: tx.add_events([late]))


def test_approve_all_approves_only_what_was_shown_and_unchanged(buffer: Buffer) -> None:
    record_segment(buffer, "seg_a", started=1000.0)
    record_segment(buffer, "seg_b", started=2000.0)
    shown = {s.id: s.sha256 for s in review.list_segments(buffer)}
    record_segment(buffer, "seg_late", started=3000.0)  # sealed after the list was shown
    review.delete_frames(buffer, "seg_b", [1])  # changed after it was shown
    with pytest.raises(review.ReviewError, match="1 approved; not approved: seg_b"):
        review.approve_all(buffer, expected=shown)
    states = {s["id"]: s["state"] for s in segments(buffer)}
    assert states == {"seg_a": "approved", "seg_b": "pending_review", "seg_late": "sealed"}


def test_an_unreadable_segment_does_not_hide_the_others(buffer: Buffer) -> None:
    record_segment(buffer, "seg_bad", started=1000.0)
    record_segment(buffer, "seg_good", started=2000.0)
    with buffer.reader() as db:  # one stored value damaged on disk
        blob = bytearray(
            db.execute(
                "SELECT data FROM events WHERE segment_id = 'seg_bad' AND seq = 0"
            ).fetchone()[0]
        )
        blob[-1] ^= 0xFF
        db.execute(
            "UPDATE events SET data = ? WHERE segment_id = 'seg_bad' AND seq = 0", [bytes(blob)]
        )
    assert [s.id for s in review.list_segments(buffer)] == ["seg_good"]
    settings = Settings(upload="auto", auto_after_hours=1.0)
    assert review.auto_approve_due(buffer, settings, now=10**10) == ["seg_good"]


def test_a_delta_that_lost_its_base_is_dropped_when_frames_are_deleted(buffer: Buffer) -> None:
    pixels = record_segment(buffer, frames=6)
    with buffer.reader() as db:  # frame 4's row vanished (its insert failed, say)
        seq4 = db.execute(
            "SELECT seq FROM frames WHERE segment_id = 'seg_a' ORDER BY seq LIMIT 1 OFFSET 3"
        ).fetchone()[0]
        db.execute("DELETE FROM frames WHERE segment_id = 'seg_a' AND seq = ?", [seq4])
    before = PackageReader(review.package_for_review(buffer, "seg_a").data)
    assert before.frame_count < 6  # what the package could not show truthfully was left out
    review.delete_frames(buffer, "seg_a", [1])
    reader = PackageReader(review.package_for_review(buffer, "seg_a").data)
    assert reader.frame_count == before.frame_count - 1
    assert np.array_equal(reader.frame(1), pixels[1])


def test_a_segment_sent_back_to_review_gets_a_new_review_period(buffer: Buffer) -> None:
    settings = Settings(upload="auto", auto_after_hours=2.0)
    record_segment(buffer, started=1000.0)
    review.approve(buffer, "seg_a")
    review.delete_frames(buffer, "seg_a", [2])  # back to review, now
    assert state_of(buffer, "seg_a") == "pending_review"
    assert review.auto_approve_due(buffer, settings, now=1013.0 + 7200) == []
    assert review.next_auto_approval(buffer, settings) > time.time() + 7000
