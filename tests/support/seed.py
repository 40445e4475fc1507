"""Approved segments without a screen: real rows through the buffer's own write path, frames
of random pixels (they do not compress, so packages have a known, useful size), approved
through the review core exactly as the review window approves them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.core import review
from app.core.buffer.store import Buffer
from app.core.frames import FrameEncoder
from app.core.model import EventRecord, FrameRecord, new_id


def seed_segment(
    buffer: Buffer,
    *,
    frames: int = 3,
    size: tuple[int, int] = (240, 320),
    seed: int = 0,
    session_id: str | None = None,
) -> str:
    """One sealed segment with `frames` keyframes of noise and a few events; its id."""
    rng = np.random.default_rng(seed)
    session_id = session_id or new_id("ses")
    segment_id = new_id("seg")
    encoder = FrameEncoder(keyframe_every=0)
    h, w = size
    start = 1_700_000_000.0 + seed * 1000

    def op(tx):  # type: ignore[no-untyped-def]
        if tx.db.execute("SELECT 1 FROM sessions WHERE id = ?", [session_id]).fetchone() is None:
            tx.add_session(session_id, start, "test")
        tx.open_segment(
            segment_id, session_id, start, [{"left": 0, "top": 0, "width": w, "height": h}]
        )
        seq = 0
        for i in range(frames):
            tx.add_events(
                [
                    EventRecord(
                        segment_id,
                        seq,
                        float(i),
                        start + i,
                        "mouse_button",
                        {"action": "down", "button": "left", "x": i, "y": i},
                    )
                ]
            )
            seq += 1
            pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            enc = encoder.encode(pixels, seq)
            assert enc is not None
            tx.add_frame(
                FrameRecord(
                    segment_id,
                    seq,
                    float(i),
                    start + i,
                    enc.kind,
                    enc.base_seq,
                    w,
                    h,
                    "webp",
                    "mouse_down",
                    1.0,
                    enc.payload,
                )
            )
            seq += 1
        tx.seal_segment(segment_id, start + frames, "stopped", 0, 0, {})

    buffer.write(op)
    return segment_id


def seed_approved(data_dir: Path, count: int, **kwargs) -> tuple[Buffer, list[str]]:  # type: ignore[no-untyped-def]
    """`count` approved segments in the buffer at `data_dir` (created if new)."""
    buffer = Buffer(data_dir)
    first = kwargs.pop("seed", 0)
    ids = []
    for i in range(count):
        segment_id = seed_segment(buffer, seed=first + i, **kwargs)
        review.approve(buffer, segment_id)
        ids.append(segment_id)
    return buffer, ids
