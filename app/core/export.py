"""Export segments to the documented folder format (docs/FORMAT.md).

An export is the segment's package (app.core.package) unpacked for people and tools: the
same manifest, events and actions, with the frame chain decoded into plain PNG files. So an
export shows exactly what review shows and upload sends, already redacted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PIL import Image

from app.core.buffer.store import Buffer
from app.core.lifecycle import WITH_CONTENT, SegmentState
from app.core.package import FORMAT_VERSION, PackageReader, build_package
from app.core.queries import segments as list_segments

__all__ = ["FORMAT_VERSION", "export", "export_segment"]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def export_segment(
    buffer: Buffer, segment: dict[str, Any], out_dir: Path, *, package_only: bool = False
) -> Path:
    package = build_package(buffer, segment["id"])
    if package_only:
        target = out_dir / f"{segment['id']}.zip"
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(package.data)
        os.replace(tmp, target)
        return target
    reader = PackageReader(package.data)
    folder = out_dir / segment["id"]
    frames_dir = folder / "frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    events = []
    for item in reader.items:
        if item["type"] == "frame":
            index = int(item["frame"])
            name = f"{index:06d}.png"
            Image.fromarray(reader.frame(index), "RGB").save(frames_dir / name, compress_level=3)
            item = {**item, "file": f"frames/{name}"}
            item.pop("kind", None)  # the stored chain is an internal matter of the package
        events.append(item)
    _write_jsonl(folder / "events.jsonl", events)
    _write_jsonl(folder / "actions.jsonl", reader.actions)
    manifest = {
        **reader.manifest,
        "state": segment["state"],
        "package_sha256": package.sha256,
    }
    tmp = folder / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, folder / "manifest.json")
    return folder


def export(
    buffer: Buffer,
    out_dir: Path,
    segment_ids: list[str] | None = None,
    include_open: bool = False,
    *,
    packages: bool = False,
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = [
        s
        for s in list_segments(buffer)
        if (segment_ids is None or s["id"] in segment_ids)
        and SegmentState(s["state"]) in WITH_CONTENT
        and (include_open or s["state"] != SegmentState.OPEN.value)
    ]
    return [export_segment(buffer, s, out_dir, package_only=packages) for s in chosen]
