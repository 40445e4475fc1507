"""The collector on this computer: with no collector configured and `praxis_collector`
installed, the app runs one on loopback as a child process (docs/UPLOAD.md, "The embedded
collector"), so record → review → upload → stored works out of the box. Its data lives in the
data folder's `collector/`; its token, like any other, in the OS keyring.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.core.errors import PraxisError
from app.core.paths import ensure_private_dir
from app.core.upload.target import Target, read_token, store_token

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 12.0  # the collector finishes requests in flight for up to 10 s


class EmbeddedCollectorError(PraxisError):
    title = "Collector on this computer not started"


@functools.cache
def available() -> bool:
    """Whether the collector package is installed next to the app (never in the bundle)."""
    return (
        not getattr(sys, "frozen", False)
        and importlib.util.find_spec("praxis_collector") is not None
    )


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "praxis_collector", *args]


class EmbeddedCollector:
    def __init__(self, data_dir: Path, device_id: str) -> None:
        self.folder = data_dir / "collector"
        self.token_name = f"collector-token:this-computer:{device_id}"
        self._process: subprocess.Popen[bytes] | None = None
        self.target: Target | None = None

    def start(self) -> Target:
        ensure_private_dir(self.folder)
        token = read_token(self.token_name) or self._new_token()
        ready = self.folder / "ready.json"
        ready.unlink(missing_ok=True)
        log = (self.folder / "collector.log").open("ab")
        try:
            self._process = subprocess.Popen(
                _command(
                    "serve",
                    "--data-dir",
                    str(self.folder),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--ready-file",
                    str(ready),
                ),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # Ctrl-C in the terminal reaches the app, which stops it
            )
        finally:
            log.close()
        url = self._wait_ready(ready)
        self.target = Target(url, token, embedded=True)
        return self.target

    def renew_token(self) -> Target:
        """A new token after the collector refused the stored one (its data was reset)."""
        assert self.target is not None
        self.target = Target(self.target.files_url, self._new_token(), embedded=True)
        return self.target

    def _new_token(self) -> str:
        try:
            done = subprocess.run(
                _command(
                    "token", "create", "--name", "this-computer", "--data-dir", str(self.folder)
                ),
                capture_output=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EmbeddedCollectorError(f"its token could not be made: {exc}") from exc
        token = done.stdout.decode(errors="replace").strip()
        if done.returncode != 0 or not token:
            reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no token"]
            raise EmbeddedCollectorError(f"its token could not be made: {reason[0]}")
        store_token(self.token_name, token)
        return token

    def _wait_ready(self, ready: Path) -> str:
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedCollectorError(
                    f"it exited with status {self._process.returncode}; "
                    f"see {self.folder / 'collector.log'}"
                )
            with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
                return str(json.loads(ready.read_text(encoding="utf-8"))["url"])
            time.sleep(0.05)  # a child process: nothing to wait on but its file
        self.stop()
        raise EmbeddedCollectorError(f"it did not start within {READY_TIMEOUT_S:.0f} s")

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
