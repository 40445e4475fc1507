"""The wire contract of docs/UPLOAD.md against a real collector process."""

from __future__ import annotations

import hashlib
import socket
import time
from urllib.parse import urljoin, urlsplit

from tests.collector.helpers import (
    auth,
    create,
    encode_metadata,
    make_package,
    patch,
    wait_for,
)

CONFIRM = "Praxis-Package-Sha256"


def _upload_whole(client, collector, token, package, chunk=8192, checksum=True):
    created = create(client, collector.url, token, package)
    assert created.status_code == 201, created.text
    url = urljoin(collector.url, created.headers["Location"])
    offset = 0
    answer = None
    while offset < len(package.data):
        body = package.data[offset : offset + chunk]
        digest = hashlib.sha256(body).digest() if checksum else None
        answer = patch(client, url, token, offset, body, digest)
        assert answer.status_code == 204, answer.text
        offset = int(answer.headers["Upload-Offset"])
    return url, answer


def _stored_file(collector, package):
    return (
        collector.data_dir / "store" / "packages" / package.device_id / f"{package.segment_id}.zip"
    )


def test_options_tells_extensions_and_needs_a_token(collector, client):
    token = collector.token()
    answer = client.options(collector.url, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 204
    assert answer.headers["Tus-Version"] == "1.0.0"
    assert set(answer.headers["Tus-Extension"].split(",")) == {
        "creation",
        "checksum",
        "termination",
        "expiration",
    }
    assert "sha256" in answer.headers["Tus-Checksum-Algorithm"].split(",")
    assert int(answer.headers["Praxis-Quota-Bytes"]) > 0
    missing = client.options(collector.url)
    assert missing.status_code == 401 and missing.json()["error"] == "token_missing"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    wrong = client.options(collector.url, headers={"Authorization": f"Bearer {forged}"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "token_invalid"


def test_health_needs_no_token(collector, client):
    answer = client.get(collector.origin + "/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_chunked_upload_is_stored_and_confirmed(collector, client):
    token = collector.token()
    package = make_package(frame_bytes=50_000)
    url, last = _upload_whole(client, collector, token, package)
    assert last.headers[CONFIRM] == package.sha256
    assert int(last.headers["Upload-Offset"]) == len(package.data)
    head = client.head(url, headers=auth(token))
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(package.data))
    assert head.headers[CONFIRM] == package.sha256
    assert "Upload-Expires" not in head.headers
    assert _stored_file(collector, package).read_bytes() == package.data
    # Nothing of an upload in progress is left once it is stored.
    assert list((collector.data_dir / "partial").iterdir()) == []


def test_creation_answers_expiry_and_head_resumes(collector, client):
    token = collector.token()
    package = make_package()
    created = create(client, collector.url, token, package)
    assert created.status_code == 201 and created.headers["Upload-Offset"] == "0"
    assert created.headers["Upload-Expires"].endswith("GMT")
    assert created.headers["Location"].startswith("/files/")
    url = urljoin(collector.url, created.headers["Location"])
    assert patch(client, url, token, 0, package.data[:1000]).status_code == 204
    head = client.head(url, headers=auth(token))
    assert head.headers["Upload-Offset"] == "1000" and CONFIRM not in head.headers
    assert head.headers["Upload-Metadata"] == encode_metadata(package.metadata())
    stale = patch(client, url, token, 0, package.data[:1000])
    assert stale.status_code == 409 and stale.json()["error"] == "offset_mismatch"
    done = patch(client, url, token, 1000, package.data[1000:])
    assert done.status_code == 204 and done.headers[CONFIRM] == package.sha256


def test_chunk_checksum_mismatch_is_460_and_keeps_nothing(collector, client):
    token = collector.token()
    package = make_package()
    created = create(client, collector.url, token, package)
    url = urljoin(collector.url, created.headers["Location"])
    body = package.data[:4096]
    bad = patch(client, url, token, 0, body, hashlib.sha256(b"other").digest())
    assert bad.status_code == 460 and bad.json()["error"] == "checksum_mismatch"
    assert client.head(url, headers=auth(token)).headers["Upload-Offset"] == "0"
    sha1 = patch(client, url, token, 0, body, None)  # resent without a checksum
    assert sha1.status_code == 204 and sha1.headers["Upload-Offset"] == "4096"
    unknown = client.patch(
        url,
        headers={
            **auth(token),
            "Upload-Offset": "4096",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": "md5 AAAA",
        },
        content=b"x",
    )
    assert unknown.status_code == 400
    rest = package.data[4096:]
    done = patch(client, url, token, 4096, rest, hashlib.sha256(rest).digest())
    assert done.status_code == 204 and done.headers[CONFIRM] == package.sha256


def test_whole_package_hash_mismatch_discards_the_upload(collector, client):
    token = collector.token()
    package = make_package()
    created = create(client, collector.url, token, package, sha256="0" * 64)
    url = urljoin(collector.url, created.headers["Location"])
    answer = patch(client, url, token, 0, package.data)
    assert answer.status_code == 460 and answer.json()["error"] == "package_checksum_mismatch"
    assert client.head(url, headers=auth(token)).status_code == 410
    assert not _stored_file(collector, package).exists()


def test_bytes_that_are_not_the_declared_segment_are_refused(collector, client):
    token = collector.token()
    package = make_package()
    other = make_package(device_id=package.device_id)  # another segment's package
    created = create(client, collector.url, token, other, segment_id=package.segment_id)
    url = urljoin(collector.url, created.headers["Location"])
    answer = patch(client, url, token, 0, other.data)
    assert answer.status_code == 400 and answer.json()["error"] == "package_invalid"
    assert "segment_id" in answer.json()["message"]
    assert not _stored_file(collector, package).exists()


def test_second_creation_of_a_stored_segment_makes_no_second_copy(collector, client):
    token = collector.token()
    package = make_package()
    first_url, _ = _upload_whole(client, collector, token, package, chunk=1 << 20)
    again = create(client, collector.url, token, package)
    assert again.status_code == 201
    assert again.headers["Upload-Offset"] == str(len(package.data))
    assert again.headers[CONFIRM] == package.sha256
    again_url = urljoin(collector.url, again.headers["Location"])
    assert client.head(again_url, headers=auth(token)).headers[CONFIRM] == package.sha256
    stored = list((collector.data_dir / "store" / "packages" / package.device_id).iterdir())
    assert sorted(p.name for p in stored) == [
        f"{package.segment_id}.json",
        f"{package.segment_id}.zip",
    ]
    changed = make_package(device_id=package.device_id, segment_id=package.segment_id)
    conflict = create(client, collector.url, token, changed)
    assert conflict.status_code == 409 and conflict.json()["error"] == "segment_conflict"


def test_two_uploads_of_one_segment_in_flight_store_it_once(collector, client):
    token = collector.token()
    package = make_package()
    urls = []
    for _ in range(2):
        created = create(client, collector.url, token, package)
        assert created.headers["Upload-Offset"] == "0"
        urls.append(urljoin(collector.url, created.headers["Location"]))
    for url in urls:
        answer = patch(client, url, token, 0, package.data)
        assert answer.status_code == 204 and answer.headers[CONFIRM] == package.sha256
    stored = [line for line in collector.log_lines() if line.get("event") == "stored"]
    assert [line["segment_id"] for line in stored].count(package.segment_id) == 1


def test_termination_erases_the_segment(collector, client):
    token = collector.token()
    package = make_package()
    url, _ = _upload_whole(client, collector, token, package, chunk=1 << 20)
    partial = create(client, collector.url, token, make_package(device_id=package.device_id))
    partial_url = urljoin(collector.url, partial.headers["Location"])
    assert _stored_file(collector, package).exists()
    assert client.delete(url, headers=auth(token)).status_code == 204
    assert not _stored_file(collector, package).exists()
    assert client.delete(url, headers=auth(token)).status_code == 410
    assert client.head(url, headers=auth(token)).status_code == 410
    # Another segment of the same device is untouched; an upload in progress can be cancelled.
    assert client.head(partial_url, headers=auth(token)).status_code == 200
    assert client.delete(partial_url, headers=auth(token)).status_code == 204
    # Once erased, the segment can be sent again.
    assert create(client, collector.url, token, package).headers["Upload-Offset"] == "0"


def test_uploads_belong_to_their_device(collector, client):
    token, other_token = collector.token("a"), collector.token("b")
    package = make_package()
    created = create(client, collector.url, token, package)
    url = urljoin(collector.url, created.headers["Location"])
    create(client, collector.url, other_token, make_package())  # binds the other token
    assert client.head(url, headers=auth(other_token)).status_code == 404
    assert client.delete(url, headers=auth(other_token)).status_code == 404
    stolen = create(client, collector.url, token, make_package())  # a second device id
    assert stolen.status_code == 403 and stolen.json()["error"] == "wrong_device"


def test_quota_refuses_what_would_not_fit(collector, client):
    token = collector.token("small", quota_bytes=52_428)
    first = make_package(frame_bytes=30_000)
    _upload_whole(client, collector, token, first, chunk=1 << 20)
    second = make_package(device_id=first.device_id, frame_bytes=30_000)
    refused = create(client, collector.url, token, second)
    assert refused.status_code == 413 and refused.json()["error"] == "quota_exceeded"
    assert int(refused.headers["Praxis-Quota-Used"]) == len(first.data)
    assert refused.headers["Praxis-Quota-Bytes"] == "52428"


def test_revoked_token_is_refused(collector, client):
    token = collector.token("leaver")
    package = make_package()
    created = create(client, collector.url, token, package)
    url = urljoin(collector.url, created.headers["Location"])
    token_id = token.split("_")[1]
    from praxis_collector import tokens

    tokens.revoke(collector.store(), token_id)
    for answer in (
        patch(client, url, token, 0, package.data),
        client.options(collector.url, headers={"Authorization": f"Bearer {token}"}),
        create(client, collector.url, token, make_package(device_id=package.device_id)),
    ):
        assert answer.status_code == 403 and answer.json()["error"] == "token_revoked"
        assert token not in answer.text


def test_bad_requests_get_clear_400s(collector, client):
    token = collector.token()
    package = make_package()
    cases = {
        "segment_id": {"segment_id": "seg_XYZ"},
        "device_id": {"device_id": "laptop-of-alice"},
        "sha256": {"sha256": "abc"},
        "filename": {"filename": "../../etc/passwd"},
    }
    for key, override in cases.items():
        answer = create(client, collector.url, token, package, **override)
        assert answer.status_code == 400, key
        assert answer.json()["error"] == "bad_metadata" and key in answer.json()["message"]
    newer = create(client, collector.url, token, package, format_version="7")
    assert newer.status_code == 400 and newer.json()["error"] == "unsupported_format"
    values = package.metadata()
    del values["sha256"]
    headers = {**auth(token), "Upload-Length": "10", "Upload-Metadata": encode_metadata(values)}
    assert "sha256" in client.post(collector.url, headers=headers).json()["message"]
    headers["Upload-Metadata"] = "segment_id !!!notbase64"
    assert client.post(collector.url, headers=headers).json()["error"] == "bad_metadata"
    headers["Upload-Metadata"] = "k " + "A" * 5000
    assert client.post(collector.url, headers=headers).status_code == 400
    no_length = {**auth(token), "Upload-Metadata": encode_metadata(package.metadata())}
    assert client.post(collector.url, headers=no_length).status_code == 400
    old = {"Authorization": f"Bearer {token}", "Tus-Resumable": "0.2.2"}
    assert client.post(collector.url, headers=old).status_code == 412
    assert (
        client.post(collector.url, headers={"Authorization": f"Bearer {token}"}).status_code == 412
    )
    big = create(client, collector.url, token, package)
    url = urljoin(collector.url, big.headers["Location"])
    past = patch(client, url, token, 0, package.data + b"more")
    assert past.status_code == 413
    plain = client.patch(url, headers={**auth(token), "Upload-Offset": "0"}, content=b"x")
    assert plain.status_code == 415
    assert (
        client.head(urljoin(collector.url, "/files/" + "0" * 32), headers=auth(token)).status_code
        == 404
    )


def test_oversized_headers_are_refused_before_the_app(collector):
    host, port = collector.origin.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        request = (
            "OPTIONS /files/ HTTP/1.1\r\nHost: x\r\n"
            + "X-Padding: " + "a" * 40_000 + "\r\n\r\n"
        )  # fmt: skip
        sock.sendall(request.encode())
        reply = sock.recv(200).decode(errors="replace")
    assert reply.split(" ")[1] in ("400", "431")


def test_access_log_is_json_without_tokens_or_content(collector, client):
    token = collector.token()
    package = make_package()
    url, _ = _upload_whole(client, collector, token, package, chunk=1 << 20)
    path = urlsplit(url).path

    def patch_line():  # written once the answer is on its way: wait for it
        lines = collector.log_lines()
        return [x for x in lines if x.get("path") == path and x.get("method") == "PATCH"]

    (line,) = wait_for(patch_line, 30, "the PATCH's log line")
    assert line["status"] == 204 and line["bytes_in"] == len(package.data)
    assert line["token_id"] == token.split("_")[1] and line["device_id"] == package.device_id
    text = collector.log_path.read_text()
    assert token not in text and token.split("_", 2)[2] not in text
    assert package.data[-200:].hex() not in text
    requests = [x for x in collector.log_lines() if x["event"] == "request"]
    assert all(set(line) >= {"ts", "method", "path", "status", "ms"} for line in requests)


def test_expired_upload_is_gone_and_swept(fresh_dir, client):
    from tests.collector.helpers import Collector, wait_for

    server = Collector(fresh_dir, [], ["--upload-expiry", "2"]).start()
    try:
        token = server.token()
        package = make_package()
        created = create(client, server.url, token, package)
        url = urljoin(server.url, created.headers["Location"])
        partial = server.data_dir / "partial" / url.rsplit("/", 1)[1]

        def swept():
            return any(line.get("event") == "expired" for line in server.log_lines())

        wait_for(swept, 30, "the sweep to remove the expired upload")
        assert not partial.exists()
        assert client.head(url, headers=auth(token)).status_code == 410
        assert patch(client, url, token, 0, package.data).status_code == 410
    finally:
        assert server.stop() == 0


def test_an_upload_resumes_after_the_collector_restarts(fresh_dir, client):
    from tests.collector.helpers import Collector

    server = Collector(fresh_dir, []).start()
    token = server.token()
    package = make_package(frame_bytes=60_000)
    try:
        created = create(client, server.url, token, package)
        path = created.headers["Location"]
        assert (
            patch(client, urljoin(server.url, path), token, 0, package.data[:25_000]).status_code
            == 204
        )
    finally:
        assert server.stop() == 0
    restarted = Collector(fresh_dir, []).start()  # same data, another port
    try:
        url = urljoin(restarted.url, path)
        head = client.head(url, headers=auth(token))
        assert head.status_code == 200 and head.headers["Upload-Offset"] == "25000"
        done = patch(client, url, token, 25_000, package.data[25_000:])
        assert done.status_code == 204 and done.headers[CONFIRM] == package.sha256
    finally:
        assert restarted.stop() == 0


def test_storage_failure_at_completion_is_503_and_the_chunk_can_be_resent(collector, client):
    token = collector.token()
    package = make_package()
    created = create(client, collector.url, token, package)
    url = urljoin(collector.url, created.headers["Location"])
    assert patch(client, url, token, 0, package.data[:5000]).status_code == 204
    # A file where the device's folder should be: storing fails even for root.
    blocker = collector.data_dir / "store" / "packages" / package.device_id
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"")
    try:
        failed = patch(client, url, token, 5000, package.data[5000:])
        assert failed.status_code == 503 and failed.json()["error"] == "storage_unavailable"
        assert int(failed.headers["Retry-After"]) > 0
        head = client.head(url, headers=auth(token))
        assert head.headers["Upload-Offset"] == "5000" and CONFIRM not in head.headers
    finally:
        blocker.unlink()
    done = patch(client, url, token, 5000, package.data[5000:])
    assert done.status_code == 204 and done.headers[CONFIRM] == package.sha256
    assert _stored_file(collector, package).read_bytes() == package.data


def test_a_body_cut_off_keeps_what_arrived_when_unchecked(collector, client):
    token = collector.token()
    package = make_package(frame_bytes=200_000)
    created = create(client, collector.url, token, package)
    path = created.headers["Location"]
    url = urljoin(collector.url, path)
    host, port = collector.origin.removeprefix("http://").split(":")
    sent = 70_000
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: Bearer {token}\r\nUpload-Offset: 0\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(package.data)}\r\n\r\n"
        )
        sock.sendall(head.encode() + package.data[:sent])
    # The connection is gone: what arrived is kept, and the upload goes on from there.

    def kept():
        return client.head(url, headers=auth(token)).headers["Upload-Offset"] == str(sent)

    wait_for(kept, 30, "the bytes before the cut to be kept")
    offset = sent
    done = patch(client, url, token, offset, package.data[offset:])
    assert done.status_code == 204 and done.headers[CONFIRM] == package.sha256


