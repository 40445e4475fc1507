#!/usr/bin/env python3
"""How fast the uploader sends, what it costs, and whether it slows recording.

    python bench/upload_speed.py [--mb 16] [--repeat 3] [--cuts 5]

All on 127.0.0.1, against the collector as a real process, in one run:
- throughput of the uploader (tus, 4 MiB chunks with sha256, the collector hashing and
  storing atomically) next to a plain HTTP PUT of the same bytes to a minimal sink that
  writes and fsyncs them (the baseline), as a ratio;
- the uploader's CPU time per MB sent (this process: egress gate, hashing, HTTP);
- time to resume after the connection is cut in the middle of a chunk (default backoff);
- the recorder's CPU per second of typing with and without an upload running beside it.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
os.environ.setdefault("PYNPUT_BACKEND", "dummy")

import requests  # noqa: E402
from support import faultproxy as fp  # noqa: E402
from support.seed import seed_approved  # noqa: E402
from support.servers import ServerProcess, UploadServer  # noqa: E402

from app.core.buffer.store import Buffer  # noqa: E402
from app.core.egress import release_for_upload  # noqa: E402
from app.core.recorder import Recorder  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.core.upload.target import Target  # noqa: E402
from app.core.upload.worker import Uploader  # noqa: E402
from tests.unit.fakes import FixedWindow, ScriptedInput  # noqa: E402

SINK = textwrap.dedent(
    """
    import json, os, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    folder, ready = sys.argv[1], sys.argv[2]
    class Sink(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_PUT(self):
            left = int(self.headers["Content-Length"])
            with open(os.path.join(folder, "put.bin"), "wb") as fh:
                while left:
                    block = self.rfile.read(min(left, 1 << 20))
                    fh.write(block)
                    left -= len(block)
                fh.flush()
                os.fsync(fh.fileno())
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        def log_message(self, *args):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    port = server.server_address[1]
    with open(ready + ".tmp", "w") as fh:
        json.dump({"url": f"http://127.0.0.1:{port}/", "port": port}, fh)
    os.replace(ready + ".tmp", ready)
    server.serve_forever()
    """
)


def big_package(data_dir: Path, mb: float, seed: int) -> tuple[Buffer, str]:
    # A 1280x720 frame of noise stores as about 2.7 MB of lossless WebP.
    frames = max(1, round(mb / 2.7))
    buffer, [segment_id] = seed_approved(data_dir, 1, frames=frames, size=(720, 1280), seed=seed)
    return buffer, segment_id


def upload_once(
    home: Path, server: UploadServer, mb: float, seed: int
) -> tuple[float, float, float, bytes]:
    """(seconds sending the bytes, seconds end to end, CPU seconds, the package)."""
    buffer, segment_id = big_package(home / f"data-{seed}", mb, seed)
    token = server.new_token()
    # Keep the content: removing it is the retention's business, not the upload's.
    uploader = Uploader(buffer, Settings(keep_uploaded_hours=1), lambda: Target(server.url, token))
    package = release_for_upload(buffer, segment_id).data
    marks: list[float] = []
    report_progress = uploader._set_progress

    def progress(segment_id: str, sent: int, total: int) -> None:
        marks.append(time.perf_counter())
        report_progress(segment_id, sent, total)

    uploader._set_progress = progress  # type: ignore[method-assign]
    cpu, wall = time.process_time(), time.perf_counter()
    report = uploader.sync_once(300)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert report.ok, report
    return marks[-1] - marks[0], wall, cpu, package


def raw_tus_once(server: UploadServer, data: bytes, device: int) -> float:
    """The same bytes to the collector with bare requests calls and the same 4 MiB chunks:
    what the collector itself allows, with no bookkeeping on the client."""
    import base64
    import hashlib
    import secrets

    token = server.new_token()
    headers = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}
    sha = hashlib.sha256(data).hexdigest()
    meta = {
        "segment_id": f"seg_{secrets.token_hex(8)}",
        "device_id": f"dev_{secrets.token_hex(8)}",
        "sha256": sha,
        "format_version": "1",
        "filename": "x.zip",
    }
    with requests.Session() as session:
        created = session.post(
            server.url,
            headers={
                **headers,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": ",".join(
                    f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()
                ),
            },
            timeout=30,
        )
        url = requests.compat.urljoin(server.url, created.headers["Location"])
        started, offset = time.perf_counter(), 0
        while offset < len(data):
            chunk = data[offset : offset + 4 * 1024 * 1024]
            digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
            answer = session.patch(
                url,
                data=chunk,
                headers={
                    **headers,
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(offset),
                    "Upload-Checksum": f"sha256 {digest}",
                },
                timeout=120,
            )
            # The last chunk is answered 400: the bytes are not a package of this made-up
            # segment. The collector read, hashed and checked them all the same.
            offset = int(answer.headers.get("Upload-Offset", offset + len(chunk)))
        return time.perf_counter() - started


def put_once(sink: ServerProcess, data: bytes) -> float:
    with requests.Session() as session:
        started = time.perf_counter()
        response = session.put(sink.url + "put", data=data, timeout=(10, 120))
        took = time.perf_counter() - started
    assert response.status_code == 204
    return took


def resume_after_cut(home: Path, server: UploadServer, cuts: int) -> list[float]:
    times = []
    for i in range(cuts):
        buffer, _ = big_package(home / f"cut-{i}", 8, 100 + i)
        proxy = fp.FaultProxy(server.port)
        token = server.new_token()
        uploader = Uploader(buffer, Settings(), lambda p=proxy, t=token: Target(p.url, t))
        uploader.chunk_bytes = 1024 * 1024
        proxy.queue(None, None, fp.RESET_BODY, method="PATCH")  # type: ignore[arg-type]
        resumed: list[float] = []
        report_progress = uploader._set_progress

        def progress(segment_id: str, sent: int, total: int, p=proxy, r=resumed, f=report_progress):  # type: ignore[no-untyped-def]
            if p.last_fault_at and not r and sent > 0:
                r.append(time.monotonic() - p.last_fault_at)
            f(segment_id, sent, total)

        uploader._set_progress = progress  # type: ignore[method-assign]
        assert uploader.sync_once(120).ok
        proxy.close()
        times.append(resumed[0])
    return times


def recorder_threads_cpu(pids: list[int]) -> float:
    total = 0
    for tid in pids:
        with open(f"/proc/self/task/{tid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def recorder_cpu(
    home: Path, server: UploadServer, seconds: float, uploading: bool
) -> tuple[float, int]:
    """CPU seconds per second of the recorder's threads while typing at 50 keys/s."""
    folder = home / f"rec-{int(uploading)}"
    recorder = Recorder(
        folder,
        Settings(capture_screen=False),
        platform_factory=lambda: FixedWindow(),
        input_factory=ScriptedInput,
    )
    recorder.accept_consent()
    recorder.start()
    keys = ScriptedInput.instances[-1]
    uploader = None
    if uploading:
        for i in range(4):
            big_package(folder, 16, 200 + i)
        token = server.new_token()
        uploader = Uploader(recorder.buffer, Settings(), lambda: Target(server.url, token))
        uploader.start()
    before = {
        t.native_id
        for t in threading.enumerate()
        if t.name.startswith("praxis-") and t.name != "praxis-uploader"
    }
    tids = [tid for tid in before if tid is not None]
    start_cpu, started = recorder_threads_cpu(tids), time.monotonic()
    while time.monotonic() - started < seconds:
        keys.type_text("a")
        time.sleep(0.02)
    cpu = (recorder_threads_cpu(tids) - start_cpu) / seconds
    if uploader is not None:
        uploader.stop()
    dropped = recorder.status().counters.get("dropped_events", 0)
    recorder.shutdown()
    return cpu, int(dropped)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cuts", type=int, default=5)
    parser.add_argument("--typing-seconds", type=float, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="praxis-upload-speed-") as tmp:
        home = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(home / "xdg")
        server = UploadServer("collector", home / "collector").start()
        (home / "sink").mkdir()
        sink = ServerProcess(
            [sys.executable, "-c", SINK, str(home / "sink"), str(home / "sink.json")],
            home / "sink.json",
            home / "sink.log",
        ).start()
        try:
            tus, whole, raw, put, cpu_per_mb = [], [], [], [], []
            for i in range(args.repeat):  # interleaved, so load on the machine hits all alike
                sending, wall, cpu, data = upload_once(home, server, args.mb, i)
                size = len(data)
                tus.append(size / sending / 1e6)
                whole.append(size / wall / 1e6)
                raw.append(size / raw_tus_once(server, data, i) / 1e6)
                put.append(size / put_once(sink, data) / 1e6)
                cpu_per_mb.append(cpu * 1000 / (size / 1e6))
            cuts = resume_after_cut(home, server, args.cuts)
            idle_cpu, idle_drops = recorder_cpu(home, server, args.typing_seconds, False)
            busy_cpu, busy_drops = recorder_cpu(home, server, args.typing_seconds, True)
        finally:
            sink.stop()
            server.stop()

    def runs(values: list[float]) -> str:
        listed = ", ".join(f"{v:.1f}" for v in values)
        return f"{statistics.median(values):.1f} MB/s (runs: {listed})"

    print(f"package size:            {size / 1e6:.1f} MB")
    print(f"uploader, sending:       {runs(tus)}")
    print(f"uploader, end to end:    {runs(whole)} (egress gate rebuild, bookkeeping, ack)")
    print(f"bare tus PATCHes:        {runs(raw)} (same chunks to the collector, no client logic)")
    print(f"plain HTTP PUT:          {runs(put)} (to a sink that writes and fsyncs)")
    print(
        f"ratio uploader / PUT:    {statistics.median(tus) / statistics.median(put):.2f}x "
        f"(target >= 0.8x); uploader / bare tus: "
        f"{statistics.median(tus) / statistics.median(raw):.2f}x"
    )
    print(f"uploader CPU per MB:     {statistics.median(cpu_per_mb):.1f} ms")
    print(
        f"resume after a cut:      median {statistics.median(cuts):.2f} s, max {max(cuts):.2f} s ({len(cuts)} cuts)"
    )
    print(
        f"recorder CPU typing:     {idle_cpu * 1000:.1f} ms/s idle, {busy_cpu * 1000:.1f} ms/s while uploading ({busy_cpu / max(idle_cpu, 1e-9):.2f}x); dropped events {idle_drops} / {busy_drops}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
