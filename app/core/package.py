"""The package: the exact bytes of one segment that the review window shows and upload sends.

A package is a ZIP file built deterministically from the stored (already redacted) rows:
the same rows always give the same bytes, so a SHA-256 taken when the person approves can be
checked again at the moment of upload. Nothing in it depends on the time it was built, the
machine's zlib aside (a library update that changed the bytes would send the segment back to
review, never out). Layout (docs/FORMAT.md):

    manifest.json     segment facts and the consent-scope receipt (stored, not compressed)
    events.jsonl      every event and frame reference, in recorded order
    actions.jsonl     the actions distilled from the events (app.core.actions)
    frames/000001.pxf the frame chain as stored: a keyframe, then deltas on the frame before

A frame item names its member in `file`. Items of kind `same` (a click on a screen that had not
changed) name the member of the earlier frame they show, `same_as` its number: the pixels are
in the package once, each click still has its own frame item with its own time and trigger.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from app.core.actions import distill_actions
from app.core.buffer.crypto import Sealer
from app.core.buffer.store import Buffer
from app.core.buffer.tx import event_aad, frame_aad
from app.core.errors import StorageError
from app.core.frames import SAME, ImageDecoder, apply

FORMAT_VERSION = 1
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time ZIP can say; the same for every package
_CHECKPOINT_EVERY = 8  # decoded frames kept while stepping, so a step back is a few deltas
_FRAME_MARK = b'"type":"frame"'


class PackageError(StorageError):
    title = "Recording cannot be read"


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def frame_name(index: int) -> str:
    return f"frames/{index:06d}.pxf"


def _member_number(name: str) -> int:
    """1 for `frames/000001.pxf`."""
    if not (name.startswith("frames/") and name.endswith(".pxf")):
        raise ValueError(f"{name!r} is not a frame member")
    return int(name[len("frames/") : -len(".pxf")])


@dataclass(frozen=True)
class Package:
    segment_id: str
    data: bytes
    sha256: str
    manifest: dict[str, Any]

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def receipt(self) -> dict[str, Any]:
        return dict(self.manifest["receipt"])


@dataclass
class _Content:
    segment: dict[str, Any]
    app_version: str
    items: list[dict[str, Any]]  # events and frame references, recorded order
    frames: list[bytes]  # payloads, in the order of the frame items


def _load(db: sqlite3.Connection, sealer: Sealer, segment_id: str) -> _Content:
    db.row_factory = None
    row = db.execute(
        "SELECT s.id, s.session_id, s.state, s.started_at, s.ended_at, s.screen, s.sealed_reason,"
        " s.dropped_events, s.dropped_frames, s.redaction, coalesce(x.app_version, '')"
        " FROM segments s LEFT JOIN sessions x ON x.id = s.session_id WHERE s.id = ?",
        [segment_id],
    ).fetchone()
    if row is None:
        raise PackageError(f"there is no segment {segment_id}")
    keys = [
        "id",
        "session_id",
        "state",
        "started_at",
        "ended_at",
        "screen",
        "sealed_reason",
        "dropped_events",
        "dropped_frames",
        "redaction",
    ]
    segment = dict(zip(keys, row[:10], strict=True))
    events = db.execute(
        "SELECT seq, t, type, data FROM events WHERE segment_id = ? ORDER BY seq", [segment_id]
    ).fetchall()
    frames = db.execute(
        "SELECT seq, t, kind, base_seq, w, h, trigger, lag_ms, blob FROM frames"
        " WHERE segment_id = ? ORDER BY seq",
        [segment_id],
    ).fetchall()
    merged: list[tuple[int, int, Any]] = [(r[0], 0, r) for r in events]
    merged += [(r[0], 1, r) for r in frames]
    merged.sort(key=lambda item: (item[0], item[1]))
    items: list[dict[str, Any]] = []
    payloads: list[bytes] = []
    previous_seq: int | None = None  # the last frame with pixels
    shown_by: dict[int, tuple[int, int]] = {}  # seq of a frame with pixels: (number, member)
    number = 0
    for seq, is_frame, r in merged:
        if not is_frame:
            data = json.loads(sealer.open(r[3], event_aad(segment_id, seq)))
            items.append({"t": round(r[1], 4), "type": r[2], **data})
            continue
        _seq, t, kind, base_seq, w, h, trigger, lag_ms, blob = r
        extra: dict[str, Any] = {}
        if kind == SAME:
            if base_seq not in shown_by:
                continue  # the frame it shows is not in the package
            same_as, member = shown_by[base_seq]
            extra = {"same_as": same_as}
        else:
            if kind == "delta" and (base_seq is None or base_seq != previous_seq):
                continue  # its base is gone: the frame cannot be shown truthfully
            payloads.append(sealer.open(blob, frame_aad(segment_id, seq)))
            previous_seq, member = seq, len(payloads)
            shown_by[seq] = (number + 1, member)
        number += 1
        items.append(
            {
                "t": round(t, 4),
                "type": "frame",
                "frame": number,
                "file": frame_name(member),
                "kind": kind,
                **extra,
                "w": w,
                "h": h,
                "trigger": trigger,
                "lag_ms": round(lag_ms, 1),
            }
        )
    return _Content(segment, str(row[10]), items, payloads)


def _receipt(content: _Content, actions: list[dict[str, Any]]) -> dict[str, Any]:
    """What the person agrees to send, in terms they can check against the preview."""
    redaction: dict[str, int] = json.loads(content.segment["redaction"] or "{}")
    failed = int(redaction.pop("FRAME_REDACTION_FAILED", 0))
    apps: set[str] = set()
    excluded = 0
    types = Counter(item["type"] for item in content.items)
    for item in content.items:
        if item["type"] == "window":
            if item.get("excluded"):
                excluded += 1
            elif item.get("app"):
                apps.add(str(item["app"]))
    modalities = [
        name
        for name, present in (
            ("keystrokes", types["key"] > 0),
            ("typed text", types["text"] > 0),
            ("mouse", types["mouse_button"] + types["mouse_move"] > 0),
            ("scrolling", types["scroll"] > 0),
            ("window titles", types["window"] > 0),
            ("screenshots", types["frame"] > 0),
        )
        if present
    ]
    return {
        "apps": sorted(apps, key=str.casefold),
        "excluded_windows": excluded,
        "modalities": modalities,
        "redacted": dict(sorted(redaction.items())),
        "frames_dropped_by_redaction": failed,
        "frames_dropped_busy": max(0, int(content.segment["dropped_frames"] or 0) - failed),
        "events": sum(n for kind, n in types.items() if kind != "frame"),
        "frames": types["frame"],
        "actions": len(actions),
        "bytes": 0,  # the package's own size, filled in by build
    }


def _manifest(device_id: str, content: _Content, actions: list[dict[str, Any]]) -> dict[str, Any]:
    seg = content.segment
    started, ended = seg["started_at"], seg["ended_at"]
    receipt = _receipt(content, actions)
    return {
        "format_version": FORMAT_VERSION,
        "app_version": content.app_version,
        "device_id": device_id,
        "session_id": seg["session_id"],
        "segment_id": seg["id"],
        "started_at": iso(started),
        "ended_at": iso(ended),
        "duration_s": None if ended is None else round(ended - started, 3),
        "screens": json.loads(seg["screen"] or "[]"),
        "counts": {
            "events": receipt["events"],
            "frames": receipt["frames"],
            "actions": receipt["actions"],
        },
        "redaction": {
            "hits": json.loads(seg["redaction"] or "{}"),
            "dropped_frames": seg["dropped_frames"],
            "dropped_events": seg["dropped_events"],
        },
        "sealed_reason": seg["sealed_reason"],
        "receipt": receipt,
    }


def _jsonl(rows: Iterable[Mapping[str, Any]]) -> bytes:
    return "".join(
        json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
    ).encode("utf-8")


def _member(name: str, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.create_system = 3  # the same on every OS, so the bytes are too
    info.external_attr = 0o100600 << 16
    return info


def _zip(manifest: bytes, events: bytes, actions: bytes, frames: list[bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(_member("manifest.json", False), manifest)
        zf.writestr(_member("events.jsonl", True), events, compresslevel=6)
        zf.writestr(_member("actions.jsonl", True), actions, compresslevel=6)
        for index, payload in enumerate(frames, start=1):
            zf.writestr(_member(frame_name(index), False), payload)  # already WebP
    return out.getvalue()


def _dump_manifest(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build_from(db: sqlite3.Connection, sealer: Sealer, device_id: str, segment_id: str) -> Package:
    """Build the package of one segment from an open connection (inside a transaction when the
    caller needs the package and a state change to agree)."""
    content = _load(db, sealer, segment_id)
    actions = distill_actions(content.items)
    manifest = _manifest(device_id, content, actions)
    events, action_lines = _jsonl(content.items), _jsonl(actions)
    # The receipt states the package's own size. The manifest is stored uncompressed, so the
    # size is the rest of the package plus the manifest's length: settle that number first.
    probe = _dump_manifest(manifest)
    rest = len(_zip(probe, events, action_lines, content.frames)) - len(probe)
    for _ in range(8):  # settles in two rounds at most: only the digit count can move it
        size = rest + len(_dump_manifest(manifest))
        if manifest["receipt"]["bytes"] == size:
            break
        manifest["receipt"]["bytes"] = size
    data = _zip(_dump_manifest(manifest), events, action_lines, content.frames)
    return Package(segment_id, data, hashlib.sha256(data).hexdigest(), manifest)


def build_package(buffer: Buffer, segment_id: str) -> Package:
    with buffer.reader() as db:
        return build_from(db.conn, buffer.sealer, buffer.device_id, segment_id)


class PackageReader:
    """Reads a package: its manifest, events, actions and frames, decoded on demand.

    Opening parses only the manifest, the actions and the frame lines; the other events are
    parsed when first asked for. Stepping forward applies one delta to the frame before; a step
    back or a jump replays from the nearest decoded frame or keyframe, in place. Decoded frames
    are kept within a memory budget."""

    def __init__(
        self,
        data: bytes,
        *,
        cache_bytes: int = 128 * 1024 * 1024,
        decode_image: ImageDecoder | None = None,
    ) -> None:
        self._decode_image = decode_image
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            self.manifest: dict[str, Any] = json.loads(self._zip.read("manifest.json"))
            self._events = self._zip.read("events.jsonl").splitlines()
            # Our own compact JSON: inside a string a quote is escaped, so this marks frames.
            self.frames = [json.loads(line) for line in self._events if _FRAME_MARK in line]
            # The member each frame shows (1-based), and the kind of each member in order.
            self._shows = [_member_number(item["file"]) for item in self.frames]
            self._member_kind = [f["kind"] for f in self.frames if f.get("kind") != SAME]
            self.actions = [
                json.loads(line) for line in self._zip.read("actions.jsonl").splitlines() if line
            ]
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise PackageError(f"the package cannot be read ({exc})") from exc
        self._items: list[dict[str, Any]] | None = None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0

    @property
    def items(self) -> list[dict[str, Any]]:
        """Every event and frame item, in recorded order."""
        if self._items is None:
            self._items = [json.loads(line) for line in self._events if line]
        return self._items

    @property
    def frame_count(self) -> int:
        return len(self.frames)

    @property
    def member_count(self) -> int:
        """How many frame members (distinct screenshots) the package holds."""
        return len(self._member_kind)

    def member_of(self, index: int) -> int:
        """The member (1-based) that frame `index` shows: its own, or for a frame of kind
        `same`, the member of the frame it repeats."""
        if not 1 <= index <= len(self.frames):
            raise IndexError(f"frame {index} is not in this package")
        return self._shows[index - 1]

    def frame_payload(self, member: int) -> bytes:
        return self._zip.read(frame_name(member))

    def frame(self, index: int) -> np.ndarray:
        """The full RGB pixels of frame `index` (1-based). Do not modify the array."""
        return self.member_pixels(self.member_of(index))

    def member_pixels(self, index: int) -> np.ndarray:
        """The full RGB pixels of member `index` (1-based). Do not modify the array."""
        if not 1 <= index <= len(self._member_kind):
            raise IndexError(f"member {index} is not in this package")
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit
        start = index
        while start > 1 and start not in self._cache and self._member_kind[start - 1] != "key":
            start -= 1
        cached = self._cache.get(start)
        read = self._decode_image
        pixels = apply(self.frame_payload(start), None, read) if cached is None else cached.copy()
        if cached is None and (start == index or start % _CHECKPOINT_EVERY == 0):
            self._remember(start, pixels.copy() if start != index else pixels)
        for i in range(start + 1, index + 1):
            pixels = apply(self.frame_payload(i), pixels, read)  # in place: a copy per kept frame
            if i == index:
                self._remember(i, pixels)
            elif i % _CHECKPOINT_EVERY == 0 or index - i < _CHECKPOINT_EVERY:
                self._remember(i, pixels.copy())
        return pixels

    def _remember(self, index: int, pixels: np.ndarray) -> None:
        if index in self._cache:
            return
        self._cache[index] = pixels
        self._cached_bytes += pixels.nbytes
        while self._cached_bytes > self._cache_bytes and len(self._cache) > 1:
            _old, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= dropped.nbytes
