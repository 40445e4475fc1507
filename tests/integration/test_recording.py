"""Acceptance: what a person does on a real X display comes out of `praxis export` intact."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.xsession import (
    SCREEN_H,
    SCREEN_W,
    XServer,
    export,
    typed_text,
)

from app.core.settings import Settings

pytestmark = pytest.mark.x11

# Letters, digits, spaces and punctuation that the default US keymap of Xvfb types directly.
LINES = [
    "The quick brown fox jumps over the lazy dog, 42 times in a row.",
    "Meeting notes (draft 3): ship build 7.1 on Monday; review at 10.",
    "Checklist - open the report, fix typos, save it as notes/final-2.txt!",
    "Why? Because 5 + 6 = 11, and that's all we wanted to know.",
]
# Ten distinct points on the bare desktop, between the terminals: nothing there reacts to a
# click, so the screen at each click is exactly known.
CLICKS = [(560 + 40 * i, 400 + 60 * i) for i in range(10)]
SCROLLS = [(4, 1), (4, 1), (5, -1), (5, -1), (5, -1)]  # X button, expected sign of dy
# Frames other than a click's are spaced by min_frame_gap_s; waiting this long between clicks
# lets a frame taken for anything else settle first.
CLICK_GAP_S = Settings().min_frame_gap_s + 0.15


def frame_pixels(folder: Path, event: dict) -> np.ndarray:
    with Image.open(folder / event["file"]) as image:
        return np.asarray(image.convert("RGB"))


def same_pixels(frame: np.ndarray, screen: np.ndarray, keep_as: Path) -> bool | str:
    """True, or where the two differ (both images are kept beside `keep_as` to look at)."""
    if frame.shape == screen.shape and np.array_equal(frame, screen):
        return True
    Image.fromarray(frame).save(f"{keep_as}-frame.png")
    Image.fromarray(screen).save(f"{keep_as}-screen.png")
    if frame.shape != screen.shape:
        return f"shape {frame.shape} != {screen.shape}"
    ys, xs = np.nonzero(np.any(frame != screen, axis=2))
    return (
        f"{len(xs)} pixels differ in x {xs.min()}-{xs.max()}, y {ys.min()}-{ys.max()} ({keep_as})"
    )


def test_typing_clicks_scrolls_and_window_switch_are_exported(
    x: XServer, consented: Path, env: dict[str, str], recorder_factory, home: Path
) -> None:
    one = x.xterm("Praxis Notes One", 0, 0)
    two = x.xterm("Praxis Notes Two", 1000, 0)
    # Moving this one changes the screen without any input the recorder would see.
    scratch = x.xterm("Praxis Scratch", 1500, 800, cols=20, rows=3)
    x.focus(one)
    rec = recorder_factory(consented).start()

    # Ten clicks. Before every other one the screen changes; the others are made on the screen
    # of the frame before them, and refer to it instead of storing its pixels again.
    # (Clicks come before the typing: the frame the recorder takes when typing pauses would
    # otherwise race with the first click.)
    screens: list[np.ndarray] = []
    changed: list[bool] = []
    for i, (cx, cy) in enumerate(CLICKS):
        if i % 2 == 0:
            x.move_window(scratch, 1500, 800 - 60 * (i // 2 + 1))
        x.move_pointer(cx, cy)
        screens.append(x.settled_screen())
        changed.append(i % 2 == 0)
        x.click_here()
        time.sleep(CLICK_GAP_S)

    for button, _sign in SCROLLS:
        x.click(200, 200, button)
        time.sleep(0.05)

    # Typing: every key, in order; Return between lines.
    for line in LINES:
        x.type_text(line, delay_ms=20)
        x.key("Return")
    typed = "\n".join(LINES) + "\n"
    assert len(typed.replace("\n", "")) >= 200

    # Switch to the second terminal and click inside it.
    x.focus(two)
    switch_click = (1200, 150)
    x.click(*switch_click)
    time.sleep(CLICK_GAP_S)

    assert rec.stop(signal.SIGINT) == 0, rec.output()
    assert "Stopped." in rec.output()

    segments = export(consented, home / "out", env)
    assert len(segments) == 1, [s.manifest for s in segments]
    seg = segments[0]
    events = seg.events

    # -- manifest ------------------------------------------------------------------
    m = seg.manifest
    assert m["format_version"] == 1
    assert m["device_id"].startswith("dev_")
    assert m["session_id"].startswith("ses_")
    assert m["segment_id"].startswith("seg_") and m["segment_id"] == seg.folder.name
    assert m["state"] in ("sealed", "pending_review")  # put up for review in the background
    assert m["sealed_reason"] == "recorder stopped"
    assert len(m["screens"]) == 1
    assert {k: m["screens"][0][k] for k in ("left", "top", "width", "height")} == {
        "left": 0,
        "top": 0,
        "width": SCREEN_W,
        "height": SCREEN_H,
    }
    frames = [e for e in events if e["type"] == "frame"]
    assert m["counts"]["events"] == len(events) - len(frames)
    assert m["counts"]["frames"] == len(frames)
    assert m["redaction"] == {"hits": {}, "dropped_frames": 0, "dropped_events": 0}

    # -- every line has t and type, in time order ----------------------------------
    for event in events:
        assert isinstance(event["t"], float | int) and isinstance(event["type"], str)
    times = [e["t"] for e in events]
    assert times == sorted(times), "events are not in time order"

    # -- keys ----------------------------------------------------------------------
    assert typed_text(events) == typed
    keys = [e for e in events if e["type"] == "key"]
    for e in keys:
        if e["action"] == "up":
            assert e["char"] is None
        elif e["char"] is not None:
            assert "redacted" not in e
            expected = {" ": "space"}.get(e["char"]) or (
                "letter" if e["char"].isalpha() else "digit" if e["char"].isdigit() else "symbol"
            )
            assert e["key"] == expected, e
    downs = [e for e in keys if e["action"] == "down" and e["char"] is not None]
    ups = [
        e
        for e in keys
        if e["action"] == "up" and e["key"] in ("letter", "digit", "symbol", "space")
    ]
    assert len(ups) >= len(downs) == len(typed.replace("\n", ""))
    assert [e["key"] for e in keys if e["action"] == "down" and e["key"] == "enter"] == [
        "enter"
    ] * 4
    texts = [e for e in events if e["type"] == "text"]
    assert "".join(e["text"] for e in texts) == "".join(LINES)
    assert all(e["redactions"] == [] for e in texts)

    # -- clicks --------------------------------------------------------------------
    downs_at = [
        i for i, e in enumerate(events) if e["type"] == "mouse_button" and e["action"] == "down"
    ]
    clicks = [events[i] for i in downs_at]
    assert [(c["button"], c["x"], c["y"]) for c in clicks] == [
        ("left", cx, cy) for cx, cy in [*CLICKS, switch_click]
    ]
    ups_ = [e for e in events if e["type"] == "mouse_button" and e["action"] == "up"]
    assert [(e["x"], e["y"]) for e in ups_] == [(c["x"], c["y"]) for c in clicks]

    # -- frames before clicks ------------------------------------------------------
    # Every click has a frame of its own, stamped at the click and stored right before it,
    # showing the screen exactly. On an unchanged screen it names the earlier frame's file
    # (`same_as`) rather than a copy of its pixels.
    for n, index in enumerate(downs_at):
        click, latest = events[index], events[index - 1]
        assert latest["type"] == "frame", f"click {n}: {latest}"
        assert latest["trigger"] == "mouse_down" and latest["t"] == click["t"], n
        if n == len(CLICKS):
            continue  # the click in the second terminal: its screen is not known here
        earlier = [e for e in events[: index - 1] if e["type"] == "frame"][-1]
        if changed[n]:
            assert "same_as" not in latest and latest["file"] != earlier["file"], n
        else:
            assert latest["same_as"] == earlier.get("same_as", earlier["frame"]), n
            assert latest["file"] == earlier["file"], n
        same = same_pixels(frame_pixels(seg.folder, latest), screens[n], home / f"click-{n}")
        assert same is True, f"the frame of click {n} ({latest}) is not the screen: {same}"

    # -- frame files ---------------------------------------------------------------
    assert frames[0]["trigger"] == "segment_start" and frames[0]["t"] == 0
    for frame in frames:
        assert frame["w"] == SCREEN_W and frame["h"] == SCREEN_H
        assert frame["lag_ms"] >= 0
        with Image.open(seg.folder / frame["file"]) as image:
            image.load()
            assert image.size == (SCREEN_W, SCREEN_H)
    assert sorted(p.name for p in (seg.folder / "frames").iterdir()) == sorted(
        {Path(f["file"]).name for f in frames}
    )

    # -- scrolls -------------------------------------------------------------------
    scrolls = [e for e in events if e["type"] == "scroll"]
    assert [(e["x"], e["y"]) for e in scrolls] == [(200, 200)] * len(SCROLLS)
    assert [int(np.sign(e["dy"])) for e in scrolls] == [sign for _b, sign in SCROLLS]
    assert all(e["dx"] == 0 for e in scrolls)

    # -- windows -------------------------------------------------------------------
    windows = [(i, e) for i, e in enumerate(events) if e["type"] == "window"]
    titles = [e["title"] for _i, e in windows]
    assert titles[0] == "Praxis Notes One"
    assert "Praxis Notes Two" in titles
    assert all(e["app"] == "xterm" for _i, e in windows)
    switch_at = next(i for i, e in windows if e["title"] == "Praxis Notes Two")
    assert switch_at < downs_at[-1], "the switch to the second terminal comes before its click"
    first = windows[0][1]
    assert (first["w"], first["h"]) > (0, 0) and first["x"] <= 1 and first["y"] <= 1
    # The switch is seen by the time of the click in the new window, with a frame of its own
    # (taken when the switch is noticed, or at the click) before that click.
    switch_frames = [e for e in events[switch_at : downs_at[-1]] if e["type"] == "frame"]
    assert switch_frames, "no frame between the window switch and the click in it"
    assert switch_frames[-1]["trigger"] in ("window_change", "mouse_down")
    assert switch_frames[-1]["t"] <= events[downs_at[-1]]["t"]
    moves = [e for e in events if e["type"] == "mouse_move"]
    assert moves and all(0 <= e["x"] < SCREEN_W and 0 <= e["y"] < SCREEN_H for e in moves)

    # -- actions: what a person would say they did ---------------------------------
    actions = [
        json.loads(line)
        for line in (seg.folder / "actions.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert m["counts"]["actions"] == len(actions)
    assert [(a["x"], a["y"]) for a in actions if a["type"] == "click"] == [
        *CLICKS,
        switch_click,
    ]
    assert "".join(a["text"] for a in actions if a["type"] == "type") == "".join(LINES)
    assert [a["key"] for a in actions if a["type"] == "key"] == ["enter"] * 4
    assert sum(a["count"] for a in actions if a["type"] == "scroll") == len(SCROLLS)
    assert [a["title"] for a in actions if a["type"] == "window"][-1] == "Praxis Notes Two"
    frame_ids = {e["frame"] for e in frames}
    for action in actions:
        assert action["frame"] is None or action["frame"] in frame_ids, action
    first_click = next(a for a in actions if a["type"] == "click")
    assert first_click["frame"] is not None
