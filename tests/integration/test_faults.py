"""Faults: a killed recorder, and the conditions under which recording must refuse to start
with one clear line instead of recording badly."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from support.xsession import (
    RecorderProcess,
    XServer,
    check_cli,
    export,
    run_cli,
    status,
    wait_for,
)

pytestmark = pytest.mark.x11

LINES = [f"line {i:02d} of the text being typed when the power went" for i in range(12)]


def read_only(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


def key_chars(events: list[dict]) -> str:
    return "".join(
        e["char"] for e in events if e["type"] == "key" and e["action"] == "down" and e["char"]
    )


def test_sigkill_while_typing_leaves_a_sound_buffer_that_the_next_start_recovers(
    x: XServer, consented: Path, env: dict[str, str], recorder_factory, home: Path
) -> None:
    term = x.xterm("Praxis crash test", 0, 0)
    x.focus(term)
    rec: RecorderProcess = recorder_factory(consented).start()
    # Type line by line in the background; stopping between lines never leaves a key held
    # down on the shared X server (a killed xdotool can, and the key would then repeat).
    done = threading.Event()
    lines_typed: list[str] = []

    def type_lines() -> None:
        for line in LINES:
            if done.is_set():
                return
            x.type_text(line + "\n", delay_ms=20)
            lines_typed.append(line)

    typist = threading.Thread(target=type_lines, daemon=True)
    typist.start()
    try:
        # Kill it once a few typed lines and a frame are committed, while keys keep coming.
        def committed() -> bool:
            counts = status(consented, env)
            return counts["pending_events"] >= 150 and counts["pending_frames"] >= 1

        wait_for(committed, 30, "committed events and frames")
        assert typist.is_alive(), "the typing ended before the kill; type more text"
        rec.kill()
        assert rec.proc is not None and rec.proc.returncode == -9
    finally:
        done.set()
        typist.join(30)

    db_path = consented / "buffer.db"
    db = read_only(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        open_segments = db.execute("SELECT id FROM segments WHERE state = 'open'").fetchall()
        assert len(open_segments) == 1, open_segments
        (old,) = open_segments[0]
        committed_events = db.execute(
            "SELECT count(*) FROM events WHERE segment_id = ?", [old]
        ).fetchone()[0]
        committed_frames = db.execute(
            "SELECT count(*) FROM frames WHERE segment_id = ?", [old]
        ).fetchone()[0]
    finally:
        db.close()
    assert committed_events >= 150 and committed_frames >= 1

    again = recorder_factory(consented).start()
    assert again.stop() == 0, again.output()

    segments = export(consented, home / "out", env)
    by_id = {s.manifest["segment_id"]: s for s in segments}
    assert old in by_id, "the segment of the killed recorder was not exported"
    recovered = by_id[old]
    assert recovered.manifest["state"] in ("sealed", "pending_review")
    assert recovered.manifest["sealed_reason"] == "recovered after an unclean exit"
    assert recovered.manifest["ended_at"] is not None
    counts = recovered.manifest["counts"]
    assert (counts["events"], counts["frames"]) == (committed_events, committed_frames)
    # What was committed is whole runs of typing, in order: a prefix of what was typed.
    chars = key_chars(recovered.events)
    assert chars and "".join(LINES).startswith(chars), chars
    activity = check_cli(consented, "activity", env=env)
    assert "sealed 1 segment(s) left open by an unclean exit" in activity

    db = read_only(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("SELECT count(*) FROM segments WHERE state = 'open'").fetchone()[0] == 0
    finally:
        db.close()


def one_error_line(result, exit_code: int = 2) -> str:  # noqa: ANN001
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("praxis: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def test_a_data_dir_that_cannot_be_created_is_refused(home: Path, env: dict[str, str]) -> None:
    # Tests run as root, which ignores permission bits: a path below a regular file can never
    # be a folder, whoever asks.
    blocker = home / "afile"
    blocker.write_bytes(b"not a folder")
    data_dir = blocker / "sub"
    line = one_error_line(run_cli(data_dir, "record", "--headless", env=env, timeout=30))
    assert line.startswith("praxis: Data folder not usable: cannot write to "), line
    assert str(data_dir) in line and "--data-dir" in line
    assert blocker.read_bytes() == b"not a folder"


@pytest.mark.parametrize("args", [("consent", "--accept"), ("status",)], ids=["consent", "status"])
def test_other_commands_refuse_an_impossible_data_dir_in_one_line(
    args: tuple[str, ...], home: Path, env: dict[str, str]
) -> None:
    blocker = home / "afile"
    blocker.write_bytes(b"not a folder")
    result = run_cli(blocker / "sub", *args, env=env, timeout=30)
    assert "Traceback" not in result.stderr
    one_error_line(result)


def _no_display(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != "DISPLAY"}


@pytest.mark.parametrize(
    ("change_env", "expected"),
    [
        (_no_display, "DISPLAY"),
        (lambda env: {**env, "WAYLAND_DISPLAY": "wayland-0"}, "Wayland"),
    ],
    ids=["no-display", "wayland"],
)
def test_recording_refuses_without_an_x11_display(
    change_env: Callable[[dict[str, str]], dict[str, str]],
    expected: str,
    consented: Path,
    env: dict[str, str],
) -> None:
    line = one_error_line(
        run_cli(consented, "record", "--headless", env=change_env(env), timeout=30)
    )
    assert line.startswith("praxis: No usable display: "), line
    assert expected in line
    db = read_only(consented / "buffer.db")
    try:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM frames").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM segments").fetchone()[0] == 0
    finally:
        db.close()


def test_recording_refuses_without_a_usable_keyring(data_dir: Path, env: dict[str, str]) -> None:
    failing = {**env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for args in (("consent", "--accept"), ("record", "--headless")):
        line = one_error_line(run_cli(data_dir, *args, env=failing, timeout=30))
        assert line.startswith("praxis: Keyring unavailable: "), line
        assert "keyring" in line.split(": ", 2)[2]


def _newer_schema(path: Path, journal_mode: str = "wal") -> None:
    db = sqlite3.connect(path)
    assert db.execute(f"PRAGMA journal_mode = {journal_mode}").fetchone()[0] == journal_mode
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("make_buffer", "expected"),
    [
        (_newer_schema, "was written by a newer Praxis (schema 99"),
        (lambda path: _newer_schema(path, "delete"), "was written by a newer Praxis (schema 99"),
    ],
    ids=["newer-schema", "newer-schema-rollback-journal"],
)
def test_a_buffer_that_cannot_be_read_is_left_untouched(
    make_buffer: Callable[[Path], None], expected: str, data_dir: Path, env: dict[str, str]
) -> None:
    data_dir.mkdir(mode=0o700)
    db_path = data_dir / "buffer.db"
    make_buffer(db_path)
    before = db_path.read_bytes()
    for args in (("record", "--headless"), ("status",), ("consent", "--accept")):
        line = one_error_line(run_cli(data_dir, *args, env=env, timeout=30))
        assert line.startswith("praxis: Local buffer problem: "), line
        assert expected in line and "untouched" in line, line
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith("buffer.db")) == [
        "buffer.db"
    ]
