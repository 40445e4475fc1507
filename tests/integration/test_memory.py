"""The headless recorder's peak resident memory on a real 1920x1080 screen full of text.

Frames go one at a time (each is stored before the next click), so the figure does not depend
on how fast the machine is: a slow machine would only queue frames, and the queue is bounded
(frameworker.MAX_BACKLOG) and measured by bench/record_workload.py, not here."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from support.xsession import XServer, status
from support.xvfb import wait_for

pytestmark = pytest.mark.x11

# The target for the recorder alone (its OCR worker, when on, is a process of its own).
PEAK_RSS_LIMIT_MB = 150
# Of the frames taken, this many have to be keyframes: the largest encoding work, and the
# moment of the recorder's highest memory.
MIN_KEYFRAMES = 3


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))


def wait_frames(data_dir: Path, env: dict[str, str], more_than: int, what: str) -> int:
    """Wait until more than `more_than` frames are stored; returns how many are."""
    counts: list[int] = []

    def more() -> bool:
        counts.append(int(status(data_dir, env)["pending_frames"]))
        return counts[-1] > more_than

    wait_for(more, 30, what, interval=0.1)
    return counts[-1]


def test_peak_memory_over_keyframes_and_deltas(
    x: XServer, consented: Path, env: dict[str, str], recorder_factory
) -> None:
    listing = ("sh", "-c", "ls -la /usr/lib /usr/share | head -300; exec cat")
    left = x.xterm("Praxis Memory Left", 0, 0, cols=150, rows=75, command=listing)
    # Moved back and forth over most of the screen: most tiles change, so each such frame
    # is stored as a keyframe.
    cover = x.xterm("Praxis Memory Cover", 700, 0, cols=180, rows=70, command=listing)
    x.focus(left)
    rec = recorder_factory(consented).start()
    assert rec.proc is not None
    stored = wait_frames(consented, env, 0, "a first frame")

    for i in range(8):
        if i % 2 == 0:
            x.move_window(cover, 100 if i % 4 == 0 else 700, 0)  # a keyframe
        else:
            x.type_text(f"line {i} of a note typed while recording")  # a delta
        x.settled_screen()
        x.click(200 + 20 * i, 900)
        stored = wait_frames(consented, env, stored, f"frame {i + 1} to be stored")

    peak = peak_rss_mb(rec.proc.pid)
    assert rec.stop() == 0  # sealed: every frame is in the buffer, with its kind
    with contextlib.closing(
        sqlite3.connect(f"file:{consented / 'buffer.db'}?mode=ro", uri=True)
    ) as db:
        kinds = [kind for (kind,) in db.execute("SELECT kind FROM frames")]
    keyframes = kinds.count("key")
    assert keyframes >= MIN_KEYFRAMES, f"only {keyframes} keyframes among {len(kinds)} frames"
    assert peak <= PEAK_RSS_LIMIT_MB, f"the recorder's peak RSS was {peak:.0f} MB"
