import json
from pathlib import Path

import numpy as np
from PIL import Image

from app.core.buffer.store import Buffer
from app.core.export import FORMAT_VERSION, export
from app.core.frames import FrameEncoder
from app.core.model import EventRecord, FrameRecord


def build_segment(buffer: Buffer) -> list[np.ndarray]:
    encoder = FrameEncoder()
    first = np.full((90, 160, 3), 200, dtype=np.uint8)
    second = first.copy()
    second[10:20, 10:60] = 0
    screens = [first, second]

    def op(tx):  # type: ignore[no-untyped-def]
        tx.add_session("ses_a", 100.0, "t")
        tx.open_segment(
            "seg_a", "ses_a", 100.0, [{"left": 0, "top": 0, "width": 160, "height": 90}]
        )
        tx.add_events(
            [
                EventRecord(
                    "seg_a",
                    0,
                    0.0,
                    100.0,
                    "window",
                    {"app": "xterm", "title": "T", "x": 0, "y": 0, "w": 9, "h": 9},
                ),
                EventRecord(
                    "seg_a",
                    2,
                    0.5,
                    100.5,
                    "mouse_button",
                    {"action": "down", "button": "left", "x": 5, "y": 6},
                ),
                EventRecord(
                    "seg_a", 3, 0.9, 100.9, "key", {"action": "down", "key": "letter", "char": "q"}
                ),
            ]
        )
        for seq, t, pixels in ((1, 0.5, first), (4, 1.0, second)):
            enc = encoder.encode(pixels, seq)
            tx.add_frame(
                FrameRecord(
                    "seg_a",
                    seq,
                    t,
                    100 + t,
                    enc.kind,
                    enc.base_seq,
                    160,
                    90,
                    "webp",
                    "mouse_down",
                    2.0,
                    enc.payload,
                )
            )
        tx.seal_segment("seg_a", 101.0, "stopped", 0, 1, {"EMAIL": 2})

    buffer.write(op)
    return screens


def test_export_folder_layout_and_fields(data_dir: Path, tmp_path: Path) -> None:
    buffer = Buffer(data_dir)
    screens = build_segment(buffer)
    [folder] = export(buffer, tmp_path / "out")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["segment_id"] == "seg_a" and manifest["session_id"] == "ses_a"
    assert manifest["device_id"] == buffer.device_id
    assert manifest["duration_s"] == 1.0
    assert manifest["counts"] == {"events": 3, "frames": 2, "actions": 3}
    assert manifest["redaction"] == {"hits": {"EMAIL": 2}, "dropped_frames": 1, "dropped_events": 0}
    lines = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert [line["type"] for line in lines] == ["window", "frame", "mouse_button", "key", "frame"]
    assert lines[1] == {
        "t": 0.5,
        "type": "frame",
        "frame": 1,
        "file": "frames/000001.png",
        "w": 160,
        "h": 90,
        "trigger": "mouse_down",
        "lag_ms": 2.0,
    }
    assert lines[3] == {"t": 0.9, "type": "key", "action": "down", "key": "letter", "char": "q"}
    actions = [json.loads(line) for line in (folder / "actions.jsonl").read_text().splitlines()]
    assert [(a["type"], a["frame"]) for a in actions] == [
        ("window", None),
        ("click", 1),
        ("type", 1),
    ]
    for line, expected in zip([lines[1], lines[4]], screens):
        assert np.array_equal(
            np.asarray(Image.open(folder / line["file"]).convert("RGB")), expected
        )


def test_open_segments_are_not_exported_unless_asked(data_dir: Path, tmp_path: Path) -> None:
    buffer = Buffer(data_dir)

    def op(tx):  # type: ignore[no-untyped-def]
        tx.add_session("ses_b", 1.0, "t")
        tx.open_segment("seg_b", "ses_b", 1.0, [])

    buffer.write(op)
    assert export(buffer, tmp_path / "out") == []
    assert len(export(buffer, tmp_path / "out2", include_open=True)) == 1


def test_package_export_is_the_upload_package_byte_for_byte(data_dir: Path, tmp_path: Path) -> None:
    from app.core.package import build_package

    buffer = Buffer(data_dir)
    build_segment(buffer)
    [path] = export(buffer, tmp_path / "out", packages=True)
    assert path.name == "seg_a.zip"
    assert path.read_bytes() == build_package(buffer, "seg_a").data
