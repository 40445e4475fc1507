"""Deleting frames from the middle of a stored frame chain.

A delta frame holds only the tiles that changed since the frame before it. When frames are
deleted, the first kept frame after them loses its base, so it is decoded (from the chain as
it was) and stored again: as a delta on the frame that now comes before it, or as a keyframe.
Every kept frame then shows exactly the pixels it showed before the deletion.

A 'same' frame (a click on an unchanged screen) holds no pixels and stands outside the chain:
it shows the key or delta frame its `base_seq` names, and goes when that frame goes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable

import numpy as np

from app.core.buffer.crypto import Sealer
from app.core.buffer.tx import frame_aad
from app.core.frames import KEYFRAME_CHANGED_SHARE, SAME, changed_tiles, decode, encode_delta
from app.core.frames import encode_keyframe as _encode_keyframe


class _Chain:
    """The segment's frames as stored, decoded on demand (each decode starts at a keyframe)."""

    def __init__(self, db: sqlite3.Connection, sealer: Sealer, segment_id: str) -> None:
        self._db = db
        self._sealer = sealer
        self._segment_id = segment_id
        rows = db.execute(
            "SELECT seq, kind, base_seq, codec FROM frames WHERE segment_id = ? ORDER BY seq",
            [segment_id],
        ).fetchall()
        self.seqs = [int(r[0]) for r in rows]
        self.kind = {int(r[0]): str(r[1]) for r in rows}
        self.base = {int(r[0]): r[2] for r in rows}
        self.codec = {int(r[0]): str(r[3]) for r in rows}
        self._decoded: dict[int, np.ndarray] = {}

    def payload(self, seq: int) -> bytes:
        blob = self._db.execute(
            "SELECT blob FROM frames WHERE segment_id = ? AND seq = ?", [self._segment_id, seq]
        ).fetchone()[0]
        return self._sealer.open(blob, frame_aad(self._segment_id, seq))

    def pixels(self, seq: int) -> np.ndarray:
        """Decode frame `seq` from its keyframe. Only the frames asked for are kept: a decoded
        screen is several megabytes, and a chain can be long."""
        if seq in self._decoded:
            return self._decoded[seq]
        path = [seq]
        while self.kind[path[-1]] == "delta" and path[-1] not in self._decoded:
            base = self.base[path[-1]]
            if base is None or base not in self.kind:
                raise ValueError(f"frame {seq} has lost its base frame")
            path.append(int(base))
        current = self._decoded.get(path[-1])
        if current is not None:
            path.pop()
        for step in reversed(path):
            current = decode(self.payload(step), None if self.kind[step] == "key" else current)
        assert current is not None
        self._decoded[seq] = current
        return current


def chained(rows: Iterable[tuple[int, str, int | None]]) -> list[int]:
    """The frames a package holds, from (seq, kind, base_seq) rows in order: keyframes, deltas
    on the frame with pixels kept just before them, and 'same' frames that show a kept frame
    with pixels. A delta whose base is gone (its insert failed, say) cannot be shown truthfully
    and is left out, and so is a 'same' frame that shows it."""
    kept: list[int] = []
    with_pixels: set[int] = set()
    last: int | None = None
    for seq, kind, base in rows:
        if kind == SAME:
            if base in with_pixels:
                kept.append(int(seq))
            continue
        if kind == "delta" and (last is None or base != last):
            continue
        kept.append(int(seq))
        with_pixels.add(int(seq))
        last = int(seq)
    return kept


def delete_frames(
    db: sqlite3.Connection, sealer: Sealer, segment_id: str, seqs: Collection[int]
) -> int:
    """Delete the frames `seqs` of one segment and re-store the frames that depended on them.
    Frames no package could show (broken chains) go too. Returns how many frames were
    deleted."""
    chain = _Chain(db, sealer, segment_id)
    doomed = {s for s in seqs if s in chain.kind}
    if not doomed:
        return 0
    shown = set(chained((seq, chain.kind[seq], chain.base[seq]) for seq in chain.seqs))
    doomed |= {seq for seq in chain.seqs if seq not in shown}
    # A 'same' frame shows its frame's pixels: deleting those pixels deletes it too (and the
    # database would delete it anyway; it is named here so that it is counted).
    doomed |= {s for s in chain.seqs if chain.kind[s] == SAME and chain.base[s] in doomed}
    kept = [s for s in chain.seqs if s not in doomed and chain.kind[s] != SAME]
    # Decode every frame that must be re-stored, and its new base, before anything is deleted.
    restore: list[tuple[int, np.ndarray, int | None, np.ndarray | None]] = []
    previous: int | None = None
    for seq in kept:
        if chain.kind[seq] == "delta" and chain.base[seq] != previous:
            base_pixels = chain.pixels(previous) if previous is not None else None
            restore.append((seq, chain.pixels(seq), previous, base_pixels))
        previous = seq
    marks = ",".join("?" for _ in doomed)
    db.execute(
        f"DELETE FROM frames WHERE segment_id = ? AND seq IN ({marks})",
        [segment_id, *sorted(doomed)],
    )
    for seq, pixels, base_seq, base_pixels in restore:
        codec = chain.codec[seq]
        kind, payload, stored_base = "key", _encode_keyframe(pixels, codec), None
        if base_pixels is not None and base_pixels.shape == pixels.shape:
            grid = changed_tiles(base_pixels, pixels)
            if 0 < grid.sum() <= KEYFRAME_CHANGED_SHARE * grid.size:
                kind, payload, stored_base = "delta", encode_delta(pixels, grid, codec), base_seq
        db.execute(
            "UPDATE frames SET kind = ?, base_seq = ?, size = ?, blob = ?"
            " WHERE segment_id = ? AND seq = ?",
            [
                kind,
                stored_base,
                len(payload),
                sealer.seal(payload, frame_aad(segment_id, seq)),
                segment_id,
                seq,
            ],
        )
    return len(doomed)
