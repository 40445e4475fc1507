"""What a SIGKILL during recording loses, and what committing sooner costs in CPU.

Runs the recorder in a child process fed by a steady stream of clicks (no display needed:
the input and the window in front are scripted inside the child), kills it with SIGKILL at a
random moment, and compares the clicks the child had produced (counted in a shared file that
outlives the kill) with the clicks the buffer holds. Every configuration runs in the same
invocation, so its CPU figure is a ratio against the first one, measured alongside.

    python bench/crash_loss.py                     # 20 kills per configuration, ~2 minutes
    python bench/crash_loss.py --kills 50 --rate 100

Configurations: `before` is the capture flush and writer batch window of 0.25 s each, the
values up to this change; `now` is what app/core ships (FLUSH_INTERVAL_S, _BATCH_SECONDS).
"""

from __future__ import annotations

import argparse
import mmap
import os
import random
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def child(data_dir: Path, counter: Path, rate: float, flush: float, batch: float) -> None:
    """The recorder under test, fed `rate` clicks per second until it is killed."""
    sys.path.insert(0, str(ROOT))
    from app.core.buffer import store
    from app.core.capture import loop
    from app.core.capture.input import InputCapture
    from app.core.model import RawInput, WindowInfo
    from app.core.recorder import Recorder
    from app.core.settings import Settings
    from app.platform.base import Platform

    loop.FLUSH_INTERVAL_S = flush
    store._BATCH_SECONDS = batch

    class Terminal(Platform):
        name = "scripted"

        def check_capture_supported(self) -> None:
            return None

        def active_window(self) -> WindowInfo | None:
            return WindowInfo("xterm", "Terminal", 0, 0, 800, 600, handle="0x1")

    class Clicks(InputCapture):
        def start(self) -> None:
            return None

        def stop(self, timeout: float = 2.0) -> None:
            return None

    recorder = Recorder(
        data_dir,
        Settings(capture_screen=False),
        platform_factory=Terminal,
        input_factory=Clicks,
    )
    recorder.accept_consent()
    recorder.start()
    while recorder._loop is None or recorder._loop._capture is None:
        time.sleep(0.01)
    capture = recorder._loop._capture
    fh = counter.open("r+b")
    shared = mmap.mmap(fh.fileno(), 8)
    print("ready", flush=True)
    n, interval, next_at = 0, 1.0 / rate, time.monotonic()
    while True:
        for action in ("down", "up"):
            now, wall = time.monotonic(), time.time()
            capture.events.put(RawInput("mouse_button", now, wall, action, button="left", x=n, y=1))
        n += 1
        shared[:8] = struct.pack("<q", n)  # clicks handed to the recorder so far
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def one_kill(
    workdir: Path, rate: float, flush: float, batch: float, after: float
) -> tuple[int, float, float]:
    """(clicks lost, CPU seconds per second of recording, seconds recorded)."""
    data_dir = workdir / f"data-{random.getrandbits(32):08x}"
    counter = workdir / "counter"
    counter.write_bytes(b"\0" * 8)
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(workdir / "xdg"),
        "PYNPUT_BACKEND": "dummy",
    }
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(data_dir), str(counter)]
        + ["--rate", str(rate), "--flush", str(flush), "--batch", str(batch)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise SystemExit("the recorder child did not start")
    cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(after)
    cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    produced = struct.unpack("<q", counter.read_bytes()[:8])[0]
    db = sqlite3.connect(data_dir / "buffer.db")
    try:
        stored = db.execute("SELECT count(*) FROM events WHERE type = 'mouse_button'").fetchone()[0]
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    return produced - stored // 2, (cpu1 - cpu0) / (t1 - t0), t1 - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills per configuration")
    parser.add_argument("--rate", type=float, default=50.0, help="clicks per second")
    parser.add_argument("--child", nargs=2, metavar=("DATA_DIR", "COUNTER"))
    parser.add_argument("--flush", type=float, default=0.25)
    parser.add_argument("--batch", type=float, default=0.25)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.rate, args.flush, args.batch)
        return

    sys.path.insert(0, str(ROOT))
    from app.core.buffer import store
    from app.core.capture import loop

    configs = {
        "before": (0.25, 0.25),
        "now": (loop.FLUSH_INTERVAL_S, store._BATCH_SECONDS),
    }
    results: dict[str, tuple[list[int], list[float]]] = {name: ([], []) for name in configs}
    with tempfile.TemporaryDirectory(prefix="praxis-crash-") as tmp:
        # Interleaved, so a noisy neighbour on the machine hits both configurations alike.
        for i in range(args.kills):
            for name, (flush, batch) in configs.items():
                lost, cpu, _ = one_kill(Path(tmp), args.rate, flush, batch, random.uniform(1, 3))
                results[name][0].append(lost)
                results[name][1].append(cpu)
            print(f"kill {i + 1}/{args.kills} done", file=sys.stderr, flush=True)
    base_cpu = statistics.mean(results["before"][1])
    print(f"{args.kills} SIGKILLs per configuration, {args.rate:.0f} clicks/s (2 events each)")
    print(
        f"{'config':<8} {'flush s':>7} {'batch s':>7} {'lost events/kill':>17} {'max':>5}"
        f" {'lost s':>7} {'CPU %core':>9} {'CPU ratio':>9}"
    )
    for name, (flush, batch) in configs.items():
        lost, cpu = results[name]
        print(
            f"{name:<8} {flush:>7.2f} {batch:>7.2f} {2 * statistics.mean(lost):>17.1f}"
            f" {2 * max(lost):>5} {statistics.mean(lost) / args.rate:>7.3f}"
            f" {100 * statistics.mean(cpu):>9.2f} {statistics.mean(cpu) / base_cpu:>9.2f}"
        )


if __name__ == "__main__":
    main()
