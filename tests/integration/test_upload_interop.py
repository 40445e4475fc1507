"""Our uploader against an independent tus server: @tus/server with its file store (Node).

It offers no checksum extension, so chunks go without Upload-Checksum and a segment counts
as delivered on full length (its local copy is kept a week); everything else is the same protocol our collector speaks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.seed import seed_approved
from support.servers import tusnode, tusnode_available

from app.core.buffer import uploads
from app.core.lifecycle import SegmentState
from app.core.settings import Settings
from app.core.upload.target import Target
from app.core.upload.tus import TOKEN_REVOKED
from app.core.upload.worker import Uploader


@pytest.fixture
def tus_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    reason = tusnode_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    server = tusnode(tmp_path / "tusnode", token="node-token").start()
    yield server
    server.stop()


def export_packages(data_dir: Path, out: Path) -> dict[str, bytes]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "export",
            "--packages",
            "--out",
            str(out),
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return {p.stem: p.read_bytes() for p in out.glob("*.zip")}


def states(buffer) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with buffer.reader() as db:
        return dict(db.execute("SELECT id, state FROM segments").fetchall())


def test_uploads_reach_tus_node_byte_for_byte(tus_server, data_dir: Path, tmp_path: Path) -> None:
    buffer, ids = seed_approved(data_dir, 3, frames=4)
    expected = export_packages(data_dir, tmp_path / "export")
    assert sorted(expected) == sorted(ids)
    target = Target(tus_server.url, "node-token")
    # Small chunks: each package goes in several PATCH requests.
    uploader = Uploader(buffer, Settings(), lambda: target, chunk_bytes=256 * 1024)
    with buffer.reader() as db:
        rows_before = {i: uploads.upload_row(db, i) for i in ids}
    assert all(row is None for row in rows_before.values())

    report = uploader.sync_once(120)
    assert report.ok, report
    assert sorted(report.uploaded) == sorted(ids)
    store = tmp_path / "tusnode" / "store"
    with buffer.reader() as db:
        rows = {i: uploads.upload_row(db, i) for i in ids}
    for segment_id, data in expected.items():
        row = rows[segment_id]
        assert row is not None and row.url is not None
        stored = (store / row.url.rsplit("/", 1)[-1]).read_bytes()
        assert stored == data
    # Confirmed by length alone: uploaded, but the local copy stays for a week even with
    # retention 0, and goes after that.
    assert set(states(buffer).values()) == {SegmentState.ACKNOWLEDGED.value}
    assert sorted(uploader.purge_due(now=time.time() + 8 * 24 * 3600)) == sorted(ids)
    assert set(states(buffer).values()) == {SegmentState.PURGED.value}
    assert len([p for p in store.iterdir() if not p.name.endswith(".json")]) == len(ids)


def test_a_wrong_token_stops_uploads_with_the_enrollment_message(
    tus_server, data_dir: Path
) -> None:
    buffer, ids = seed_approved(data_dir, 1, frames=1)
    uploader = Uploader(buffer, Settings(), lambda: Target(tus_server.url, "not-the-token"))
    report = uploader.sync_once(30)
    assert report.stopped == TOKEN_REVOKED
    assert uploader.counters()["state"] == "stopped"
    assert uploader.counters()["last_error"] == TOKEN_REVOKED
    assert "ask IT to enroll it again" in TOKEN_REVOKED
    assert states(buffer)[ids[0]] == SegmentState.UPLOADING.value
    with buffer.reader() as db:
        log = [r[0] for r in db.execute("SELECT message FROM activity WHERE kind = 'upload'")]
    assert any("ask IT to enroll it again" in m for m in log)
