"""Export segments to the documented folder format (docs/FORMAT.md).

An export is the segment's package (app.core.package) unpacked for people and tools: the
same manifest, events and actions, with the frame chain decoded into plain PNG files. So an
export shows exactly what review shows and upload sends, already redacted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

from app.core.buffer.store import Buffer
from app.core.errors import PraxisError
from app.core.lifecycle import WITH_CONTENT, SegmentState
from app.core.package import FORMAT_VERSION, PackageReader, build_package
from app.core.queries import segments as list_segments

__all__ = ["FORMAT_VERSION", "export", "export_segment"]


def _private_file(path: Path) -> BinaryIO:
    """Open `path` for writing, readable by the owner only: an export holds the recording."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if os.name == "posix":
        os.fchmod(fd, 0o600)  # an older file of the same name may have had a wider mode
    return os.fdopen(fd, "wb")


def _private_dir(path: Path) -> None:
    """Create `path` (and missing parents) owner-only; a folder that exists keeps its mode,
    since it may not be Praxis's to change."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        for folder in missing:
            os.chmod(folder, 0o700)


def _write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with _private_file(tmp) as fh:
        fh.write(data)
    os.replace(tmp, path)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    lines = (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
    _write_bytes(path, "".join(lines).encode("utf-8"))


def export_segment(
    buffer: Buffer, segment: dict[str, Any], out_dir: Path, *, package_only: bool = False
) -> Path:
    package = build_package(buffer, segment["id"])
    if package_only:
        target = out_dir / f"{segment['id']}.zip"
        _write_bytes(target, package.data)
        return target
    reader = PackageReader(package.data)
    folder = out_dir / segment["id"]
    frames_dir = folder / "frames"
    _private_dir(frames_dir)
    events = []
    written: dict[int, str] = {}  # package member: its PNG file
    index = 0
    for item in reader.items:
        if item["type"] == "frame":
            index += 1
            member = reader.member_of(index)
            if member not in written:
                # Named after the frame that first shows it; a click on the same screen later
                # names the same file (and says `same_as`).
                written[member] = f"frames/{int(item['frame']):06d}.png"
                with _private_file(folder / written[member]) as fh:
                    image = Image.fromarray(reader.member_pixels(member), "RGB")
                    image.save(fh, "PNG", compress_level=3)
            item = {**item, "file": written[member]}
            item.pop("kind", None)  # the stored chain is an internal matter of the package
        events.append(item)
    _write_jsonl(folder / "events.jsonl", events)
    _write_jsonl(folder / "actions.jsonl", reader.actions)
    manifest = {
        **reader.manifest,
        "state": segment["state"],
        "package_sha256": package.sha256,
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    _write_bytes(folder / "manifest.json", text.encode("utf-8"))
    return folder


def export(
    buffer: Buffer,
    out_dir: Path,
    segment_ids: list[str] | None = None,
    include_open: bool = False,
    *,
    packages: bool = False,
) -> list[Path]:
    known = {s["id"] for s in list_segments(buffer)}
    unknown = sorted(set(segment_ids or ()) - known)
    if unknown:
        raise PraxisError(
            f"there is no segment {', '.join(unknown)}; `praxis review --list` shows them",
            title="Unknown segment",
        )
    try:
        return _export(buffer, out_dir, segment_ids, include_open, packages)
    except OSError as exc:
        where = exc.filename or out_dir
        raise PraxisError(
            f"cannot write the export to {where} ({exc.strerror or exc}). Choose another --out "
            "folder, or free some space.",
            title="Export failed",
        ) from exc


def _export(
    buffer: Buffer,
    out_dir: Path,
    segment_ids: list[str] | None,
    include_open: bool,
    packages: bool,
) -> list[Path]:
    _private_dir(out_dir)
    chosen = [
        s
        for s in list_segments(buffer)
        if (segment_ids is None or s["id"] in segment_ids)
        and SegmentState(s["state"]) in WITH_CONTENT
        and (include_open or s["state"] != SegmentState.OPEN.value)
    ]
    return [export_segment(buffer, s, out_dir, package_only=packages) for s in chosen]
