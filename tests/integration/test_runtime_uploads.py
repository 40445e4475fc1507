"""The runtime the tray and headless mode share: with no collector configured it starts the
collector on this computer as a child process, approved segments reach it in the background,
the status says where uploads go, and closing stops the child."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.seed import seed_approved

from app.core import review
from app.core.control import send
from app.core.recorder import Recorder
from app.core.runtime import Runtime
from app.core.settings import Settings
from app.core.upload.target import LOCAL_COLLECTOR
from tests.unit.fakes import FixedWindow, ScriptedInput


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def recorder(folder: Path, settings: Settings) -> Recorder:
    return Recorder(
        folder, settings, platform_factory=lambda: FixedWindow(), input_factory=ScriptedInput
    )


def test_nothing_to_send_starts_no_collector(data_dir: Path) -> None:
    runtime = Runtime(data_dir, recorder_factory=recorder)
    try:
        assert runtime.uploads.uploader.run_pass().stopped is None
        assert runtime.uploads._local is None
        upload = runtime.recorder.status().counters["upload"]
        assert upload["collector_text"] == LOCAL_COLLECTOR and upload["state"] == "idle"
    finally:
        runtime.close()


def test_runtime_uploads_to_the_collector_it_starts(data_dir: Path) -> None:
    buffer, ids = seed_approved(data_dir, 2, frames=1)
    (data_dir / "settings.toml").write_text("capture_screen = false\n")
    runtime = Runtime(data_dir, recorder_factory=recorder)
    try:
        runtime.recorder.start()
        runtime.serve()
        runtime.start_uploads()

        def upload() -> dict:
            return send(data_dir, {"cmd": "status"})["upload"]

        wait_for(lambda: upload()["purged"] == 2)
        assert upload()["collector_text"] == LOCAL_COLLECTOR and upload()["embedded"]
        stored = data_dir / "collector" / "store" / "packages" / buffer.device_id
        assert sorted(p.stem for p in stored.glob("*.zip")) == sorted(ids)

        # A segment approved while the app runs goes without being asked.
        _, [later] = seed_approved(data_dir, 1, frames=1, seed=3)
        wait_for(lambda: (stored / f"{later}.zip").exists())
        # `praxis sync --once` with the app running asks the app to send now.
        _, [asked] = seed_approved(data_dir, 1, frames=1, seed=4)
        report = send(data_dir, {"cmd": "sync", "timeout": 60}, timeout=120)
        assert report["failed"] == {} and report["stopped"] is None
        assert (stored / f"{asked}.zip").exists()
        child = runtime.uploads._local.pid  # type: ignore[union-attr]
        assert child is not None
    finally:
        runtime.close()
    # The collector child is gone with the app.
    wait_for(lambda: not _alive(child), timeout=15)
    assert review.list_segments(buffer) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie that nobody reaped yet is gone for our purpose
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_local_collector_that_died_is_started_again(data_dir: Path) -> None:
    import signal

    buffer, [segment_id] = seed_approved(data_dir, 1, frames=1)
    runtime = Runtime(data_dir, recorder_factory=recorder)
    try:
        assert runtime.uploads.target() is not None, runtime.uploads.problem
        first = runtime.uploads._local.pid  # type: ignore[union-attr]
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: not runtime.uploads._local.alive(), timeout=15)  # type: ignore[union-attr]
        report = runtime.uploads.uploader.sync_once(60)
        assert report.ok and report.uploaded == [segment_id]
        second = runtime.uploads._local.pid  # type: ignore[union-attr]
        assert second is not None and second != first and _alive(second)
    finally:
        runtime.close()


def test_the_local_collector_stops_when_the_app_is_gone(data_dir: Path) -> None:
    seed_approved(data_dir, 1, frames=1)
    runtime = Runtime(data_dir, recorder_factory=recorder)
    try:
        assert runtime.uploads.target() is not None
        local = runtime.uploads._local
        assert local is not None and local.pid is not None
        child = local.pid
        # What the end of the app (even a crash) does to the pipe it holds to the child.
        local._process.stdin.close()  # type: ignore[union-attr]
        wait_for(lambda: not _alive(child), timeout=20)
    finally:
        runtime.close()


def test_erasures_reach_this_computers_collector_after_enrolling_elsewhere(
    data_dir: Path, tmp_path: Path
) -> None:
    from support.servers import UploadServer

    from app.core.runtime import load_app_settings, settings_file
    from app.core.upload import enrollment

    buffer, [segment_id] = seed_approved(data_dir, 1, frames=1, session_id="ses_local")
    (data_dir / "settings.toml").write_text("keep_uploaded_hours = 1.0\n")
    runtime = Runtime(data_dir, recorder_factory=recorder)
    server = UploadServer("collector", tmp_path / "elsewhere").start()
    try:
        assert runtime.uploads.uploader.sync_once(60).uploaded == [segment_id]
        stored = data_dir / "collector" / "store" / "packages" / buffer.device_id
        assert [p.stem for p in stored.glob("*.zip")] == [segment_id]
        enrollment.enroll(settings_file(data_dir), runtime.settings, server.url, server.token)
        runtime.apply_settings(load_app_settings(data_dir), enrolled=True)
        assert buffer.write(lambda tx: tx.delete_session("ses_local")).erasures == 1
        runtime.uploads.uploader.run_pass()
        assert runtime.uploads.uploader.counters()["erasures_pending"] == 0
        assert list(stored.glob("*.zip")) == []
        assert runtime.uploads._local is None  # started for the erasure only
    finally:
        runtime.close()
        server.stop()


def test_sync_through_the_app_waits_for_another_uploading_process(data_dir: Path) -> None:
    from app.core.control import UploadLock

    buffer, [segment_id] = seed_approved(data_dir, 1, frames=1)
    other = UploadLock(data_dir)
    other.acquire()  # a `praxis sync` in another process
    runtime = Runtime(data_dir, recorder_factory=recorder)
    try:
        runtime.start_uploads()
        wait_for(lambda: runtime.uploads.problem is not None, timeout=15)
        report = runtime.handle({"cmd": "sync", "timeout": 30})
        assert report["uploaded"] == [] and "another Praxis process" in report["stopped"]
        with buffer.reader() as db:
            state = db.execute("SELECT state FROM segments WHERE id = ?", [segment_id]).fetchone()
        assert state[0] == "approved"
        other.release()
        wait_for(lambda: runtime.uploads.uploading_here, timeout=15)
        report = runtime.handle({"cmd": "sync", "timeout": 60})
        assert report["stopped"] is None and report["failed"] == {}
    finally:
        other.release()
        runtime.close()


def test_when_the_configured_collector_cannot_be_used_the_reason_is_given(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.upload.target import ENROLLED_ORIGIN, ENROLLED_TOKEN, store_token

    seed_approved(data_dir, 1, frames=1)
    (data_dir / "settings.toml").write_text('collector_url = "http://127.0.0.1:9/files/"\n')
    store_token(ENROLLED_TOKEN, "pxc_secret")
    store_token(ENROLLED_ORIGIN, "https://old.example:443")
    runtime = Runtime(data_dir, recorder_factory=recorder)
    try:
        report = runtime.uploads.uploader.run_pass()
        assert report.stopped is not None and "enroll again" in report.stopped
        assert runtime.uploads.uploader.waiting_reason == report.stopped
        # The keyring is not asked again on every pass (a locked one may prompt each time).
        asked: list[str] = []
        monkeypatch.setattr(
            "app.core.runtime.configured_target", lambda *a: asked.append("x") or None
        )
        runtime.uploads.uploader.run_pass()
        assert asked == []
        runtime.apply_settings(runtime.settings, enrolled=True)  # enrolling again asks at once
        runtime.uploads.target()
        assert asked == ["x"]
    finally:
        runtime.close()
