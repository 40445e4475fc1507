"""The upload invariant, checked after every fault: every approved segment is stored exactly
once with the right hash, nothing unapproved is stored, nothing acknowledged is lost."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from app.core.buffer.store import Buffer
from app.core.lifecycle import SegmentState


def tusnode_complete_objects(store: Path, device_id: str | None = None) -> list[bytes]:
    """Uploads the Node server holds in full (its sidecar says how long each should be),
    of one device if given (from the upload's metadata)."""
    out = []
    for info in store.glob("*.json"):
        meta = json.loads(info.read_text())
        if device_id and (meta.get("metadata") or {}).get("device_id") != device_id:
            continue
        data = store / meta["id"]
        if data.exists() and data.stat().st_size == int(meta["size"]):
            out.append(data.read_bytes())
    return out


def approved_hashes(buffer: Buffer) -> dict[str, str]:
    """Segments ever approved (and not deleted): id → frozen package sha256."""
    with buffer.reader() as db:
        rows = db.execute(
            "SELECT s.id, coalesce(u.sha256, s.package_sha256) FROM segments s"
            " LEFT JOIN uploads u ON u.segment_id = s.id WHERE s.state IN (?, ?, ?, ?)",
            [
                SegmentState.APPROVED.value,
                SegmentState.UPLOADING.value,
                SegmentState.ACKNOWLEDGED.value,
                SegmentState.PURGED.value,
            ],
        ).fetchall()
    return dict(rows)


def segment_states(buffer: Buffer) -> dict[str, str]:
    with buffer.reader() as db:
        return dict(db.execute("SELECT id, state FROM segments").fetchall())


def check_invariant(
    buffer: Buffer, stored: list[bytes], *, all_delivered: bool = True
) -> list[str]:
    """Problems found (empty when the invariant holds)."""
    problems = []
    expected = approved_hashes(buffer)
    stored_hashes = Counter(hashlib.sha256(data).hexdigest() for data in stored)
    states = segment_states(buffer)
    wanted = set(expected.values())
    for sha, count in stored_hashes.items():
        if sha not in wanted:
            problems.append(f"stored object {sha[:12]} is no approved segment's package")
        elif count > 1:
            problems.append(f"package {sha[:12]} stored {count} times")
    for segment_id, sha in expected.items():
        state = states[segment_id]
        acknowledged = state in (SegmentState.ACKNOWLEDGED.value, SegmentState.PURGED.value)
        if acknowledged and stored_hashes[sha] != 1:
            problems.append(f"acknowledged {segment_id} is not stored exactly once")
        if all_delivered and not acknowledged:
            problems.append(f"{segment_id} is {state}, not delivered")
    return problems
