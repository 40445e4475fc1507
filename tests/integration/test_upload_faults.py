"""The uploader under faults: a real tus server process (our collector, and for the protocol
cases also the independent @tus/server) behind a fault-injecting proxy, all on 127.0.0.1.
After each fault the upload invariant must hold (support/uploadcheck.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import faultproxy as fp
from support.seed import seed_approved, seed_segment
from support.servers import UploadServer, tusnode_available
from support.tlscert import make_ca_and_server
from support.uploadcheck import check_invariant, segment_states

from app.core.buffer import uploads
from app.core.settings import Settings
from app.core.upload.backoff import Backoff
from app.core.upload.target import Target
from app.core.upload.tus import TOKEN_REVOKED
from app.core.upload.worker import Uploader

CHUNK = 96 * 1024
# Our collector answers every case; the independent server the protocol ones.
BOTH = ["collector", "tusnode"]


def _start(kind: str, folder: Path) -> UploadServer:
    if kind == "tusnode":
        reason = tusnode_available()
        if reason:
            if os.environ.get("CI"):
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)
    return UploadServer(kind, folder).start()


@pytest.fixture(scope="module")
def shared_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One server of each kind for the cases that do not stop or change it; each test has
    its own device, and the invariant looks at that device's packages only."""
    started: dict[str, UploadServer] = {}

    def get(kind: str) -> UploadServer:
        if kind not in started:
            started[kind] = _start(kind, tmp_path_factory.mktemp(kind))
        return started[kind]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture(params=["collector"])
def server(request: pytest.FixtureRequest, shared_servers):  # type: ignore[no-untyped-def]
    return shared_servers(request.param)


