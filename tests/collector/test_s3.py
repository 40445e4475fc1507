"""The S3 backend against a local S3 server (moto in server mode, a real process)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest

from tests.collector.helpers import Collector, auth, create, make_package, patch, wait_for

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (praxis-collector[s3])")
pytest.importorskip("moto.server", reason="moto[server] is not installed (.ci/setup)")

CONFIRM = "Praxis-Package-Sha256"
BUCKET = "recordings"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    """The local server's made-up credentials, for the processes and for this one."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in CREDENTIALS.items():
            mp.setenv(name, value)
        yield dict(os.environ)


@pytest.fixture(scope="module")
def s3_endpoint(s3_env) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=s3_env,
    )
    endpoint = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        assert process.poll() is None, "the S3 server exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    try:
        wait_for(listening, 60, "the S3 server")
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def bucket(s3_endpoint, s3_env):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    return client


def _keys(bucket) -> list[str]:
    answer = bucket.list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in answer.get("Contents", []))


@pytest.fixture(scope="module")
def s3_collectors(tmp_path_factory, s3_endpoint, s3_env, bucket) -> Iterator[list[Collector]]:
    """Two collector processes over one bucket, each with its own data folder."""
    args = ["--storage", "s3", "--bucket", BUCKET, "--endpoint-url", s3_endpoint, "--prefix", "px"]
    from praxis_collector.storage.s3 import S3Store

    def store() -> S3Store:
        return S3Store(BUCKET, "px", s3_endpoint)

    servers = [
        Collector(
            tmp_path_factory.mktemp(f"s3c{i}") / "data", args, env=s3_env, store_factory=store
        ).start()
        for i in range(2)
    ]
    yield servers
    for server in servers:
        assert server.stop() == 0


def test_packages_and_tokens_live_in_the_bucket(s3_collectors, bucket, client):
    first, _ = s3_collectors
    token = first.token("s3-device")
    package = make_package(frame_bytes=40_000)
    created = create(client, first.url, token, package)
    url = urljoin(first.url, created.headers["Location"])
    half = len(package.data) // 2
    assert patch(client, url, token, 0, package.data[:half]).status_code == 204
    done = patch(client, url, token, half, package.data[half:])
    assert done.status_code == 204 and done.headers[CONFIRM] == package.sha256
    key = f"px/packages/{package.device_id}/{package.segment_id}.zip"
    assert bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read() == package.data
    record = json.loads(
        bucket.get_object(Bucket=BUCKET, Key=key.replace(".zip", ".json"))["Body"].read()
    )
    assert (
        record["sha256"] == package.sha256
        and record["manifest"]["segment_id"] == package.segment_id
    )
    token_keys = [k for k in _keys(bucket) if k.startswith("px/tokens/")]
    assert f"px/tokens/{token.split('_')[1]}.json" in token_keys
    for k in token_keys:  # the bucket holds hashes of tokens, never a token
        assert (
            token.split("_", 2)[2]
            not in bucket.get_object(Bucket=BUCKET, Key=k)["Body"].read().decode()
        )
    assert client.get(first.origin + "/healthz").json() == {"status": "ok"}


def test_two_collectors_over_one_bucket_store_a_segment_once(s3_collectors, bucket, client):
    first, second = s3_collectors
    token = first.token("roaming")  # created through one, known to both
    package = make_package()
    created = create(client, first.url, token, package)
    url = urljoin(first.url, created.headers["Location"])
    assert patch(client, url, token, 0, package.data).headers[CONFIRM] == package.sha256
    again = create(client, second.url, token, package)
    assert again.status_code == 201
    assert again.headers["Upload-Offset"] == str(len(package.data))
    assert again.headers[CONFIRM] == package.sha256
    # Erasing through the second collector removes what the first one stored.
    erase_url = urljoin(second.url, again.headers["Location"])
    assert client.delete(erase_url, headers=auth(token)).status_code == 204
    assert not [k for k in _keys(bucket) if package.segment_id in k]
    assert client.head(url, headers=auth(token)).status_code == 410


def test_a_finished_upload_is_erased_through_any_collector(s3_collectors, bucket, client):
    first, second = s3_collectors
    token = first.token("wanderer")
    package = make_package()
    created = create(client, first.url, token, package)
    upload_path = created.headers["Location"]
    done = patch(client, urljoin(first.url, upload_path), token, 0, package.data)
    assert done.headers[CONFIRM] == package.sha256
    # The second collector never saw this upload, yet answers for it from the bucket.
    elsewhere = urljoin(second.url, upload_path)
    assert client.head(elsewhere, headers=auth(token)).headers[CONFIRM] == package.sha256
    assert client.delete(elsewhere, headers=auth(token)).status_code == 204
    assert not [k for k in _keys(bucket) if package.segment_id in k]
    assert client.delete(elsewhere, headers=auth(token)).status_code == 410
    assert client.head(urljoin(first.url, upload_path), headers=auth(token)).status_code == 410
    # Stored anew, the package is not erased by a DELETE of the old upload.
    again = create(client, first.url, token, package)
    again_url = urljoin(first.url, again.headers["Location"])
    assert patch(client, again_url, token, 0, package.data).headers[CONFIRM] == package.sha256
    assert client.delete(elsewhere, headers=auth(token)).status_code == 410
    assert [k for k in _keys(bucket) if package.segment_id in k]
    other_device = first.token("stranger")
    assert client.delete(elsewhere, headers=auth(other_device)).status_code == 404


