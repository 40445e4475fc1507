"""Upload servers as real processes on 127.0.0.1: the independent @tus/server (Node) and our
collector. Each writes a ready file with its URL once it listens; tests wait for that file."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

TUSNODE_DIR = Path(__file__).resolve().parents[1] / "tusnode"


def tusnode_available() -> str | None:
    """Why the Node tus server cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (TUSNODE_DIR / "node_modules" / "@tus" / "server").is_dir():
        return f"run `npm ci` in {TUSNODE_DIR} (.ci/setup does)"
    return None


class ServerProcess:
    def __init__(self, command: list[str], ready: Path, log: Path, cwd: Path | None = None) -> None:
        self.command, self.ready, self.log_path, self.cwd = command, ready, log, cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.port = 0

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.ready.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self.cwd
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.command[:3]} exited: {self.log_path.read_text()[-2000:]}"
                )
            with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
                info = json.loads(self.ready.read_text())
                self.url, self.port = info["url"], int(info["port"])
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(
            f"{self.command[:3]} did not get ready: {self.log_path.read_text()[-2000:]}"
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, sig)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def tusnode(folder: Path, token: str | None = None) -> ServerProcess:
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        "node",
        str(TUSNODE_DIR / "server.mjs"),
        str(folder / "store"),
        str(folder / "ready.json"),
    ]
    if token:
        command.append(token)
    return ServerProcess(command, folder / "ready.json", folder / "server.log", cwd=TUSNODE_DIR)


def collector(folder: Path, *extra: str) -> ServerProcess:
    """Our collector (`praxis-collector serve`) on a free port, data in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "praxis_collector",
        "serve",
        "--data-dir",
        str(folder / "data"),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--ready-file",
        str(folder / "ready.json"),
        *extra,
    ]
    return ServerProcess(command, folder / "ready.json", folder / "server.log")


def collector_token(folder: Path, name: str = "test") -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "praxis_collector",
            "token",
            "create",
            "--name",
            name,
            "--data-dir",
            str(folder / "data"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout.decode().strip()


class UploadServer:
    """A tus server of either kind with what the tests ask of it: its token, a restart on
    the same data, and the packages it holds in full."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind, self.folder = kind, folder
        folder.mkdir(parents=True, exist_ok=True)
        self.token = collector_token(folder) if kind == "collector" else "node-token"
        self.process: ServerProcess | None = None

    def start(self) -> UploadServer:
        make = (
            collector(self.folder) if self.kind == "collector" else tusnode(self.folder, self.token)
        )
        self.process = make.start()
        return self

    def new_token(self) -> str:
        """A token for another device (our collector binds a token to its first device)."""
        if self.kind == "collector":
            self._count = getattr(self, "_count", 0) + 1
            return collector_token(self.folder, f"device-{self._count}")
        return self.token

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    @property
    def url(self) -> str:
        assert self.process is not None
        return self.process.url

    @property
    def port(self) -> int:
        assert self.process is not None
        return self.process.port

    def stored(self, device_id: str) -> list[bytes]:
        """The packages of one device that the server holds in full."""
        if self.kind == "collector":
            folder = self.folder / "data" / "store" / "packages" / device_id
            return [p.read_bytes() for p in folder.glob("*.zip")]
        from support.uploadcheck import tusnode_complete_objects

        return tusnode_complete_objects(self.folder / "store", device_id)

    def revoke_all_tokens(self) -> None:
        ids = subprocess.run(
            [
                sys.executable,
                "-m",
                "praxis_collector",
                "token",
                "list",
                "--data-dir",
                str(self.folder / "data"),
            ],
            capture_output=True,
            check=True,
            timeout=60,
            text=True,
        )
        for line in ids.stdout.splitlines():
            token_id = line.split()[0] if line.split() else ""
            if token_id:
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "praxis_collector",
                        "token",
                        "revoke",
                        token_id,
                        "--data-dir",
                        str(self.folder / "data"),
                    ],
                    capture_output=True,
                    timeout=60,
                )
