"""Commands while the disk is full: the recorder stops once, says why once (on screen and in
the activity log), exports what it kept, and does not claim to record before it can."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.buffer import store
from app.core.errors import PraxisError
from app.core.export import export
from app.core.queries import activity
from app.core.recorder import Recorder
from app.core.settings import Settings
from app.core.state import RecorderState
from tests.unit.fakes import FixedWindow, ScriptedInput
from tests.unit.test_recorder import TERMINAL, keyboard, wait_for


class Disk:
    """Room on the 'disk': every buffer connection may grow the file up to `max_pages`
    (SQLite's max_page_count), the portable stand-in for a full file system."""

    def __init__(self) -> None:
        self.max_pages: int | None = None

    def connect(self, path: Path) -> object:
        db = _real_connect(path)
        if self.max_pages is not None:
            db.execute(f"PRAGMA max_page_count = {self.max_pages}")
        return db

    def fill(self, buffer: store.Buffer) -> None:
        with buffer.reader() as db:
            self.max_pages = db.execute("PRAGMA page_count").fetchone()[0]


_real_connect = store._connect


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    disk = Disk()
    monkeypatch.setattr(store, "_connect", disk.connect)
    return disk


@pytest.fixture
def recorder(data_dir: Path) -> Iterator[Recorder]:
    made = Recorder(
        data_dir,
        Settings(capture_screen=False),
        platform_factory=lambda: FixedWindow(TERMINAL),
        input_factory=ScriptedInput,
    )
    made.accept_consent()
    made.start()
    yield made
    made.shutdown()


def _record_until_the_disk_is_full(recorder: Recorder, disk: Disk) -> None:
    kb = keyboard()
    kb.type_text("kept before")
    kb.press("enter")
    wait_for(lambda: kb.events.empty())
    recorder.flush_to_disk()
    disk.fill(recorder.buffer)
    # The running writer opened its connection before: cap it the same way.
    recorder.buffer.write(
        lambda tx: tx.db.execute(f"PRAGMA max_page_count = {disk.max_pages}").fetchone()
    )
    kb = keyboard()
    for _ in range(300):
        kb.type_text("lost words " * 5)
        kb.press("enter")
        if recorder.state == RecorderState.ERROR:
            break
        wait_for(lambda: kb.events.qsize() < 100 or recorder.state == RecorderState.ERROR)
    wait_for(lambda: recorder.state == RecorderState.ERROR, timeout=10)


def test_while_the_disk_is_full_export_works_and_resume_refuses_in_words(
    recorder: Recorder, disk: Disk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="app.core.recorder")
    _record_until_the_disk_is_full(recorder, disk)

    recorder.flush_to_disk()  # what `praxis export` asks first: no "writer not running"
    folders = export(recorder.buffer, tmp_path / "out", include_open=True)
    texts = "".join((f / "events.jsonl").read_text() for f in folders)
    assert "kept before" in texts

    with pytest.raises(PraxisError, match="disk holding the recordings is full"):
        recorder.resume()
    assert recorder.state == RecorderState.ERROR  # not "recording" while nothing can be kept

    disk.max_pages = None  # space is back
    recorder.resume()
    assert recorder.state == RecorderState.RECORDING
    recorder.flush_to_disk()
    errors = [r["message"] for r in activity(recorder.buffer) if r["kind"] == "error"]
    assert len(errors) == 1 and "disk holding the recordings is full" in errors[0]
    said = [r for r in caplog.records if "recording stopped by an error" in r.getMessage()]
    assert len(said) == 1


def test_disk_full_is_told_apart_from_a_damaged_buffer(data_dir: Path) -> None:
    buffer = store.Buffer(data_dir)
    conn = sqlite3.connect(buffer.path)
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    conn.close()
    assert not store._really_corrupt(buffer.path, full)
    assert "full" in store._unusable(buffer.path, full).message


def test_deleting_works_while_the_disk_is_full(recorder: Recorder, disk: Disk) -> None:
    _record_until_the_disk_is_full(recorder, disk)
    report = recorder.delete_pending()  # no "writer not running": the person may always delete
    assert report.events > 0
    assert recorder.status().counters["pending_events"] == 0
    assert recorder.state == RecorderState.ERROR  # deleting does not start recording