def test_an_old_upload_never_erases_its_content_stored_anew(s3_collectors, bucket, client):
    first, second = s3_collectors
    token = first.token("returning")
    package = make_package()
    created = create(client, first.url, token, package)
    old_path = created.headers["Location"]
    assert patch(client, urljoin(first.url, old_path), token, 0, package.data).status_code == 204
    assert client.delete(urljoin(second.url, old_path), headers=auth(token)).status_code == 204
    # The same content is sent again through the second collector, while the first one
    # still has the old upload as complete in its own index.
    anew = create(client, second.url, token, package)
    done = patch(client, urljoin(second.url, anew.headers["Location"]), token, 0, package.data)
    assert done.headers[CONFIRM] == package.sha256
    assert client.delete(urljoin(first.url, old_path), headers=auth(token)).status_code == 204
    assert f"px/packages/{package.device_id}/{package.segment_id}.zip" in _keys(bucket)


def test_verify_and_export_read_the_bucket(s3_collectors, bucket, client, tmp_path):
    first, _ = s3_collectors
    token = first.token("exported")
    first_package = make_package()
    packages = [first_package, make_package(device_id=first_package.device_id)]
    for package in packages:
        created = create(client, first.url, token, package)
        url = urljoin(first.url, created.headers["Location"])
        assert patch(client, url, token, 0, package.data).status_code == 204
    out = tmp_path / "export"
    exported = first.cli("export", "--out", str(out))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    by_segment = {line["segment_id"]: line for line in index}
    for package in packages:
        line = by_segment[package.segment_id]
        assert (out / line["path"]).read_bytes() == package.data
        assert line["sha256"] == package.sha256 and line["receipt"]["bytes"] == len(package.data)
    # A package changed in the bucket behind the collector's back is found by verify.
    key = f"px/packages/{packages[0].device_id}/{packages[0].segment_id}.zip"
    data = bytearray(packages[0].data)
    data[len(data) // 2] ^= 0xFF
    bucket.put_object(Bucket=BUCKET, Key=key, Body=bytes(data))
    from praxis_collector import ops

    good, problems = ops.verify(first.store())
    assert good >= 1
    assert [(p.key, p.message) for p in problems] == [
        (key.removeprefix("px/"), "SHA-256 of the stored package is not the record's")
    ]


def test_an_unreachable_bucket_is_one_line(tmp_path, s3_env):
    from tests.collector.helpers import collector_cli

    closed = _free_port()
    done = collector_cli(
        "ls", "--data-dir", str(tmp_path), "--storage", "s3", "--bucket", BUCKET,
        "--endpoint-url", f"http://127.0.0.1:{closed}", env=s3_env,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Storage unavailable" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("kind", ["fs", "s3"])
def test_both_backends_keep_one_contract(kind, tmp_path, request):
    from praxis_collector.storage.base import StoredObject
    from praxis_collector.storage.filesystem import FilesystemStore

    if kind == "s3":
        from praxis_collector.storage.s3 import S3Store

        endpoint = request.getfixturevalue("s3_endpoint")
        request.getfixturevalue("bucket")
        store = S3Store(BUCKET, f"contract-{os.urandom(4).hex()}", endpoint)
    else:
        store = FilesystemStore(tmp_path / "store")
    store.check()
    assert store.get_bytes("a/missing.json") is None
    with pytest.raises(KeyError):
        list(store.read_chunks("a/missing.zip"))
    store.delete("a/missing.zip")  # nothing to delete is not an error
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(300_000))
    store.put_file("a/b/one.zip", source)
    store.put_bytes("a/b/one.json", b"{}")
    store.put_bytes("a/b/one.json", b'{"v": 2}')  # replaced whole
    store.put_bytes("c/other.json", b"x")
    assert b"".join(store.read_chunks("a/b/one.zip", 4096)) == source.read_bytes()
    assert store.get_bytes("a/b/one.json") == b'{"v": 2}'
    assert list(store.list("a/")) == [
        StoredObject("a/b/one.json", 8),
        StoredObject("a/b/one.zip", 300_000),
    ]
    store.delete("a/b/one.zip")
    assert [o.key for o in store.list("a/")] == ["a/b/one.json"]
    with pytest.raises(Exception, match="not a storage key"):
        store.put_bytes("../escape", b"x")
