"""Controlling a running recorder from the CLI: pause, resume, delete, withdraw consent, and the
activity log that records each of them."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from support.xsession import (
    RecorderProcess,
    XServer,
    check_cli,
    export,
    praxis_cmd,
    status,
    type_recorded,
    typed_text,
    wait_for,
)

from app.core import control

pytestmark = pytest.mark.x11

_ACTIVITY_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (\S+)\s+(.*)$")


def activity(data_dir: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    """(kind, message) of every line of `praxis activity`, oldest first."""
    lines = check_cli(data_dir, "activity", env=env).splitlines()
    parsed = [_ACTIVITY_LINE.match(line) for line in lines]
    assert all(parsed), lines
    return [(m.group(1), m.group(2)) for m in parsed if m]


def deleted_counts(out: str) -> tuple[int, int]:
    """(events, frames) from the one-line report of `praxis delete`."""
    match = re.match(r"Deleted (\d+) events? and (\d+) (?:frames?|screenshots?)\b", out)
    assert match, out
    return int(match.group(1)), int(match.group(2))


def type_unrecorded(x: XServer, text: str) -> None:
    """Type while nothing is being recorded (there is nothing to wait for)."""
    x.type_text(text)
    x.key("Return")


def started_at(segment) -> float:  # noqa: ANN001
    return datetime.fromisoformat(segment.manifest["started_at"]).timestamp()


@pytest.fixture
def terminal(x: XServer):  # noqa: ANN201
    window = x.xterm("Praxis control test", 0, 0)
    x.focus(window)
    return window


def test_pause_stops_capture_until_resume(
    terminal,
    recorder: RecorderProcess,
    x: XServer,
    consented: Path,
    env: dict[str, str],
    home: Path,
) -> None:
    type_recorded(x, consented, env, "before the pause")

    out = check_cli(consented, "pause", env=env)
    assert out.strip() == "Paused: paused until resumed"
    recorder.wait_state("paused", timeout=1.0)
    paused = status(consented, env)
    assert paused["reason"] == "paused until resumed" and paused["paused_until"] is None

    type_unrecorded(x, "typed while paused")
    assert check_cli(consented, "resume", env=env).strip() == "Recording: recording"
    recorder.wait_state("recording", timeout=1.0)
    type_recorded(x, consented, env, "after the resume")

    assert recorder.stop() == 0, recorder.output()
    segments = export(consented, home / "out", env)
    assert (
        typed_text(e for s in segments for e in s.events) == "before the pause\nafter the resume\n"
    )
    assert segments[0].manifest["sealed_reason"] == "paused"
    # Nothing at all was captured between the pause and the resume.
    first, second = segments[0], segments[1]
    assert datetime.fromisoformat(first.manifest["ended_at"]) <= datetime.fromisoformat(
        second.manifest["started_at"]
    )

    log = activity(consented, env)
    assert ("pause", "paused until resumed") in log
    assert ("resume", "recording resumed") in log
    assert [k for k, _ in log].index("pause") < [k for k, _ in log].index("resume")


def test_pause_takes_effect_within_a_second(
    terminal, recorder: RecorderProcess, x: XServer, consented: Path, env: dict[str, str]
) -> None:
    """From issuing `praxis pause` (its own start-up included) to the recorder saying it is
    paused. Polled on the control socket, so the poll is not slower than what it measures.
    Typing first matters: input listeners that have seen events must not hold the pause up."""
    type_recorded(x, consented, env, "some typing first")
    issued = time.monotonic()
    pause = subprocess.Popen(praxis_cmd(consented, "pause"), env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for(
            lambda: control.send(consented, {"cmd": "status"}, timeout=5)["state"] == "paused",
            10,
            "the pause",
            interval=0.02,
        )
        took = time.monotonic() - issued
    finally:
        pause.wait(30)
    assert took <= 1.0, f"`praxis pause` took {took:.1f} s to take effect"


def test_timed_pause_resumes_by_itself(
    terminal,
    recorder: RecorderProcess,
    x: XServer,
    consented: Path,
    env: dict[str, str],
    home: Path,
) -> None:
    before = time.time()
    assert check_cli(consented, "pause", "--for", "4s", env=env).strip() == "Paused: paused for 4 s"
    type_unrecorded(x, "typed while paused")
    typed_by = time.time()
    paused = status(consented, env)
    assert paused["state"] == "paused"
    assert before + 3.5 <= paused["paused_until"] <= time.time() + 4.5
    assert typed_by < paused["paused_until"], "too slow: the typing outlasted the pause"

    recorder.wait_state("recording", timeout=8.0)
    assert time.time() >= paused["paused_until"] - 0.05, "resumed before the pause ran out"
    type_recorded(x, consented, env, "after the timed pause")

    assert recorder.stop() == 0, recorder.output()
    segments = export(consented, home / "out", env)
    assert typed_text(e for s in segments for e in s.events) == "after the timed pause\n"
    assert "Recording resumed: The timed pause has ended." in recorder.output()
    log = activity(consented, env)
    assert ("pause", "paused for 4 s") in log
    assert ("resume", "recording resumed automatically") in log


def test_deleting_while_paused_leaves_nothing_pending(
    terminal,
    recorder: RecorderProcess,
    x: XServer,
    consented: Path,
    env: dict[str, str],
    home: Path,
) -> None:
    type_recorded(x, consented, env, "alpha words")
    check_cli(consented, "pause", env=env)
    counts = status(consented, env)
    assert counts["pending_events"] > 0 and counts["pending_frames"] > 0

    out = check_cli(consented, "delete", "--last", "5m", env=env)
    assert deleted_counts(out) == (counts["pending_events"], counts["pending_frames"]), out
    after = status(consented, env)
    assert after["state"] == "paused"
    pending = (after["pending_segments"], after["pending_events"], after["pending_frames"])
    assert pending == (0, 0, 0)
    assert after["pending_frame_bytes"] == 0

    # Deleting everything while recording: recording goes on, in a new segment.
    check_cli(consented, "resume", env=env)
    type_recorded(x, consented, env, "bravo words")
    cut = time.time()
    out = check_cli(consented, "delete", "--all-pending", env=env)
    assert deleted_counts(out)[0] > 0, out
    assert recorder.state() == "recording"
    type_recorded(x, consented, env, "charlie words")

    assert recorder.stop() == 0, recorder.output()
    segments = export(consented, home / "out", env)
    assert typed_text(e for s in segments for e in s.events) == "charlie words\n"
    assert segments and all(started_at(s) >= cut for s in segments)
    kinds = [(k, m.split(":")[0]) for k, m in activity(consented, env)]
    assert ("delete", "delete the last 5 min") in kinds
    assert ("delete", "delete everything not yet uploaded") in kinds


def test_delete_last_while_recording_keeps_recording(
    terminal,
    recorder: RecorderProcess,
    x: XServer,
    consented: Path,
    env: dict[str, str],
    home: Path,
) -> None:
    type_recorded(x, consented, env, "alpha words")
    cut = time.time()
    out = check_cli(consented, "delete", "--last", "5m", env=env)
    assert deleted_counts(out)[0] > 0, out
    assert recorder.state() == "recording", "recording goes on after a deletion"
    type_recorded(x, consented, env, "bravo words")

    assert recorder.stop() == 0, recorder.output()
    segments = export(consented, home / "out", env)
    assert typed_text(e for s in segments for e in s.events) == "bravo words\n"
    assert segments and all(started_at(s) >= cut for s in segments), "kept data from before"
    log = activity(consented, env)
    assert any(k == "delete" and m.startswith("delete the last 5 min: deleted ") for k, m in log)


def test_withdrawing_consent_stops_recording_and_deletes(
    terminal,
    recorder: RecorderProcess,
    x: XServer,
    consented: Path,
    env: dict[str, str],
    home: Path,
) -> None:
    type_recorded(x, consented, env, "recorded then withdrawn")

    out = check_cli(consented, "consent", "--withdraw", env=env)
    assert out.startswith("Consent withdrawn; recording stopped and deleted "), out
    after = status(consented, env)
    assert after["state"] == "needs_consent"
    assert (after["pending_segments"], after["pending_events"], after["pending_frames"]) == (
        0,
        0,
        0,
    )
    type_unrecorded(x, "typed after withdrawal")
    assert status(consented, env)["pending_events"] == 0

    # Accepting again starts recording again in the same process.
    check_cli(consented, "consent", "--accept", env=env)
    recorder.wait_state("recording", timeout=5)
    type_recorded(x, consented, env, "typed after accepting again")
    assert recorder.stop() == 0, recorder.output()
    segments = export(consented, home / "out", env)
    assert typed_text(e for s in segments for e in s.events) == "typed after accepting again\n"
    log = activity(consented, env)
    assert any(k == "consent" and m.startswith("consent withdrawn; deleted ") for k, m in log), log
