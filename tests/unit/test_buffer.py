import os
import sqlite3
import stat
from pathlib import Path

import pytest

from app.core.buffer import schema
from app.core.buffer.store import Buffer
from app.core.buffer.tx import event_aad
from app.core.errors import DataDirError, StorageError
from app.core.model import EventRecord


def test_new_buffer_is_at_latest_schema_and_private(data_dir: Path) -> None:
    buffer = Buffer(data_dir)
    conn = sqlite3.connect(buffer.path)
    assert schema.schema_version(conn) == schema.LATEST
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(buffer.path).st_mode) == 0o600
    assert buffer.device_id.startswith("dev_")


def test_device_id_is_stable_and_random(tmp_path: Path) -> None:
    a = Buffer(tmp_path / "a")
    assert Buffer(tmp_path / "a").device_id == a.device_id
    assert Buffer(tmp_path / "b").device_id != a.device_id


def test_newer_schema_is_refused_and_left_alone(data_dir: Path) -> None:
    buffer = Buffer(data_dir)
    conn = sqlite3.connect(buffer.path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = buffer.path.read_bytes()
    with pytest.raises(StorageError, match="newer Praxis"):
        Buffer(data_dir)
    assert buffer.path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_set_aside_and_a_new_buffer_started(
    data_dir: Path,
) -> None:
    data_dir.mkdir(mode=0o700)
    garbage = os.urandom(8192)
    (data_dir / "buffer.db").write_bytes(garbage)
    buffer = Buffer(data_dir)
    assert buffer.quarantined is not None and buffer.quarantined.read_bytes() == garbage
    assert stat.S_IMODE(os.stat(buffer.quarantined).st_mode) == 0o600


def test_unwritable_data_dir_is_explained(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(DataDirError, match="cannot write"):
        Buffer(blocker / "data")


def test_event_payloads_are_sealed_and_bound_to_their_row(data_dir: Path) -> None:
    buffer = Buffer(data_dir)

    def op(tx):  # type: ignore[no-untyped-def]
        tx.add_session("ses_1", 1.0, "t")
        tx.open_segment("seg_1", "ses_1", 1.0, [])
        tx.add_events([EventRecord("seg_1", 0, 0.0, 1.0, "text", {"text": "plaintext-canary"})])

    buffer.write(op)
    buffer.checkpoint()
    assert b"plaintext-canary" not in buffer.path.read_bytes()
    with buffer.reader() as db:
        sealed = db.execute("SELECT data FROM events").fetchone()[0]
    assert b"plaintext-canary" in buffer.sealer.open(sealed, event_aad("seg_1", 0))


def test_writer_batches_and_reports_results(data_dir: Path) -> None:
    buffer = Buffer(data_dir)
    errors: list[BaseException] = []
    buffer.start_writer(errors.append)
    try:
        futures = [buffer.submit(lambda tx, i=i: tx.log("n", str(i))) for i in range(200)]
        failing = buffer.submit(lambda tx: tx.db.execute("INSERT INTO nowhere VALUES (1)"))
        assert [f.result(10) for f in futures] == [None] * 200
        with pytest.raises(sqlite3.OperationalError):
            failing.result(10)
    finally:
        buffer.stop_writer()
    with buffer.reader() as db:
        assert db.execute("SELECT count(*) FROM activity WHERE kind = 'n'").fetchone()[0] == 200
    assert errors == []


def test_open_segments_are_recovered_after_a_crash(data_dir: Path) -> None:
    buffer = Buffer(data_dir)

    def op(tx):  # type: ignore[no-untyped-def]
        tx.add_session("ses_1", 1.0, "t")
        tx.open_segment("seg_1", "ses_1", 1.0, [])
        tx.add_events([EventRecord("seg_1", 0, 0.5, 1.5, "scroll", {"dy": 1})])

    buffer.write(op)
    assert buffer.write(lambda tx: tx.recover_open_segments()) == 1
    with buffer.reader() as db:
        state, ended = db.execute("SELECT state, ended_at FROM segments").fetchone()
    assert (state, ended) == ("sealed", 1.5)


def test_a_buffer_of_the_first_schema_is_upgraded_and_its_backup_removed(data_dir: Path) -> None:
    import sqlite_utils

    data_dir.mkdir(mode=0o700)
    path = data_dir / "buffer.db"
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    schema.MIGRATIONS[0](db)  # a buffer written by the first release
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO sessions(id, started_at, app_version) VALUES ('ses_1', 1.0, '0.1')")
    db.execute(
        "INSERT INTO segments(id, session_id, state, started_at, ended_at, screen,"
        " dropped_events, dropped_frames, redaction) VALUES"
        " ('seg_1', 'ses_1', 'sealed', 1.0, 2.0, '[]', 0, 0, '{}')"
    )
    db.conn.close()

    Buffer(data_dir)
    conn = sqlite3.connect(path)
    assert schema.schema_version(conn) == schema.LATEST
    row = conn.execute("SELECT state, summary, package_sha256 FROM segments").fetchone()
    assert row == ("sealed", None, None)
    conn.close()
    # The copy taken before the upgrade holds recordings: it does not outlive a good upgrade.
    assert sorted(p.name for p in data_dir.iterdir() if "before" in p.name) == []
