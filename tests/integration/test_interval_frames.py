"""Interval screenshots are taken only while someone is at the computer."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from support.xsession import XServer, export

pytestmark = pytest.mark.x11


@pytest.fixture
def settings_toml() -> str:
    return "redact_screen_text = false\nidle_frame_interval_s = 1.0\n"


def test_a_screen_that_changes_by_itself_is_not_recorded_while_nobody_acts(
    x: XServer, consented: Path, env: dict[str, str], recorder_factory, home: Path
) -> None:
    # A window that moves on its own, as a clock or `top` changes the screen.
    scratch = x.xterm("Praxis Scratch", 1500, 800, cols=20, rows=3)
    rec = recorder_factory(consented).start()
    for i in range(8):  # four interval periods with the screen changing and no input
        x.move_window(scratch, 1500, 760 - 40 * (i % 4))
        time.sleep(0.5)
    # Someone moves the mouse: interval frames resume while the screen changes.
    for i in range(6):
        x.move_pointer(300 + 20 * i, 300)
        x.move_window(scratch, 1400 - 40 * i, 700)
        time.sleep(0.5)
    assert rec.stop(signal.SIGINT) == 0, rec.output()
    (segment,) = export(consented, home / "out", env)
    frames = [e for e in segment.events if e["type"] == "frame"]
    moves = [e["t"] for e in segment.events if e["type"] == "mouse_move"]
    assert moves, "the pointer moves were recorded"
    idle = [f for f in frames if f["trigger"] == "interval" and f["t"] < moves[0]]
    # The first interval frame comes after the start frame at the latest; none after it
    # while nobody acts, though the screen changed in every period.
    assert len(idle) <= 1, [(f["trigger"], f["t"]) for f in frames]
    active = [f for f in frames if f["trigger"] == "interval" and f["t"] >= moves[0]]
    assert active, [(f["trigger"], f["t"]) for f in frames]
