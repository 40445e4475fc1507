"""Shared pieces of the collector tests: a real collector process, packages, tus requests."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

TUS = {"Tus-Resumable": "1.0.0"}


def wait_for(condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def collector_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "praxis_collector", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@dataclass
class Collector:
    """A `praxis-collector serve` process on 127.0.0.1 with a free port."""

    data_dir: Path
    storage_args: list[str]
    extra: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None
    process: subprocess.Popen | None = None
    url: str = ""
    log_path: Path | None = None
    store_factory: Callable[[], Any] | None = None

    def start(self) -> Collector:
        ready = self.data_dir.parent / f"{self.data_dir.name}.ready"
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["serve", "--data-dir", str(self.data_dir), *self.storage_args]
        args += ["--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready), *self.extra]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "praxis_collector", *args], stderr=log, env=self.env
            )

        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"collector exited: {self.log_path.read_text()}")
            return ready.exists()

        wait_for(up, 60, "the collector's ready file")
        self.url = json.loads(ready.read_text())["url"]
        return self

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode if self.process else 0

    @property
    def origin(self) -> str:
        return self.url.removesuffix("/files/")

    def log_lines(self) -> list[dict]:
        """The access log's records. Only whole lines: the collector may be writing the last one
        right now. The file also holds the server's own plain-text diagnostics (such as
        uvicorn's "Invalid HTTP request received." when something that is not HTTP connects),
        which are not access records."""
        whole = self.log_path.read_text().split("\n")[:-1]
        return [json.loads(line) for line in whole if line.startswith("{")]

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """A praxis-collector command on this collector's data."""
        where = ["--data-dir", str(self.data_dir), *self.storage_args]
        return collector_cli(*args, *where, env=self.env)

    def store(self) -> Any:
        if self.store_factory is not None:
            return self.store_factory()
        from praxis_collector.storage.filesystem import FilesystemStore

        return FilesystemStore(self.data_dir / "store")

    def token(self, name: str = "device", quota_bytes: int | None = None) -> str:
        """A new device token, made in this process (the CLI path has its own tests)."""
        from praxis_collector import tokens

        secret, _ = tokens.create(self.store(), name, quota_bytes)
        return secret


def random_id(prefix: str) -> str:
    return prefix + os.urandom(8).hex()


def _member(name: str, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o100600 << 16
    return info


@dataclass(frozen=True)
class Package:
    data: bytes
    segment_id: str
    device_id: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def metadata(self, **override: str) -> dict[str, str]:
        values = {
            "segment_id": self.segment_id,
            "device_id": self.device_id,
            "sha256": self.sha256,
            "format_version": "1",
            "filename": f"{self.segment_id}.zip",
        }
        values.update(override)
        return values


def make_package(
    device_id: str | None = None, segment_id: str | None = None, frame_bytes: int = 20_000
) -> Package:
    """A package in the layout of docs/FORMAT.md, with incompressible frame payloads."""
    device_id = device_id or random_id("dev_")
    segment_id = segment_id or random_id("seg_")
    manifest = {
        "format_version": 1,
        "app_version": "0.0-test",
        "device_id": device_id,
        "session_id": random_id("ses_"),
        "segment_id": segment_id,
        "started_at": "2026-12-04T10:00:00+00:00",
        "ended_at": "2026-12-04T10:01:00+00:00",
        "duration_s": 60.0,
        "receipt": {"apps": ["xterm"], "modalities": ["keystrokes"], "frames": 2, "bytes": 0},
    }
    frames = [b"PXF1" + os.urandom(frame_bytes // 2) for _ in range(2)]

    def build() -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr(_member("manifest.json", False), json.dumps(manifest, indent=2))
            zf.writestr(_member("events.jsonl", True), b'{"t":0,"type":"frame"}\n')
            zf.writestr(_member("actions.jsonl", True), b"")
            for i, frame in enumerate(frames, start=1):
                zf.writestr(_member(f"frames/{i:06d}.pxf", False), frame)
        return out.getvalue()

    for _ in range(8):  # the receipt states the package's own size
        data = build()
        if manifest["receipt"]["bytes"] == len(data):
            break
        manifest["receipt"]["bytes"] = len(data)
    return Package(build(), segment_id, device_id)


def encode_metadata(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **TUS}


def create(client: httpx.Client, url: str, token: str, package: Package, **meta: str):
    headers = {
        **auth(token),
        "Upload-Length": str(len(package.data)),
        "Upload-Metadata": encode_metadata(package.metadata(**meta)),
    }
    return client.post(url, headers=headers)


def patch(
    client: httpx.Client,
    upload_url: str,
    token: str,
    offset: int,
    body: bytes,
    checksum: bytes | None = None,
):
    headers = {
        **auth(token),
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    if checksum is not None:
        headers["Upload-Checksum"] = "sha256 " + base64.b64encode(checksum).decode()
    return client.patch(upload_url, headers=headers, content=body)


def sha256_b64(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
