"""Erasure by content, device binding and package limits against a real collector process."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import signal
import subprocess
import zipfile
from urllib.parse import urljoin

import pytest

from tests.collector.helpers import (
    Package,
    auth,
    collector_cli,
    create,
    make_package,
    patch,
    random_id,
)
from tests.collector.test_tus_protocol import CONFIRM, _stored_file, _upload_whole


def test_deleting_an_upload_of_older_content_keeps_the_newer_package(collector, client):
    token = collector.token()
    old = make_package()
    new = make_package(device_id=old.device_id, segment_id=old.segment_id)
    stale = create(client, collector.url, token, old)  # never finished, then replaced
    stale_url = urljoin(collector.url, stale.headers["Location"])
    new_url, _ = _upload_whole(client, collector, token, new, chunk=1 << 20)
    assert client.delete(stale_url, headers=auth(token)).status_code == 204
    assert _stored_file(collector, new).read_bytes() == new.data
    assert client.head(new_url, headers=auth(token)).headers[CONFIRM] == new.sha256
    assert client.head(stale_url, headers=auth(token)).status_code == 410
    # Deleting the upload of the stored content still erases it.
    assert client.delete(new_url, headers=auth(token)).status_code == 204
    assert not _stored_file(collector, new).exists()


def test_a_refused_creation_never_binds_the_token(collector, client):
    token = collector.token("fresh", quota_bytes=1000)
    package = make_package()
    newline = create(client, collector.url, token, package, device_id=package.device_id + "\n")
    assert newline.status_code == 400 and newline.json()["error"] == "bad_metadata"
    over = create(client, collector.url, token, package)  # past the quota: refused
    assert over.status_code == 413 and over.json()["error"] == "quota_exceeded"
    # Neither refusal tied the token to a device: another device id gets the same answer.
    other = create(client, collector.url, token, make_package())
    assert other.status_code == 413 and other.json()["error"] == "quota_exceeded"
    roomy = collector.token("roomy")
    for bad in ("\n", "0\n"):
        answer = create(client, collector.url, roomy, package, format_version=bad)
        assert answer.status_code == 400 and answer.json()["error"] == "bad_metadata"
    assert create(client, collector.url, roomy, package).status_code == 201


def test_a_manifest_that_inflates_past_a_mebibyte_is_refused_unread(collector, client):
    token = collector.token()
    device_id, segment_id = random_id("dev_"), random_id("seg_")
    manifest = {"format_version": 1, "device_id": device_id, "segment_id": segment_id}
    padded = json.dumps(manifest) + " " * (2 << 20)  # valid JSON, 2 MiB once inflated
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", padded)
    package = Package(out.getvalue(), segment_id, device_id)
    assert len(package.data) < 20_000
    created = create(client, collector.url, token, package)
    url = urljoin(collector.url, created.headers["Location"])
    digest = hashlib.sha256(package.data).digest()
    answer = patch(client, url, token, 0, package.data, digest)
    assert answer.status_code == 400 and answer.json()["error"] == "package_invalid"
    assert "manifest.json is over" in answer.json()["message"]
    assert not _stored_file(collector, package).exists()


def test_creating_the_same_upload_again_reserves_its_bytes_once(collector, client):
    package = make_package()
    token = collector.token("flaky-network", quota_bytes=len(package.data) * 3 // 2)
    for _ in range(3):  # answers lost on the way back: the client creates again
        created = create(client, collector.url, token, package)
        assert created.status_code == 201, created.text
    options = client.options(collector.url, headers={"Authorization": f"Bearer {token}"})
    assert int(options.headers["Praxis-Quota-Used"]) == len(package.data)
    url = urljoin(collector.url, created.headers["Location"])
    assert patch(client, url, token, 0, package.data).headers[CONFIRM] == package.sha256
    # Once stored, its unfinished duplicates reserve nothing more.
    options = client.options(collector.url, headers={"Authorization": f"Bearer {token}"})
    assert int(options.headers["Praxis-Quota-Used"]) == len(package.data)
    # Other content still has to fit beside it.
    other = make_package(device_id=package.device_id)
    refused = create(client, collector.url, token, other)
    assert refused.status_code == 413 and refused.json()["error"] == "quota_exceeded"


def test_recording_progress_never_waits_for_the_disk(collector, client):
    """Each PATCH records its offset in the index from the event loop: those commits must not
    sync to disk, or every upload on the server waits on each one (crash safety comes from
    the partial file and reconcile, docs/COLLECTOR.md)."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (.ci/setup)")
    token = collector.token()
    package = make_package()
    created = create(client, collector.url, token, package)
    url = urljoin(collector.url, created.headers["Location"])
    trace = collector.data_dir.parent / "syncs.trace"
    tracer = subprocess.Popen(
        [strace, "-f", "-e", "trace=fsync,fdatasync", "-o", str(trace)]
        + ["-p", str(collector.process.pid)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        attached = tracer.stderr.readline()
        if "attached" not in attached:
            pytest.skip(f"strace cannot attach here: {attached.strip()}")
        for i in range(20):
            answer = patch(client, url, token, i * 100, package.data[i * 100 : (i + 1) * 100])
            assert answer.status_code == 204, answer.text
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(10)
    syncs = [line for line in trace.read_text().splitlines() if "sync(" in line]
    assert len(syncs) < 5, syncs


def test_verify_reports_a_package_of_too_many_members_without_reading_them(tmp_path):
    from praxis_collector import catalog
    from praxis_collector.storage.filesystem import FilesystemStore

    device_id, segment_id = random_id("dev_"), random_id("seg_")
    manifest = {"format_version": 1, "device_id": device_id, "segment_id": segment_id}
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for i in range(catalog.MAX_MEMBERS):
            zf.writestr(f"frames/{i:06d}.pxf", b"")
    data_dir = tmp_path / "data"
    store = FilesystemStore(data_dir / "store")
    record = catalog.StoredRecord(
        segment_id, device_id, catalog.file_sha256(path), path.stat().st_size, 1,
        f"{segment_id}.zip", "2026-12-04T10:00:00+00:00", "0" * 32, "0" * 12, manifest,
    )  # fmt: skip
    catalog.put(store, path, record)
    verified = collector_cli("verify", "--data-dir", str(data_dir))
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert f"over {catalog.MAX_MEMBERS} members" in verified.stdout
