"""Independent tus clients upload to the collector: tuspy (Python) and tus-js-client (Node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.collector.helpers import make_package

JS = Path(__file__).parent / "js"


def _stored(collector, package) -> Path:
    return (
        collector.data_dir / "store" / "packages" / package.device_id / f"{package.segment_id}.zip"
    )


def test_tuspy_uploads_in_chunks_and_resumes(collector, tmp_path):
    client_module = pytest.importorskip("tusclient.client", reason="tuspy is not installed")
    token = collector.token("tuspy")
    package = make_package(frame_bytes=120_000)
    path = tmp_path / f"{package.segment_id}.zip"
    path.write_bytes(package.data)
    client = client_module.TusClient(collector.url, headers={"Authorization": f"Bearer {token}"})
    uploader = client.uploader(
        str(path), chunk_size=16 * 1024, metadata=package.metadata(), upload_checksum=True
    )  # tuspy's checksums are sha1, which the collector accepts as well
    uploader.upload(stop_at=50_000)  # as if the connection had gone
    assert 0 < uploader.offset < len(package.data)
    assert not _stored(collector, package).exists()
    resumed = client.uploader(
        str(path), url=uploader.url, chunk_size=16 * 1024, upload_checksum=True
    )
    assert resumed.offset == uploader.offset  # read back with HEAD
    resumed.upload()
    assert _stored(collector, package).read_bytes() == package.data


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_tus_js_client_uploads(collector, tmp_path):
    if not (JS / "node_modules" / "tus-js-client").is_dir():
        pytest.skip("tus-js-client is not installed: `npm ci` in tests/collector/js (.ci/setup)")
    token = collector.token("tus-js")
    package = make_package(frame_bytes=100_000)
    path = tmp_path / "package.zip"
    path.write_bytes(package.data)

    def run(*args: str) -> dict:
        done = subprocess.run(
            ["node", str(JS / "upload.mjs"), *args], capture_output=True, text=True, timeout=60
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    result = run(collector.url, token, str(path), json.dumps(package.metadata()), "32768")
    assert result["ok"], result
    assert result["confirmed"] == package.sha256
    assert _stored(collector, package).read_bytes() == package.data
    from praxis_collector import tokens

    tokens.revoke(collector.store(), token.split("_")[1])
    again = run(collector.url, token, str(path), json.dumps(make_package().metadata()), "32768")
    assert again == {"ok": False, "status": 403, "message": again["message"]}
