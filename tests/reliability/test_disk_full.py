"""A full disk and a reached disk budget: recording stops with a notice, nothing is damaged,
and recording resumes once there is room again. The full disk is a real one: a small tmpfs
mounted for the test (this needs root, which CI has)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.killrig import integrity, read_snapshot
from support.live import live_status, start_recorder, type_committed
from support.xsession import RecorderProcess, XServer, check_cli, run_cli, wait_for

from app.core import review
from app.core.errors import PraxisError
from app.core.model import EventRecord, WindowInfo
from app.core.recorder import Recorder
from app.core.settings import Settings
from app.core.state import RecorderState
from tests.unit.fakes import FixedWindow, ScriptedInput

TERMINAL = WindowInfo("xterm", "Terminal", 0, 0, 800, 600, handle="0x1")


def _fill_with_a_recording(recorder: Recorder, megabytes: float) -> str:
    """A sealed segment of about `megabytes` of (incompressible) typed text."""
    segment = "seg_budgetfill"
    rows = int(megabytes * 1024 * 1024 / 4096)

    def write(tx) -> None:  # type: ignore[no-untyped-def]
        tx.add_session("ses_budgetfill", time.time() - 60, "test")
        tx.open_segment(segment, "ses_budgetfill", time.time() - 60, [])
        tx.add_events(
            [
                EventRecord(
                    segment, i, i * 0.01, time.time(), "text", {"text": os.urandom(2048).hex()}
                )
                for i in range(rows)
            ]
        )
        tx.seal_segment(segment, time.time(), "test", 0, 0, {})

    recorder.buffer.write(write, timeout=120)
    return segment


def test_the_disk_budget_pauses_recording_and_deleting_recordings_makes_room(
    tmp_path: Path,
) -> None:
    recorder = Recorder(
        tmp_path / "data",
        # Below what a settings file allows (16 MB), to keep the test quick.
        Settings(capture_screen=False, disk_budget_mb=2),
        platform_factory=lambda: FixedWindow(TERMINAL),
        input_factory=ScriptedInput,
    )
    notices: list[tuple[str, str]] = []
    recorder.add_listener(on_notice=lambda title, message: notices.append((title, message)))
    try:
        recorder.accept_consent()
        recorder.start()
        segment = _fill_with_a_recording(recorder, 2.5)
        recorder._wake.set()
        wait_for(lambda: recorder.state == RecorderState.PAUSED, 15, "the budget to pause")
        assert "disk budget" in recorder.status().reason
        wait_for(lambda: any("budget" in m for _t, m in notices), 5, "a notice")
        with pytest.raises(PraxisError, match="budget"):
            recorder.resume()
        # The person deletes the recording that filled the budget: there is room again.
        review.delete_segment(recorder.buffer, segment)
        recorder.resume()
        assert recorder.state == RecorderState.RECORDING
        with recorder.buffer.reader() as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        recorder.shutdown()


# -- a real full disk ---------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Take every free byte of `disk` with one file; returns it (delete it to free space)."""
    filler = disk / "filler"
    with filler.open("ab", buffering=0) as fh:
        for size in (1 << 20, 4096, 512):
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while fh.write(chunk):
                    pass
    return filler


@pytest.mark.x11
def test_a_full_disk_while_recording_and_while_stopping_damages_nothing(
    x: XServer, home: Path, env: dict[str, str], small_disk: Path
) -> None:
    data_dir = small_disk / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / "settings.toml").write_text("redact_screen_text = false\n", encoding="utf-8")
    check_cli(data_dir, "consent", "--accept", env=env)
    term = x.xterm("Praxis full disk", 0, 0)
    x.focus(term)
    rec = start_recorder(RecorderProcess(data_dir, env, home / "recorder.log"))
    try:
        type_committed(x, data_dir, "written before the disk filled up")
        check_cli(data_dir, "export", "--out", str(home / "before"), "--packages", env=env)
        before = {p.stem: p.read_bytes() for p in (home / "before").glob("*.zip")}
        assert before

        # The disk fills while keys keep coming: recording stops and says why.
        filler = _fill(small_disk)
        deadline = time.monotonic() + 60
        while (live_status(data_dir) or {}).get("state") == "recording":
            assert time.monotonic() < deadline, "the recorder never noticed the full disk"
            x.type_text("typing into a full disk ", delay_ms=5)
        state = live_status(data_dir)
        assert state is not None and state["state"] in ("error", "paused"), state
        assert "full" in state["reason"], state
        wait_for(lambda: "full" in rec.output(), 10, "the notice in the recorder's output")
        refused = run_cli(data_dir, "resume", env=env)
        assert refused.returncode == 2 and "full" in refused.stderr, refused
        assert "Traceback" not in refused.stderr
        assert integrity(data_dir) == ["ok"]

        # Room again: recording resumes and what was kept is unchanged.
        filler.unlink()
        check_cli(data_dir, "resume", env=env)
        assert (live_status(data_dir) or {}).get("state") == "recording"
        type_committed(x, data_dir, "written after space came back")

        # Full again, and the recorder is stopped: the stop must not damage the buffer.
        filler = _fill(small_disk)
        x.type_text("lost while the disk is full ", delay_ms=5)
        rec.stop(signal.SIGINT, timeout=60)
    finally:
        rec.kill()
    assert "Traceback" not in rec.output()
    assert integrity(data_dir) == ["ok"]
    # Commands still work on a full disk, and after space returns.
    status = run_cli(data_dir, "status", env=env)
    assert status.returncode == 0 and "Traceback" not in status.stderr, status
    filler.unlink()
    again = start_recorder(RecorderProcess(data_dir, env, home / "recorder-2.log"))
    try:
        type_committed(x, data_dir, "recording goes on")
        assert again.stop() == 0
    finally:
        again.kill()
    assert integrity(data_dir) == ["ok"]
    check_cli(data_dir, "export", "--out", str(home / "after"), "--packages", env=env)
    after = {p.stem: p.read_bytes() for p in (home / "after").glob("*.zip")}
    for segment, package in before.items():
        assert after.get(segment) == package, f"{segment} changed"
    snapshot = read_snapshot(data_dir)
    assert sum(snapshot.keys.values()) >= len("written before the disk filled up")
    assert not any(p.name.startswith("buffer.db.damaged") for p in data_dir.iterdir())