def test_a_resuming_client_takes_over_from_a_stalled_request(collector, client):
    token = collector.token()
    package = make_package(frame_bytes=200_000)
    created = create(client, collector.url, token, package)
    path = created.headers["Location"]
    url = urljoin(collector.url, path)
    host, port = collector.origin.removeprefix("http://").split(":")
    sent = 50_000
    with socket.create_connection((host, int(port)), timeout=10) as stalled:
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: Bearer {token}\r\nUpload-Offset: 0\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(package.data)}\r\n\r\n"
        )
        stalled.sendall(head.encode() + package.data[:sent])
        partial = collector.data_dir / "partial" / path.rsplit("/", 1)[1]
        wait_for(lambda: partial.stat().st_size == sent, 30, "the bytes to reach the collector")
        # The stalled connection stays open; the client resumes on a new one, from offset 0
        # as far as it knows. The collector's body timeout (60 s) is not waited for.
        started = time.monotonic()
        answer = patch(client, url, token, 0, package.data)
        assert answer.status_code == 409 and answer.json()["error"] == "offset_mismatch"
        assert answer.headers["Upload-Offset"] == str(sent)
        assert time.monotonic() - started < 30
        done = patch(client, url, token, sent, package.data[sent:])
        assert done.status_code == 204 and done.headers[CONFIRM] == package.sha256


def test_connections_over_the_limit_are_answered_503(fresh_dir, client):
    from tests.collector.helpers import Collector

    server = Collector(fresh_dir, [], ["--max-connections", "2"]).start()
    try:
        host, port = server.origin.removeprefix("http://").split(":")
        # The limit counts open connections, this test's client's own included.
        with socket.create_connection((host, int(port)), timeout=10) as held:
            held.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert held.recv(100).startswith(b"HTTP/1.1 200")  # and it stays open

            def refused():
                return client.get(server.origin + "/healthz").status_code == 503

            wait_for(refused, 30, "a second connection to be refused")
        wait_for(lambda: client.get(server.origin + "/healthz").status_code == 200, 30, "room")
    finally:
        assert server.stop() == 0
