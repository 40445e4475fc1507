"""The runtime the tray and headless mode share: with no collector configured it starts the
collector on this computer as a child process, approved segments reach it in the background,
the status says where uploads go, and closing stops the child."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

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
