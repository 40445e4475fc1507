"""Talking to a running recorder from the test's own process, through the same control
socket the CLI uses: a status check costs a round trip instead of starting Python."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from .xsession import RecorderProcess, XServer, praxis_cmd, wait_for


def live_status(data_dir: Path, timeout: float = 10.0) -> dict[str, Any] | None:
    """The running recorder's status, or None when none answers."""
    from app.core import control
    from app.core.errors import PraxisError

    try:
        return dict(control.send(data_dir, {"cmd": "status"}, timeout=timeout))
    except (PraxisError, OSError, ValueError):
        return None


def start_recorder(rec: RecorderProcess, timeout: float = 60.0) -> RecorderProcess:
    """Start `rec` and wait until it records (like RecorderProcess.start, polled in-process)."""
    with rec.log_path.open("ab") as log:
        rec.proc = subprocess.Popen(
            praxis_cmd(rec.data_dir, "record", "--headless"),
            env=rec.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def recording() -> bool:
        assert rec.proc is not None
        if rec.proc.poll() is not None:
            raise AssertionError(f"the recorder exited with {rec.proc.returncode}:\n{rec.output()}")
        status = live_status(rec.data_dir, timeout=5)
        return status is not None and status["state"] == "recording"

    wait_for(recording, timeout, "the recorder to record", interval=0.05)
    return rec


def committed_events(data_dir: Path) -> int:
    status = live_status(data_dir)
    assert status is not None, "the recorder does not answer"
    return int(status["pending_events"])


def type_committed(x: XServer, data_dir: Path, text: str, timeout: float = 30.0) -> None:
    """Type `text` and Return, then wait until the recorder has committed all of it and then
    nothing more between two readings."""
    before = committed_events(data_dir)
    x.type_text(text)
    x.key("Return")
    last: list[int] = []

    def settled() -> bool:
        count = committed_events(data_dir)
        done = count >= before + 2 * len(text) + 2 and last[-1:] == [count]
        last.append(count)
        return done

    wait_for(settled, timeout, f"the recorder to commit {text!r}", 0.1)
