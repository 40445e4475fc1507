"""Every click keeps its screenshot, whatever frame came just before it: a typing pause, the
end of a typed run, the window switch the click itself makes, or the first click of a double
click. On an unchanged screen the click's frame names the earlier frame's file."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.xsession import XServer, export

from app.core.settings import Settings

pytestmark = pytest.mark.x11


def test_every_click_right_after_typing_or_a_switch_has_its_frame_in_the_export(
    x: XServer, consented: Path, env: dict[str, str], recorder_factory, home: Path
) -> None:
    one = x.xterm("Praxis Clicks One", 0, 0)
    two = x.xterm("Praxis Clicks Two", 1000, 0)
    x.focus(one)
    rec = recorder_factory(consented).start()
    pause = Settings().typing_pause_s
    made = 0
    for word in ("alpha", "bravo", "charlie"):
        # A click the moment typing ends: the run is ended by the click itself.
        x.type_text(word, delay_ms=20)
        x.click(300, 200 + 40 * made)
        made += 1
        # A click just after the frame of a typing pause (well within min_frame_gap_s).
        x.type_text(word, delay_ms=20)
        time.sleep(pause + 0.05)
        x.click(300, 200 + 40 * made)
        made += 1
    # Clicks that switch windows (focus moves with them: the switch is noticed at the click
    # and takes a frame of its own first), then a double click.
    for window, at in ((two, (1200, 150)), (one, (300, 150))):
        x.focus(window)
        x.click(*at)
        made += 1
        time.sleep(0.3)
    x.xdotool("mousemove", "400", "300", "click", "--repeat", "2", "--delay", "120", "1")
    made += 2
    time.sleep(0.3)
    assert rec.stop(signal.SIGINT) == 0, rec.output()

    (segment,) = export(consented, home / "out", env)
    events = segment.events
    downs = [
        i for i, e in enumerate(events) if e["type"] == "mouse_button" and e["action"] == "down"
    ]
    assert len(downs) == made
    frames = [e for e in events if e["type"] == "frame"]
    for n, index in enumerate(downs):
        own = events[index - 1]
        assert own["type"] == "frame", f"click {n} has no frame: {events[index - 3 : index + 1]}"
        assert own["trigger"] == "mouse_down" and own["t"] == events[index]["t"], own
        assert (segment.folder / own["file"]).is_file(), own
        if "same_as" in own:
            shown = next(f for f in frames if f["frame"] == own["same_as"])
            assert "same_as" not in shown and shown["file"] == own["file"]
            assert shown["t"] <= own["t"]
    # Every click action names the frame of its own press.
    actions = [
        json.loads(line) for line in (segment.folder / "actions.jsonl").read_text().splitlines()
    ]
    by_number = {f["frame"]: f for f in frames}
    for action in actions:
        if action["type"] in ("click", "double_click"):
            frame = by_number[action["frame"]]
            assert frame["trigger"] == "mouse_down" and frame["t"] == action["t"], action
    # A file is written once however many clicks show it, and every file is a screenshot.
    files = {f["file"] for f in frames}
    assert sorted(p.name for p in (segment.folder / "frames").iterdir()) == sorted(
        Path(f).name for f in files
    )
    assert len(files) < len(frames), "some click repeated an unchanged screen"
    for name in files:
        with Image.open(segment.folder / name) as image:
            assert np.asarray(image).shape[:2] == (1080, 1920)
    assert segment.manifest["redaction"]["dropped_frames"] == 0
