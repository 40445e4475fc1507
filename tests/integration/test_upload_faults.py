"""The uploader under faults: a real tus server process behind a fault-injecting proxy, all on
127.0.0.1. After each fault the upload invariant must hold (support/uploadcheck.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import faultproxy as fp
from support.seed import seed_approved, seed_segment
from support.servers import ServerProcess, tusnode, tusnode_available
from support.uploadcheck import check_invariant, segment_states, tusnode_complete_objects

from app.core.buffer import uploads
from app.core.settings import Settings
from app.core.upload.backoff import Backoff
from app.core.upload.target import Target
from app.core.upload.tus import TOKEN_REVOKED
from app.core.upload.worker import Uploader

TOKEN = "node-token"
CHUNK = 96 * 1024


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    reason = tusnode_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    process = tusnode(tmp_path / "tusnode", token=TOKEN).start()
    yield process
    process.stop()


@pytest.fixture
def proxy(server: ServerProcess):  # type: ignore[no-untyped-def]
    proxy = fp.FaultProxy(server.port)
    yield proxy
    proxy.close()


def make_uploader(buffer, proxy: fp.FaultProxy, **kwargs) -> Uploader:  # type: ignore[no-untyped-def]
    return Uploader(
        buffer,
        kwargs.pop("settings", Settings()),
        lambda: Target(proxy.url, TOKEN),
        backoff=Backoff(base_s=0.02, cap_s=0.3),
        read_timeout=1.5,
        chunk_bytes=CHUNK,
        **kwargs,
    )


def stored(tmp_path: Path) -> list[bytes]:
    return tusnode_complete_objects(tmp_path / "tusnode" / "store")


CASES = {
    "reset mid-body": [fp.RESET_BODY, fp.Fault("reset_body", fraction=0.9)],
    "answer lost after the server applied the chunk": [fp.LOSE_ANSWER, fp.LOSE_ANSWER],
    "stall longer than the read timeout": [fp.stall(3.0)],
    "500": [fp.status(500), fp.status(500)],
    "503 with Retry-After": [fp.status(503, retry_after=1)],
    "429 with Retry-After": [fp.status(429, retry_after=1)],
    "460 checksum mismatch": [fp.status(460), fp.status(460)],
}


@pytest.mark.parametrize("case", list(CASES))
def test_patch_faults_keep_the_invariant(case, proxy, data_dir: Path, tmp_path: Path) -> None:
    buffer, ids = seed_approved(data_dir, 2, frames=2)
    seed_segment(buffer, seed=99)  # recorded, never approved: must never be stored
    faults = CASES[case]
    proxy.queue(*faults, method="PATCH")
    uploader = make_uploader(buffer, proxy)
    started = time.monotonic()
    report = uploader.sync_once(60)
    took = time.monotonic() - started
    assert report.ok, report
    assert sum(proxy.injected.values()) == len(faults)
    assert check_invariant(buffer, stored(tmp_path)) == []
    if "Retry-After" in case:
        assert took >= 1.0  # the server's wait was honoured, not the 0.3 s backoff cap


def test_creation_answer_lost_makes_no_second_stored_copy(
    proxy, data_dir: Path, tmp_path: Path
) -> None:
    buffer, ids = seed_approved(data_dir, 1, frames=2)
    proxy.queue(fp.LOSE_ANSWER, fp.status(503, retry_after=0), method="POST")
    report = make_uploader(buffer, proxy).sync_once(60)
    assert report.ok, report
    assert proxy.requests["POST"] == 3
    assert check_invariant(buffer, stored(tmp_path)) == []


def test_expired_upload_starts_a_new_one(proxy, data_dir: Path, tmp_path: Path) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=2)
    uploader = make_uploader(buffer, proxy)
    proxy.queue(fp.Fault("reset_body"), method="PATCH")
    uploader.run_pass()  # creation, then a broken chunk: the upload URL is kept
    with buffer.reader() as db:
        first_url = uploads.upload_row(db, segment_id).url
    assert first_url
    proxy.queue(fp.status(410), method="HEAD")  # the server let it expire meanwhile
    report = uploader.sync_once(60)
    assert report.ok, report
    assert proxy.requests["POST"] == 2
    with buffer.reader() as db:
        assert uploads.upload_row(db, segment_id).url != first_url
    assert check_invariant(buffer, stored(tmp_path)) == []


def test_server_restart_mid_upload(server, proxy, data_dir: Path, tmp_path: Path) -> None:
    buffer, ids = seed_approved(data_dir, 2, frames=3)
    # Slow enough to be cut in the middle: 400 KiB/s.
    uploader = make_uploader(buffer, proxy, settings=Settings(upload_limit_kib_s=400))
    uploader.start()
    try:
        deadline = time.monotonic() + 30
        while proxy.requests["PATCH"] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.stop()  # the collector goes away in the middle of an upload…
        restarted = tusnode(tmp_path / "tusnode", token=TOKEN).start()  # …and comes back
        proxy.upstream_port = restarted.port
        uploader.wake()
        while set(segment_states(buffer)[i] for i in ids) != {"purged"}:
            assert time.monotonic() < deadline + 30, uploader.counters()
            time.sleep(0.05)
    finally:
        uploader.stop()
    restarted.stop()
    assert check_invariant(buffer, stored(tmp_path)) == []


def test_refused_token_stops_until_enrolled_again(proxy, data_dir: Path, tmp_path: Path) -> None:
    buffer, ids = seed_approved(data_dir, 1, frames=2)
    uploader = make_uploader(buffer, proxy)
    proxy.queue(fp.status(403), method="PATCH")
    report = uploader.sync_once(30)
    assert report.stopped == TOKEN_REVOKED
    assert uploader.counters()["last_error"] == TOKEN_REVOKED
    assert check_invariant(buffer, stored(tmp_path), all_delivered=False) == []
    before = proxy.requests.copy()
    assert uploader.run_pass().stopped == TOKEN_REVOKED  # nothing is tried while stopped
    assert proxy.requests == before
    report = uploader.sync_once(30)  # what `praxis enroll` does for a running app
    assert report.ok, report
    assert check_invariant(buffer, stored(tmp_path)) == []


def test_client_killed_mid_upload_resumes_after_restart(
    proxy, data_dir: Path, tmp_path: Path
) -> None:
    buffer, ids = seed_approved(data_dir, 1, frames=6)
    (data_dir / "settings.toml").write_text("upload_limit_kib_s = 300\n")
    cli = [sys.executable, "-m", "app", "--data-dir", str(data_dir)]
    subprocess.run(
        [*cli, "enroll", "--server", proxy.url, "--token", TOKEN], check=True, timeout=60
    )
    sync = subprocess.Popen(
        [*cli, "sync", "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while True:  # wait until part of the package is on the server
        with buffer.reader() as db:
            row = uploads.upload_row(db, ids[0])
        if row is not None and row.offset > 0:
            break
        assert sync.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(sync.pid, signal.SIGKILL)
    sync.wait(10)
    assert segment_states(buffer)[ids[0]] == "uploading"
    posts = proxy.requests["POST"]
    (data_dir / "settings.toml").write_text(
        (data_dir / "settings.toml").read_text().replace("upload_limit_kib_s = 300\n", "")
    )
    done = subprocess.run([*cli, "sync", "--once"], capture_output=True, timeout=120, text=True)
    assert done.returncode == 0, done.stderr
    assert "Uploaded 1 segment(s)" in done.stdout
    assert proxy.requests["POST"] == posts  # resumed with HEAD, no new upload
    assert check_invariant(buffer, stored(tmp_path)) == []
