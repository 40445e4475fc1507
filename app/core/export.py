"""Export segments to the documented folder format (docs/FORMAT.md).

The same reader serves review and upload later: what is exported is exactly what is stored,
already redacted. Frames are decoded from their keyframe/delta chains into PNG files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app import __version__
from app.core.buffer.store import Buffer
from app.core.buffer.tx import event_aad, frame_aad
from app.core.frames import decode
from app.core.lifecycle import SegmentState
from app.core.queries import segments as list_segments

FORMAT_VERSION = 1


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def segment_items(buffer: Buffer, segment_id: str) -> Iterator[dict[str, Any]]:
    """Events and decoded frames of one segment in recorded order. Frames carry `pixels`."""
    with buffer.reader() as db:
        events = db.execute(
            "SELECT seq, t, type, data FROM events WHERE segment_id = ? ORDER BY seq", [segment_id]
        ).fetchall()
        frames = db.execute(
            "SELECT seq, t, kind, base_seq, w, h, trigger, lag_ms, blob FROM frames"
            " WHERE segment_id = ? ORDER BY seq",
            [segment_id],
        ).fetchall()
    opened = buffer.sealer.open
    merged: list[tuple[int, str, Any]] = [(row[0], "event", row) for row in events]
    merged += [(row[0], "frame", row) for row in frames]
    merged.sort(key=lambda item: item[0])
    decoded: dict[int, np.ndarray] = {}
    for seq, kind, row in merged:
        if kind == "event":
            data = json.loads(opened(row[3], event_aad(segment_id, seq)))
            yield {"seq": seq, "t": round(row[1], 4), "type": row[2], **data}
            continue
        _seq, t, fkind, base_seq, w, h, trigger, lag_ms, blob = row
        payload = opened(blob, frame_aad(segment_id, seq))
        base = decoded.get(base_seq) if base_seq is not None else None
        if fkind == "delta" and base is None:
            continue  # its base was deleted: the frame cannot be shown truthfully
        pixels = decode(payload, base)
        decoded = {seq: pixels}  # deltas only ever refer to the frame just before
        yield {
            "seq": seq,
            "t": round(t, 4),
            "type": "frame",
            "w": w,
            "h": h,
            "trigger": trigger,
            "lag_ms": lag_ms,
            "pixels": pixels,
        }


def export_segment(buffer: Buffer, segment: dict[str, Any], out_dir: Path) -> Path:
    folder = out_dir / segment["id"]
    frames_dir = folder / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    counts = {"events": 0, "frames": 0}
    started = segment["started_at"]
    with (folder / "events.jsonl").open("w", encoding="utf-8") as fh:
        for item in segment_items(buffer, segment["id"]):
            item.pop("seq")
            if item["type"] == "frame":
                counts["frames"] += 1
                name = f"{counts['frames']:06d}.png"
                Image.fromarray(item.pop("pixels"), "RGB").save(frames_dir / name, compress_level=3)
                item = {
                    "t": item["t"],
                    "type": "frame",
                    "file": f"frames/{name}",
                    **{k: item[k] for k in ("w", "h", "trigger", "lag_ms")},
                }
            else:
                counts["events"] += 1
            fh.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
    manifest = {
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "device_id": buffer.device_id,
        "session_id": segment["session_id"],
        "segment_id": segment["id"],
        "state": segment["state"],
        "started_at": _iso(started),
        "ended_at": _iso(segment["ended_at"]),
        "duration_s": None
        if segment["ended_at"] is None
        else round(segment["ended_at"] - started, 3),
        "screens": segment["screen"],
        "counts": counts,
        "redaction": {
            "hits": segment["redaction"],
            "dropped_frames": segment["dropped_frames"],
            "dropped_events": segment["dropped_events"],
        },
        "sealed_reason": segment["sealed_reason"],
    }
    tmp = folder / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, folder / "manifest.json")
    return folder


def export(
    buffer: Buffer, out_dir: Path, segment_ids: list[str] | None = None, include_open: bool = False
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = [
        s
        for s in list_segments(buffer)
        if (segment_ids is None or s["id"] in segment_ids)
        and (include_open or s["state"] != SegmentState.OPEN.value)
    ]
    return [export_segment(buffer, segment, out_dir) for segment in chosen]
