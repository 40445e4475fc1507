"""Opening an existing buffer: a healthy one is never called corrupt, whatever state a crash
or a full disk left its write-ahead log in; a damaged one is set aside, never overwritten."""

from __future__ import annotations

import os
import sqlite3
import stat
import struct
from pathlib import Path

import pytest

from app.core.buffer.store import Buffer
from app.core.errors import KeyringUnavailable, StorageError
from app.core.model import EventRecord
from app.core.queries import activity


def _checkpoint_cut_after_page_one(db_path: Path) -> None:
    """What a checkpoint stopped by a full disk leaves: it copies pages in ascending order,
    so page 1 (the header, pointing at pages that are still only in the log) is new in the
    main file while the rest is old. Only a reader that reads the log sees a sound database."""
    wal = (db_path.with_name(db_path.name + "-wal")).read_bytes()
    page_size = struct.unpack(">I", wal[8:12])[0]
    offset, page_one = 32, None
    while offset + 24 + page_size <= len(wal):
        if struct.unpack(">I", wal[offset : offset + 4])[0] == 1:
            page_one = wal[offset + 24 : offset + 24 + page_size]
        offset += 24 + page_size
    assert page_one is not None
    with db_path.open("r+b") as fh:
        fh.write(page_one)


def _events(segment_id: str, n: int) -> list[EventRecord]:
    return [
        EventRecord(segment_id, i, i * 0.1, 1e9 + i, "key", {"key": "letter"}) for i in range(n)
    ]


def _crash_copy(data_dir: Path, target: Path) -> None:
    """The files as a killed recorder leaves them: database and log, no checkpoint since."""
    target.mkdir(mode=0o700)
    for name in ("buffer.db", "buffer.db-wal"):
        (target / name).write_bytes((data_dir / name).read_bytes())
        os.chmod(target / name, 0o600)


def test_a_buffer_whose_checkpoint_stopped_half_way_opens_with_everything(
    tmp_path: Path,
) -> None:
    buffer = Buffer(tmp_path / "live")
    buffer.checkpoint()
    holder = sqlite3.connect(buffer.path, isolation_level=None)
    # A reader holding an old snapshot keeps the new pages in the log, as a crash finds them.
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM meta").fetchone()
    buffer.write(lambda tx: tx.add_session("ses_1", 1e9, "test"))
    buffer.write(lambda tx: tx.open_segment("seg_1", "ses_1", 1e9, []))
    buffer.write(lambda tx: tx.add_events(_events("seg_1", 300)))
    copy = tmp_path / "after-crash"
    _crash_copy(buffer.data_dir, copy)
    holder.close()
    _checkpoint_cut_after_page_one(copy / "buffer.db")

    reopened = Buffer(copy)
    assert reopened.quarantined is None
    assert reopened.device_id == buffer.device_id
    with reopened.reader() as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 300
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(p.name for p in copy.iterdir() if ".damaged-" in p.name) == []


def test_an_empty_buffer_file_starts_a_buffer_with_a_new_key(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    (data_dir / "buffer.db").write_bytes(b"")
    buffer = Buffer(data_dir)
    buffer.unlock()  # no "key missing": nothing was ever sealed in it
    assert buffer.write(lambda tx: tx.log("test", "written")) is None


def test_a_damaged_buffer_is_moved_aside_logged_and_replaced(data_dir: Path) -> None:
    buffer = Buffer(data_dir)
    buffer.write(lambda tx: tx.add_session("ses_1", 1e9, "test"))
    buffer.checkpoint()
    raw = bytearray(buffer.path.read_bytes())
    raw[0:16] = b"not sqlite here!"  # the header is gone: SQLite says "not a database"
    buffer.path.write_bytes(bytes(raw))

    fresh = Buffer(data_dir)
    assert fresh.quarantined is not None
    assert fresh.quarantined.name.startswith("buffer.db.damaged-")
    assert fresh.quarantined.read_bytes() == bytes(raw)
    assert stat.S_IMODE(os.stat(fresh.quarantined).st_mode) == 0o600
    assert fresh.device_id != buffer.device_id
    logged = [row["message"] for row in activity(fresh) if row["kind"] == "recovery"]
    assert len(logged) == 1 and fresh.quarantined.name in logged[0]
    fresh.unlock()


def test_commands_that_only_read_report_a_damaged_buffer_and_where_it_went(
    data_dir: Path,
) -> None:
    data_dir.mkdir(mode=0o700)
    (data_dir / "buffer.db").write_bytes(os.urandom(8192))
    with pytest.raises(StorageError, match="was moved to .*buffer.db.damaged-"):
        Buffer(data_dir, create=False)


def test_a_key_lost_under_recorded_data_is_still_reported(data_dir: Path) -> None:
    import keyring

    buffer = Buffer(data_dir)
    buffer.write(lambda tx: tx.add_session("ses_1", 1e9, "test"))
    buffer.write(lambda tx: tx.open_segment("seg_1", "ses_1", 1e9, []))
    buffer.write(lambda tx: tx.add_events(_events("seg_1", 3)))
    keyring.delete_password("Praxis", f"buffer-key:{buffer.device_id}")
    with pytest.raises(KeyringUnavailable, match="missing from the keyring"):
        Buffer(data_dir).unlock()


def test_the_recorder_tells_the_person_about_a_buffer_set_aside(data_dir: Path) -> None:
    from app.core.recorder import Recorder
    from app.core.settings import Settings
    from tests.unit.fakes import FixedWindow, ScriptedInput

    data_dir.mkdir(mode=0o700)
    (data_dir / "buffer.db").write_bytes(os.urandom(8192))
    recorder = Recorder(
        data_dir,
        Settings(capture_screen=False),
        platform_factory=FixedWindow,
        input_factory=ScriptedInput,
    )
    notices: list[tuple[str, str]] = []
    recorder.add_listener(on_notice=lambda title, message: notices.append((title, message)))
    recorder.start()
    recorder.shutdown()
    assert notices[0][0] == "Damaged recordings set aside"
    assert "buffer.db.damaged-" in notices[0][1]
