"""What `status` and `review --list` say while the first segment is still being recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.core.control import ControlServer
from app.core.queries import open_segments
from app.core.recorder import Recorder
from app.core.service import handle_request
from app.core.settings import Settings
from tests.unit.fakes import FixedWindow, ScriptedInput
from tests.unit.test_recorder import TERMINAL, keyboard, wait_for


@pytest.fixture
def running(data_dir: Path) -> Iterator[Recorder]:
    """A recorder reachable through its control socket, as `praxis record` runs it."""
    recorder = Recorder(
        data_dir,
        Settings(capture_screen=False),
        platform_factory=lambda: FixedWindow(TERMINAL),
        input_factory=ScriptedInput,
    )
    recorder.accept_consent()
    recorder.start()
    server = ControlServer(data_dir, lambda req: handle_request(recorder, req, threading.Event()))
    server.start()
    yield recorder
    server.stop()
    recorder.shutdown()


def test_status_right_after_start_spans_the_events_already_stored(
    running: Recorder, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = keyboard()
    kb.type_text("a few words typed in the first seconds")
    wait_for(lambda: running.status().counters["pending_events"] >= 20)
    assert main(["status", "--json", "--data-dir", str(data_dir)]) == 0
    status = json.loads(capsys.readouterr().out)
    with running.buffer.reader() as db:  # read after: more may have been stored since
        last_wall = db.execute("SELECT max(wall) FROM events").fetchone()[0]
    assert status["pending_first"] < status["pending_last"] <= last_wall


def test_review_list_names_the_segment_being_recorded_and_seal_now_makes_it_reviewable(
    running: Recorder, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = keyboard()
    kb.type_text("first minute of work")
    wait_for(lambda: running.status().counters["pending_events"] >= 10)
    assert main(["review", "--list", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "Nothing waits for review." in out
    assert "Recording now: seg_" in out and "praxis review --seal-now" in out
    open_id = out.split("Recording now: ")[1].split()[0]

    assert main(["review", "--seal-now", "--data-dir", str(data_dir)]) == 0
    assert "recording goes on" in capsys.readouterr().out
    wait_for(lambda: [s["id"] for s in open_segments(running.buffer)] not in ([], [open_id]))
    assert main(["review", "--list", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    listed = [line for line in out.splitlines() if line.startswith(open_id)]
    assert listed and "waiting for review" in listed[0]
    assert "Recording now: seg_" in out and f"Recording now: {open_id}" not in out
