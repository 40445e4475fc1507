#!/usr/bin/env python3
"""Collector receive speed: tus PATCH uploads against a plain HTTP PUT of the same bytes.

    python bench/collector_throughput.py [--mb 64] [--repeats 3]

Starts `praxis-collector serve` and a bare PUT server (the same uvicorn/h11 stack, writing the
body to a file) on 127.0.0.1, both as processes, and sends one package to each, alternating,
`--repeats` times. Prints the median MB/s of each and their ratio. The collector's figure
includes everything it does for a package: the checksum of each chunk, the whole-package
SHA-256, the ZIP check and the atomic store.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.collector.helpers import Collector, make_package  # noqa: E402

PUT_SERVER = textwrap.dedent(
    """
    import json, os, socket, sys, uvicorn

    out, ready = sys.argv[1], sys.argv[2]

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        with open(out, "wb") as fh:
            while True:
                message = await receive()
                fh.write(message.get("body", b""))
                if not message.get("more_body"):
                    break
            fh.flush()
            os.fsync(fh.fileno())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    with open(ready, "w") as fh:
        json.dump({"port": sock.getsockname()[1]}, fh)
    uvicorn.Server(uvicorn.Config(app, http="h11", log_level="warning", lifespan="off")).run(
        sockets=[sock]
    )
    """
)


def chunk_digests(data: bytes, chunk: int) -> list[str]:
    """Each chunk's Upload-Checksum value, computed before the clock starts: this measures
    what the collector costs, not the client's hashing."""
    return [
        base64.b64encode(hashlib.sha256(data[i : i + chunk]).digest()).decode()
        for i in range(0, len(data), chunk)
    ]


def tus_upload(
    client: httpx.Client, url: str, token: str, package, chunk: int, digests: list[str] | None
) -> None:
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in package.metadata().items()
    )
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    created = client.post(
        url, headers={**headers, "Upload-Length": str(len(package.data)), "Upload-Metadata": meta}
    )
    upload_url = urljoin(url, created.headers["Location"])
    offset = 0
    while offset < len(package.data):
        body = package.data[offset : offset + chunk]
        patch_headers = {
            **headers,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        }
        if digests is not None:
            patch_headers["Upload-Checksum"] = f"sha256 {digests[offset // chunk]}"
        answer = client.patch(upload_url, headers=patch_headers, content=body)
        assert answer.status_code == 204, answer.text
        offset = int(answer.headers["Upload-Offset"])
    assert answer.headers["Praxis-Package-Sha256"] == package.sha256


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-mb", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="praxis-bench-") as tmp:
        root = Path(tmp)
        collector = Collector(root / "collector", []).start()
        ready = root / "put.ready"
        put = subprocess.Popen(
            [sys.executable, "-c", PUT_SERVER, str(root / "put.bin"), str(ready)]
        )
        try:
            deadline = time.monotonic() + 30
            while not ready.exists() or not ready.read_text():
                assert time.monotonic() < deadline and put.poll() is None, "PUT server failed"
                time.sleep(0.05)
            time.sleep(0.3)  # the socket is bound before uvicorn listens on it
            put_url = f"http://127.0.0.1:{json.loads(ready.read_text())['port']}/put"
            token = collector.token("bench")
            device = make_package().device_id
            plain: list[float] = []
            tus: list[float] = []
            bare: list[float] = []
            chunk = args.chunk_mb << 20
            with httpx.Client(timeout=120) as client:
                for _ in range(args.repeats):
                    package = make_package(device_id=device, frame_bytes=args.mb << 20)
                    started = time.perf_counter()
                    assert client.put(put_url, content=package.data).status_code == 204
                    plain.append(len(package.data) / (time.perf_counter() - started) / 1e6)
                    digests = chunk_digests(package.data, chunk)
                    started = time.perf_counter()
                    tus_upload(client, collector.url, token, package, chunk, digests)
                    tus.append(len(package.data) / (time.perf_counter() - started) / 1e6)
                    other = make_package(device_id=device, frame_bytes=args.mb << 20)
                    started = time.perf_counter()
                    tus_upload(client, collector.url, token, other, chunk, None)
                    bare.append(len(other.data) / (time.perf_counter() - started) / 1e6)
        finally:
            put.terminate()
            put.wait(10)
            collector.stop()
    p, t, b = statistics.median(plain), statistics.median(tus), statistics.median(bare)
    print(f"package {args.mb} MB, tus chunks {args.chunk_mb} MB, median of {args.repeats} runs")
    print(f"plain PUT                       {p:8.1f} MB/s")
    print(f"collector, sha256 per chunk     {t:8.1f} MB/s  {t / p:5.2f}x")
    print(f"collector, no chunk checksums   {b:8.1f} MB/s  {b / p:5.2f}x")


if __name__ == "__main__":
    main()
