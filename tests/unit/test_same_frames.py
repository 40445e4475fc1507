"""A click on an unchanged screen is stored as a frame of kind 'same' that refers to the stored
frame showing its screen: no second copy of the pixels, its own time and trigger everywhere the
recording is shown or sent, and never a reference to pixels that were deleted."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils
from PIL import Image

from app.core import review
from app.core.buffer import schema
from app.core.buffer.store import Buffer
from app.core.egress import release_for_upload
from app.core.export import export
from app.core.frames import SAME, FrameEncoder
from app.core.model import EventRecord, FrameRecord
from app.core.package import PackageReader, build_package
from app.core.queries import pending_summary

W, H = 128, 64
CLICK = "mouse_down"


def screens() -> list[np.ndarray]:
    """Three screens that differ by a few tiles."""
    out = []
    current = np.full((H, W, 3), 230, dtype=np.uint8)
    for i in range(3):
        current = current.copy()
        current[8 : 8 + 10, 10 + 30 * i : 40 + 30 * i] = 40 * i
        out.append(current)
    return out


# What the frame thread stores for: a segment start, a click on a new screen, two clicks on
# that same screen (one a moment later), a typing pause on a new screen, and a click on it.
#   seq: (t, trigger, screen index or None for 'same')
PLAN = [
    (0, 0.0, "segment_start", 0),
    (2, 1.0, CLICK, 1),
    (5, 2.0, CLICK, None),
    (8, 2.5, CLICK, None),
    (11, 3.0, "typing_pause", 2),
    (13, 3.4, CLICK, None),
]


def record(buffer: Buffer, segment_id: str = "seg_a", *, seal: bool = True) -> list[np.ndarray]:
    pixels = screens()
    encoder = FrameEncoder()

    def op(tx):  # type: ignore[no-untyped-def]
        tx.add_session("ses_a", 1000.0, "9.9")
        tx.open_segment(
            segment_id, "ses_a", 1000.0, [{"left": 0, "top": 0, "width": W, "height": H}]
        )
        for seq, t, trigger, index in PLAN:
            enc = encoder.same() if index is None else encoder.encode(pixels[index], seq)
            assert enc is not None
            tx.add_frame(
                FrameRecord(
                    segment_id, seq, t, 1000.0 + t, enc.kind, enc.base_seq, W, H, "webp",
                    trigger, 2.0, enc.payload,
                )
            )  # fmt: skip
            if trigger == CLICK:
                tx.add_events(
                    [
                        EventRecord(
                            segment_id, seq + 1, t, 1000.0 + t, "mouse_button",
                            {"action": action, "button": "left", "x": seq, "y": 5},
                        )
                        for action in ("down",)
                    ]
                )  # fmt: skip
        if seal:
            tx.seal_segment(segment_id, 1004.0, "stopped", 0, 0, {})

    buffer.write(op)
    return pixels


def shown_screens() -> list[np.ndarray]:
    """The screen each frame of PLAN shows."""
    pixels = screens()
    out: list[np.ndarray] = []
    for _seq, _t, _trigger, index in PLAN:
        out.append(out[-1] if index is None else pixels[index])
    return out


def rows(buffer: Buffer) -> list[tuple[int, str, int | None, int]]:
    with buffer.reader() as db:
        return [
            tuple(r)  # type: ignore[misc]
            for r in db.execute(
                "SELECT seq, kind, base_seq, size FROM frames WHERE segment_id = 'seg_a'"
                " ORDER BY seq"
            ).fetchall()
        ]


@pytest.fixture
def buffer(data_dir: Path) -> Buffer:
    return Buffer(data_dir)


def test_a_same_frame_holds_no_pixels_and_refers_to_a_frame_with_pixels(buffer: Buffer) -> None:
    record(buffer)
    stored = rows(buffer)
    assert [(s, k, b) for s, k, b, _size in stored] == [
        (0, "key", None),
        (2, "delta", 0),
        (5, SAME, 2),
        (8, SAME, 2),  # the frame with pixels, not the 'same' frame before it
        (11, "delta", 2),  # the chain goes on from the last frame with pixels
        (13, SAME, 11),
    ]
    assert [size for _s, kind, _b, size in stored if kind == SAME] == [0, 0, 0]


def test_the_package_gives_each_click_its_frame_item_naming_the_same_member(
    buffer: Buffer,
) -> None:
    record(buffer)
    package = build_package(buffer, "seg_a")
    reader = PackageReader(package.data)
    frames = reader.frames
    assert [(f["frame"], f["t"], f["trigger"], f["kind"]) for f in frames] == [
        (1, 0.0, "segment_start", "key"),
        (2, 1.0, CLICK, "delta"),
        (3, 2.0, CLICK, SAME),
        (4, 2.5, CLICK, SAME),
        (5, 3.0, "typing_pause", "delta"),
        (6, 3.4, CLICK, SAME),
    ]
    assert [f["file"] for f in frames] == [
        "frames/000001.pxf",
        "frames/000002.pxf",
        "frames/000002.pxf",
        "frames/000002.pxf",
        "frames/000003.pxf",
        "frames/000003.pxf",
    ]
    assert [f.get("same_as") for f in frames] == [None, None, 2, 2, None, 5]
    assert reader.member_count == 3  # the pixels are in the package once
    names = zipfile.ZipFile(io.BytesIO(package.data)).namelist()
    assert names[3:] == ["frames/000001.pxf", "frames/000002.pxf", "frames/000003.pxf"]
    expected = shown_screens()
    for index in (6, 1, 4, 2, 5, 3):  # any order: the reader replays from keyframes
        assert np.array_equal(reader.frame(index), expected[index - 1]), index
    # Each click's action names its own frame: the screen it was made on.
    assert [a["frame"] for a in reader.actions if a["type"] == "click"] == [2, 3, 4, 6]
    # Counts: every frame item is a screenshot the person steps through in review.
    assert package.manifest["counts"]["frames"] == 6
    assert package.receipt["frames"] == 6
    summary = pending_summary(buffer)
    assert summary["pending_frames"] == 6


def test_export_writes_each_screen_once_and_points_every_click_at_it(
    buffer: Buffer, tmp_path: Path
) -> None:
    record(buffer)
    [folder] = export(buffer, tmp_path / "out")
    items = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    frames = [i for i in items if i["type"] == "frame"]
    assert [(f["frame"], f["file"], f.get("same_as")) for f in frames] == [
        (1, "frames/000001.png", None),
        (2, "frames/000002.png", None),
        (3, "frames/000002.png", 2),
        (4, "frames/000002.png", 2),
        (5, "frames/000005.png", None),
        (6, "frames/000005.png", 5),
    ]
    assert all("kind" not in f for f in frames)
    assert [(f["t"], f["trigger"]) for f in frames] == [(t, tr) for _s, t, tr, _i in PLAN]
    assert sorted(p.name for p in (folder / "frames").iterdir()) == [
        "000001.png",
        "000002.png",
        "000005.png",
    ]
    for frame, screen in zip(frames, shown_screens(), strict=True):
        with Image.open(folder / frame["file"]) as image:
            assert np.array_equal(np.asarray(image.convert("RGB")), screen), frame


def test_the_approved_upload_package_holds_the_same_frames(buffer: Buffer) -> None:
    record(buffer)
    shown = review.package_for_review(buffer, "seg_a")
    review.approve(buffer, "seg_a", expected_sha256=shown.sha256)
    released = release_for_upload(buffer, "seg_a")
    assert released.data == shown.data
    assert [f["trigger"] for f in PackageReader(released.data).frames].count(CLICK) == 4


def test_deleting_a_screenshot_deletes_the_clicks_that_show_it(buffer: Buffer) -> None:
    record(buffer)
    report = review.delete_frames(buffer, "seg_a", [2])  # the screen clicks 3 and 4 show
    assert report.frames == 3
    assert [(s, k, b) for s, k, b, _size in rows(buffer)] == [
        (0, "key", None),
        (11, "delta", 0),  # re-stored on the frame now before it
        (13, SAME, 11),
    ]
    reader = PackageReader(review.package_for_review(buffer, "seg_a").data)
    expected = shown_screens()
    assert [f["trigger"] for f in reader.frames] == ["segment_start", "typing_pause", CLICK]
    for index, screen in enumerate((expected[0], expected[4], expected[5]), start=1):
        assert np.array_equal(reader.frame(index), screen)
    # The pixels are gone for real: no frame left shows screen 1.
    assert not any(
        np.array_equal(reader.frame(i), screens()[1]) for i in range(1, reader.frame_count + 1)
    )


def test_deleting_a_click_that_repeats_a_screen_keeps_the_screen(buffer: Buffer) -> None:
    record(buffer)
    report = review.delete_frames(buffer, "seg_a", [3])
    assert report.frames == 1
    assert [s for s, *_rest in rows(buffer)] == [0, 2, 8, 11, 13]
    reader = PackageReader(review.package_for_review(buffer, "seg_a").data)
    assert reader.frame_count == 5
    assert np.array_equal(reader.frame(3), shown_screens()[3])


def test_deleting_the_frame_before_keeps_a_same_frame_showing_its_pixels(buffer: Buffer) -> None:
    record(buffer)
    review.delete_frames(buffer, "seg_a", [1])  # the keyframe the chain starts from
    assert [(s, k, b) for s, k, b, _size in rows(buffer)] == [
        (2, "key", None),  # re-stored whole
        (5, SAME, 2),
        (8, SAME, 2),
        (11, "delta", 2),
        (13, SAME, 11),
    ]
    reader = PackageReader(review.package_for_review(buffer, "seg_a").data)
    for index, screen in enumerate(shown_screens()[1:], start=1):
        assert np.array_equal(reader.frame(index), screen), index


def test_deleting_a_stretch_or_the_last_minutes_never_leaves_a_dangling_reference(
    buffer: Buffer,
) -> None:
    record(buffer)
    review.delete_range(buffer, "seg_a", 0.5, 1.5)  # frame 2 with its pixels, not its clicks
    assert [(s, k) for s, k, _b, _size in rows(buffer)] == [(0, "key"), (11, "delta"), (13, SAME)]
    buffer.write(lambda tx: tx.delete_since(1003.2))
    assert [(s, k) for s, k, _b, _size in rows(buffer)] == [(0, "key"), (11, "delta")]


def test_the_database_keeps_references_whole_whoever_writes(buffer: Buffer) -> None:
    record(buffer, seal=False)

    def add_orphan(tx):  # type: ignore[no-untyped-def]
        # A click whose frame was deleted while it was on its way: not stored, no error.
        tx.add_frame(FrameRecord("seg_a", 20, 4.0, 1004.0, SAME, 17, W, H, "webp", CLICK, 1.0, b""))
        # Nor one that would refer to another 'same' frame.
        tx.add_frame(FrameRecord("seg_a", 21, 4.0, 1004.0, SAME, 13, W, H, "webp", CLICK, 1.0, b""))

    buffer.write(add_orphan)
    assert [s for s, *_rest in rows(buffer)] == [0, 2, 5, 8, 11, 13]
    buffer.write(lambda tx: tx.db.execute("DELETE FROM frames WHERE seq = 2"))
    assert [s for s, *_rest in rows(buffer)] == [0, 11, 13]


def test_a_buffer_of_schema_3_is_upgraded_with_its_frames(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    path = data_dir / "buffer.db"
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    for migration in schema.MIGRATIONS[:3]:
        migration(db)
    db.execute("PRAGMA user_version = 3")
    db.conn.close()
    buffer = Buffer(data_dir)
    record(buffer)
    with buffer.reader() as db2:
        assert schema.schema_version(db2.conn) == schema.LATEST == 4
    assert len(rows(buffer)) == 6
    assert review.delete_frames(buffer, "seg_a", [2]).frames == 3
