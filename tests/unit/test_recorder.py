"""The recorder's state machine and data path, with scripted input instead of a person."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.errors import ConsentRequired, PraxisError
from app.core.export import export
from app.core.model import WindowInfo
from app.core.recorder import Recorder
from app.core.settings import Settings
from app.core.state import RecorderState, Status
from tests.unit.fakes import FixedWindow, ScriptedInput

TERMINAL = WindowInfo("xterm", "Terminal", 0, 0, 800, 600, handle="0x1")


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@pytest.fixture
def platform() -> FixedWindow:
    return FixedWindow(TERMINAL)


@pytest.fixture
def make_recorder(data_dir: Path, platform: FixedWindow) -> Iterator[Callable[..., Recorder]]:
    made: list[Recorder] = []

    def make(**overrides: object) -> Recorder:
        settings = Settings(capture_screen=False, **overrides)  # type: ignore[arg-type]
        recorder = Recorder(
            data_dir, settings, platform_factory=lambda: platform, input_factory=ScriptedInput
        )
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.shutdown()


def keyboard() -> ScriptedInput:
    wait_for(lambda: bool(ScriptedInput.instances) and ScriptedInput.instances[-1].started)
    return ScriptedInput.instances[-1]


def exported_events(recorder: Recorder, out: Path) -> list[dict]:
    recorder.flush_to_disk()
    events = []
    for folder in export(recorder.buffer, out):
        events += [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    return events


def test_nothing_is_captured_before_consent(make_recorder: Callable[..., Recorder]) -> None:
    ScriptedInput.instances.clear()
    recorder = make_recorder()
    recorder.start()
    assert recorder.state == RecorderState.NEEDS_CONSENT
    assert ScriptedInput.instances == []  # no listener was even created
    with pytest.raises(ConsentRequired):
        recorder.resume()


def test_accepting_consent_starts_recording(make_recorder: Callable[..., Recorder]) -> None:
    recorder = make_recorder()
    seen: list[Status] = []
    recorder.add_listener(on_status=seen.append)
    recorder.start()
    recorder.accept_consent()
    assert recorder.state == RecorderState.RECORDING
    assert [s.state for s in seen] == [RecorderState.NEEDS_CONSENT, RecorderState.RECORDING]


def test_typed_text_is_stored_redacted(
    make_recorder: Callable[..., Recorder], tmp_path: Path
) -> None:
    recorder = make_recorder()
    recorder.accept_consent()
    recorder.start()
    kb = keyboard()
    kb.type_text("write to ann@example.com today")
    kb.press("enter")
    kb.click(10, 20)
    wait_for(lambda: kb.events.empty())
    events = exported_events(recorder, tmp_path / "out")
    texts = [e["text"] for e in events if e["type"] == "text"]
    assert texts == ["write to [EMAIL] today"]
    assert [e["type"] for e in events][:2] == ["window", "key"]
    assert events[0]["title"] == "Terminal"
    clicks = [e for e in events if e["type"] == "mouse_button"]
    assert [(c["action"], c["x"], c["y"]) for c in clicks] == [("down", 10, 20), ("up", 10, 20)]


def test_pause_stops_capture_at_once_and_resume_restarts(
    make_recorder: Callable[..., Recorder], tmp_path: Path
) -> None:
    recorder = make_recorder()
    recorder.accept_consent()
    recorder.start()
    first = keyboard()
    started = time.monotonic()
    recorder.pause()
    assert time.monotonic() - started < 1.0
    assert recorder.state == RecorderState.PAUSED and not first.started
    first.type_text("typed while paused")  # the listener is stopped; nobody drains this
    recorder.resume()
    second = keyboard()
    assert second is not first
    second.type_text("after")
    second.press("enter")
    wait_for(lambda: second.events.empty())
    texts = [e["text"] for e in exported_events(recorder, tmp_path / "out") if e["type"] == "text"]
    assert texts == ["after"]


def test_timed_pause_resumes_by_itself(make_recorder: Callable[..., Recorder]) -> None:
    recorder = make_recorder()
    recorder.accept_consent()
    recorder.start()
    notices: list[tuple[str, str]] = []
    resumed = threading.Event()
    recorder.add_listener(
        on_status=lambda s: resumed.set() if s.state == RecorderState.RECORDING else None,
        on_notice=lambda title, message: notices.append((title, message)),
    )
    status = recorder.pause(0.3)
    assert status.paused_until is not None and status.reason == "paused for 0 s"
    assert resumed.wait(3)
    wait_for(lambda: bool(notices))
    assert notices[0][0] == "Recording resumed"


def test_delete_last_minutes_removes_rows_and_logs_it(
    make_recorder: Callable[..., Recorder], tmp_path: Path
) -> None:
    recorder = make_recorder()
    recorder.accept_consent()
    recorder.start()
    kb = keyboard()
    kb.type_text("secret plans")
    kb.press("enter")
    wait_for(lambda: kb.events.empty())
    recorder.flush_to_disk()
    report = recorder.delete_last(300)
    assert report.events >= 24 and report.segments >= 1
    assert recorder.state == RecorderState.RECORDING
    recorder.flush_to_disk()
    counts = recorder.status().counters
    assert counts["pending_events"] <= 2  # at most the new segment's window event
    from app.core.queries import activity

    assert any("delete the last 5 min" in row["message"] for row in activity(recorder.buffer))


def test_withdrawing_consent_stops_and_deletes(make_recorder: Callable[..., Recorder]) -> None:
    recorder = make_recorder()
    recorder.accept_consent()
    recorder.start()
    kb = keyboard()
    kb.type_text("hello")
    kb.press("enter")
    wait_for(lambda: kb.events.empty())
    recorder.withdraw_consent()
    assert recorder.state == RecorderState.NEEDS_CONSENT
    assert recorder.status().counters["pending_events"] == 0
    assert recorder.consent_on_record() is None


def test_changed_consent_version_needs_new_consent(make_recorder: Callable[..., Recorder]) -> None:
    from dataclasses import replace

    recorder = make_recorder()
    recorder.accept_consent()
    recorder.consent_text = replace(
        recorder.consent_text, version=recorder.consent_text.version + 1
    )
    recorder.start()
    assert recorder.state == RecorderState.NEEDS_CONSENT


def test_segments_rotate_and_are_sealed(make_recorder: Callable[..., Recorder]) -> None:
    recorder = make_recorder(segment_minutes=0.01)  # 0.6 s
    recorder.accept_consent()
    recorder.start()
    kb = keyboard()
    for _ in range(3):
        kb.type_text("abc")
        time.sleep(0.5)
    recorder.shutdown()
    from app.core.queries import segments

    rows = segments(recorder.buffer)
    assert len(rows) >= 2
    # Sealed segments are put up for review in the background; empty ones are dropped.
    assert {r["state"] for r in rows} <= {"sealed", "pending_review", "deleted"}
    assert rows[0]["sealed_reason"] == "segment length reached"


def test_pausing_when_not_recording_is_a_clear_error(
    make_recorder: Callable[..., Recorder],
) -> None:
    recorder = make_recorder()
    recorder.start()
    with pytest.raises(PraxisError, match="cannot pause while needs consent"):
        recorder.pause()


def test_disk_budget_pauses_with_a_notice(make_recorder: Callable[..., Recorder]) -> None:
    recorder = make_recorder(disk_budget_mb=1)  # below what settings files allow, to keep it quick
    recorder.accept_consent()
    recorder.start()
    notices: list[tuple[str, str]] = []
    recorder.add_listener(on_notice=lambda t, m: notices.append((t, m)))
    recorder.buffer.write(lambda tx: tx.log("test", "x" * 1_200_000))
    recorder._wake.set()
    wait_for(lambda: recorder.state == RecorderState.PAUSED)
    assert "disk budget" in recorder.status().reason
    wait_for(lambda: bool(notices))
    with pytest.raises(PraxisError, match="budget"):
        recorder.resume()


def test_excluded_app_in_front_yields_nothing(
    make_recorder: Callable[..., Recorder], platform: FixedWindow, tmp_path: Path
) -> None:
    platform.window = WindowInfo("keepassxc", "Passwords.kdbx", 0, 0, 10, 10, handle="0x9")
    recorder = make_recorder(excluded_apps=("KeePassXC",))
    recorder.accept_consent()
    recorder.start()
    assert recorder.status().excluded
    kb = keyboard()
    kb.type_text("master password")
    kb.click(1, 1)
    wait_for(lambda: kb.events.empty())
    platform.window = TERMINAL
    kb.type_text("ok")
    kb.press("enter")
    wait_for(lambda: not recorder.status().excluded)
    events = exported_events(recorder, tmp_path / "out")
    assert [e["text"] for e in events if e["type"] == "text"] == ["ok"]
    assert not [e for e in events if e["type"] == "mouse_button"]
    windows = [e for e in events if e["type"] == "window"]
    assert windows[0] == {
        "t": windows[0]["t"],
        "type": "window",
        "app": "keepassxc",
        "title": "",
        "x": 0,
        "y": 0,
        "w": 10,
        "h": 10,
        "excluded": True,
    }
    assert windows[-1]["title"] == "Terminal"


def test_full_disk_stops_recording_keeps_committed_data_and_resume_recovers(
    make_recorder: Callable[..., Recorder], tmp_path: Path
) -> None:
    recorder = make_recorder()
    recorder.accept_consent()
    recorder.start()
    kb = keyboard()
    kb.type_text("kept before")
    kb.press("enter")
    wait_for(lambda: kb.events.empty())
    recorder.flush_to_disk()
    kb = keyboard()
    notices: list[tuple[str, str]] = []
    recorder.add_listener(on_notice=lambda t, m: notices.append((t, m)))

    def fill_to_the_brim(tx):  # type: ignore[no-untyped-def]
        pages = tx.db.execute("PRAGMA page_count").fetchone()[0]
        tx.db.execute(f"PRAGMA max_page_count = {pages}")  # the writer's file cannot grow

    recorder.buffer.write(fill_to_the_brim)
    for _ in range(300):
        kb.type_text("lost words " * 5)
        kb.press("enter")
        if recorder.state == RecorderState.ERROR:
            break
        time.sleep(0.01)
    wait_for(lambda: recorder.state == RecorderState.ERROR, timeout=10)
    assert "disk holding the recordings is full" in recorder.status().reason
    wait_for(lambda: bool(notices))
    recorder.resume()  # a fresh writer: the "disk" has room again
    assert recorder.state == RecorderState.RECORDING
    texts = [e["text"] for e in exported_events(recorder, tmp_path / "out") if e["type"] == "text"]
    assert texts[0] == "kept before"