@pytest.fixture
def own_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A collector for this test alone: it is restarted or its tokens revoked."""
    server = _start("collector", tmp_path / "collector")
    yield server
    server.stop()


def _proxy(server: UploadServer, token: str):  # type: ignore[no-untyped-def]
    proxy = fp.FaultProxy(server.port)
    proxy.token = token  # type: ignore[attr-defined]
    return proxy


@pytest.fixture
def proxy(server: UploadServer):  # type: ignore[no-untyped-def]
    proxy = _proxy(server, server.new_token())
    yield proxy
    proxy.close()


@pytest.fixture
def own_proxy(own_server: UploadServer):  # type: ignore[no-untyped-def]
    proxy = _proxy(own_server, own_server.token)
    yield proxy
    proxy.close()


def make_uploader(buffer, proxy: fp.FaultProxy, **kwargs) -> Uploader:  # type: ignore[no-untyped-def]
    token = proxy.token  # type: ignore[attr-defined]
    return Uploader(
        buffer,
        kwargs.pop("settings", Settings()),
        lambda: Target(proxy.url, token),
        backoff=Backoff(base_s=0.02, cap_s=0.3),
        read_timeout=0.75,
        chunk_bytes=CHUNK,
        **kwargs,
    )


CASES = {
    "reset mid-body": [fp.RESET_BODY, fp.Fault("reset_body", fraction=0.9)],
    "answer lost after the server applied the chunk": [fp.LOSE_ANSWER, fp.LOSE_ANSWER],
    "stall longer than the read timeout": [fp.stall(1.5)],
    "500": [fp.status(500), fp.status(500)],
    "503 with Retry-After": [fp.status(503, retry_after=1)],
    "429 with Retry-After": [fp.status(429, retry_after=1)],
    "460 checksum mismatch": [fp.status(460), fp.status(460)],
}


# Every case against our collector; the protocol ones also against the independent server.
MATRIX = [(case, "collector") for case in CASES] + [
    (case, "tusnode")
    for case in ("reset mid-body", "460 checksum mismatch", "503 with Retry-After")
]


@pytest.mark.parametrize(("case", "server"), MATRIX, indirect=["server"])
def test_patch_faults_keep_the_invariant(case, server, proxy, data_dir: Path) -> None:
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
    assert check_invariant(buffer, server.stored(buffer.device_id)) == []
    if "Retry-After" in case:
        assert took >= 1.0  # the server's wait was honoured, not the 0.3 s backoff cap


def test_creation_answer_lost_makes_no_second_stored_copy(server, proxy, data_dir: Path) -> None:
    buffer, ids = seed_approved(data_dir, 1, frames=2)
    proxy.queue(fp.LOSE_ANSWER, fp.status(503, retry_after=0), method="POST")
    report = make_uploader(buffer, proxy).sync_once(60)
    assert report.ok, report
    assert proxy.requests["POST"] == 3
    assert check_invariant(buffer, server.stored(buffer.device_id)) == []


@pytest.mark.parametrize("server", BOTH, indirect=True)
def test_expired_upload_starts_a_new_one(server, proxy, data_dir: Path) -> None:
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
    assert check_invariant(buffer, server.stored(buffer.device_id)) == []


def test_server_restart_mid_upload(own_server, own_proxy, data_dir: Path) -> None:
    server, proxy = own_server, own_proxy
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
        server.start()  # …and comes back, on another port
        proxy.upstream_port = server.port
        uploader.wake()
        while set(segment_states(buffer)[i] for i in ids) != {"purged"}:
            assert time.monotonic() < deadline + 30, uploader.counters()
            time.sleep(0.05)
    finally:
        uploader.stop()
    assert check_invariant(buffer, server.stored(buffer.device_id)) == []


def test_refused_token_stops_until_enrolled_again(server, proxy, data_dir: Path) -> None:
    buffer, ids = seed_approved(data_dir, 1, frames=2)
    uploader = make_uploader(buffer, proxy)
    proxy.queue(fp.status(403), method="PATCH")
    report = uploader.sync_once(30)
    assert report.stopped == TOKEN_REVOKED
    assert uploader.counters()["last_error"] == TOKEN_REVOKED
    assert check_invariant(buffer, server.stored(buffer.device_id), all_delivered=False) == []
    before = proxy.requests.copy()
    assert uploader.run_pass().stopped == TOKEN_REVOKED  # nothing is tried while stopped
    assert proxy.requests == before
    report = uploader.sync_once(30)  # what `praxis enroll` does for a running app
    assert report.ok, report
    assert check_invariant(buffer, server.stored(buffer.device_id)) == []


def test_client_killed_mid_upload_resumes_after_restart(server, proxy, data_dir: Path) -> None:
    buffer, ids = seed_approved(data_dir, 1, frames=6)
    (data_dir / "settings.toml").write_text("upload_limit_kib_s = 300\n")
    cli = [sys.executable, "-m", "app", "--data-dir", str(data_dir)]
    subprocess.run(
        [*cli, "enroll", "--server", proxy.url, "--token", proxy.token], check=True, timeout=60
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
    assert check_invariant(buffer, server.stored(buffer.device_id)) == []


def test_token_revoked_on_the_collector_stops_uploads(
    own_server, own_proxy, data_dir: Path
) -> None:
    server, proxy = own_server, own_proxy
    buffer, first = seed_approved(data_dir, 1, frames=1)
    uploader = make_uploader(buffer, proxy)
    assert uploader.sync_once(30).ok
    server.revoke_all_tokens()
    _, second = seed_approved(data_dir, 1, frames=1, seed=5)
    report = uploader.sync_once(30)
    assert report.stopped == TOKEN_REVOKED
    assert segment_states(buffer)[second[0]] in ("approved", "uploading")
    # Nothing acknowledged was lost, and nothing was stored with a revoked token.
    assert check_invariant(buffer, server.stored(buffer.device_id), all_delivered=False) == []
    assert len(server.stored(buffer.device_id)) == 1


def test_the_token_never_follows_a_location_or_redirect_elsewhere(
    server, proxy, data_dir: Path
) -> None:
    elsewhere = socket.socket()
    elsewhere.bind(("127.0.0.1", 0))
    elsewhere.listen(8)
    elsewhere.settimeout(0.2)
    other = f"http://127.0.0.1:{elsewhere.getsockname()[1]}/files/stolen"
    try:
        buffer, [segment_id] = seed_approved(data_dir, 1, frames=1)
        moved = fp.Fault("status", status=201, headers=(("Location", other),))
        proxy.queue(moved, method="POST")
        uploader = make_uploader(buffer, proxy)
        report = uploader.sync_once(30)
        assert "another server" in report.failed[segment_id]
        proxy.queue(fp.Fault("status", status=307, headers=(("Location", other),)), method="POST")
        report = uploader.sync_once(30)  # sets the refused upload free again first
        assert (
            "redirect" in report.failed[segment_id] and "not followed" in report.failed[segment_id]
        )
        with pytest.raises(TimeoutError):
            elsewhere.accept()  # nobody ever connected there
        with buffer.reader() as db:
            row = uploads.upload_row(db, segment_id)
        assert row is not None and row.quarantined  # set aside with a visible error
        assert "redirect" in uploader.counters()["last_error"]
    finally:
        elsewhere.close()


def test_the_bandwidth_cap_paces_the_upload(server, proxy, data_dir: Path) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=2)
    with buffer.reader() as db:
        size = db.execute(
            "SELECT package_bytes FROM segments WHERE id = ?", [segment_id]
        ).fetchone()[0]
    uploader = make_uploader(buffer, proxy, settings=Settings(upload_limit_kib_s=200))
    started = time.monotonic()
    assert uploader.sync_once(60).ok
    # The last chunk may go at once; everything before it waits its turn.
    assert time.monotonic() - started >= (size - 200 * 1024) / (200 * 1024)


def test_an_erasure_stays_queued_until_the_collector_confirms_it(
    server, proxy, data_dir: Path
) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=1, session_id="ses_erase")
    uploader = make_uploader(buffer, proxy)
    assert uploader.sync_once(30).ok
    assert len(server.stored(buffer.device_id)) == 1
    assert buffer.write(lambda tx: tx.delete_session("ses_erase")).erasures == 1
    # The collector cannot be reached, then does not know the upload: not a confirmation.
    proxy.queue(fp.status(503, retry_after=0), fp.status(404), method="DELETE")
    uploader.run_pass()
    uploader.retry_now()
    uploader.run_pass()
    upload = uploader.counters()
    assert upload["erasures_pending"] == 1 and "does not know" in upload["erasure_error"]
    assert len(server.stored(buffer.device_id)) == 1
    uploader.retry_now()
    uploader.run_pass()
    assert uploader.counters()["erasures_pending"] == 0
    assert server.stored(buffer.device_id) == []


def test_tls_with_the_ca_bundle_from_settings(server, data_dir: Path, tmp_path: Path) -> None:
    ca_file, context = make_ca_and_server(tmp_path / "tls")
    proxy = fp.FaultProxy(server.port, tls=context)
    token = server.new_token()
    try:
        buffer, ids = seed_approved(data_dir, 1, frames=1)
        untrusted = Uploader(buffer, Settings(), lambda: Target(proxy.url, token))
        report = untrusted.sync_once(5)
        assert not report.ok and "certificate" in " ".join(report.failed.values())
        settings = Settings(collector_url=proxy.url, ca_bundle=str(ca_file))
        trusted = Uploader(
            buffer, settings, lambda: Target(proxy.url, token, ca_bundle=settings.ca_bundle)
        )
        assert trusted.sync_once(30).ok
        assert check_invariant(buffer, server.stored(buffer.device_id)) == []
    finally:
        proxy.close()


def test_a_changed_segment_is_sent_again_only_after_its_old_upload_was_erased(
    server, proxy, data_dir: Path
) -> None:
    from app.core import review

    buffer, [segment_id] = seed_approved(data_dir, 1, frames=3)
    uploader = make_uploader(buffer, proxy)
    proxy.queue(fp.status(400), method="PATCH")  # the upload exists there, nothing stored yet
    assert segment_id in uploader.run_pass().failed
    buffer.write(lambda tx: tx.delete_in_segment(segment_id, frame_seqs=[3]))
    package = review.approve(buffer, segment_id)
    # The old upload's erasure does not get through: the new content must wait for it, since
    # the collector erases all it holds for the segment when the old upload is deleted.
    proxy.queue(fp.status(503, retry_after=0), method="DELETE")
    report = uploader.run_pass()
    assert report.uploaded == [] and segment_states(buffer)[segment_id] == "approved"
    assert server.stored(buffer.device_id) == []
    uploader.retry_now()
    assert uploader.sync_once(30).ok
    assert uploader.counters()["erasures_pending"] == 0
    [stored] = server.stored(buffer.device_id)
    assert stored == package.data


def test_a_segment_that_cannot_be_read_is_set_aside_and_the_others_go(
    server, proxy, data_dir: Path
) -> None:
    import sqlite3

    buffer, [damaged, fine] = seed_approved(data_dir, 2, frames=1)
    conn = sqlite3.connect(data_dir / "buffer.db")
    with conn:  # one stored frame damaged on disk: the first segment cannot be read back
        seq, blob = conn.execute(
            "SELECT seq, blob FROM frames WHERE segment_id = ?", [damaged]
        ).fetchone()
        blob = bytes(blob[:40]) + bytes(b ^ 0xFF for b in blob[40:48]) + bytes(blob[48:])
        conn.execute(
            "UPDATE frames SET blob = ? WHERE segment_id = ? AND seq = ?", [blob, damaged, seq]
        )
    conn.close()
    uploader = make_uploader(buffer, proxy)
    report = uploader.sync_once(30)
    assert report.uploaded == [fine] and list(report.failed) == [damaged]
    assert "could not be built" in report.failed[damaged]
    assert uploader.counters()["quarantined"] == 1
    assert len(server.stored(buffer.device_id)) == 1


def test_a_locked_upload_is_retried_and_endless_offset_conflicts_end(
    server, proxy, data_dir: Path
) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=1)
    uploader = make_uploader(buffer, proxy)
    proxy.queue(fp.status(423), method="PATCH")  # tusd and @tus/server: busy, not refused
    assert segment_id in uploader.run_pass().failed
    assert uploader.counters()["quarantined"] == 0
    uploader.retry_now()
    proxy.queue(*[fp.status(409)] * 7, method="PATCH")
    report = uploader.run_pass()
    assert "keeps reporting another offset" in report.failed[segment_id]
    assert uploader.counters()["quarantined"] == 0
    uploader.retry_now()
    assert uploader.sync_once(30).ok and len(server.stored(buffer.device_id)) == 1


def test_a_deletion_while_sending_stops_before_the_next_chunk(
    server, proxy, data_dir: Path
) -> None:
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=3, session_id="ses_gone")
    deleted: list[int] = []

    def on_change() -> None:  # runs in the sender as it starts sending the first chunk
        if uploader._progress is not None and not deleted:
            deleted.append(proxy.requests["PATCH"])
            buffer.write(lambda tx: tx.delete_session("ses_gone"))

    uploader = Uploader(
        buffer,
        Settings(),
        lambda: Target(proxy.url, proxy.token),  # type: ignore[attr-defined]
        on_change=on_change,
        chunk_bytes=16 * 1024,
    )
    report = uploader.run_pass()
    assert deleted == [0] and report.uploaded == []
    assert proxy.requests["PATCH"] == 0  # not one chunk of a deleted segment went out
    uploader.run_pass()  # the partial upload is erased
    assert uploader.counters()["erasures_pending"] == 0
    assert server.stored(buffer.device_id) == []
