#!/usr/bin/env python3
"""Soak the headless recorder under a steady scripted workload and watch it for leaks.

    python bench/soak.py [--minutes 30] [--interval 15] [--segment-minutes 1]
                         [--settings FILE]

Starts a private Xvfb with two xterms and `python -m app record --headless` (every default
in force, on-screen text reading included, unless --settings names a settings.toml), then
drives the desktop with xdotool for --minutes: runs of typing at about 5 keys/s with pauses
between them, a click every 2 s inside the xterms with the pointer moved there first, a
scroll now and then, and a switch of keyboard focus every 20 s. Segments seal every
--segment-minutes, so sealing and review preparation run many times.

Every --interval seconds it prints, read from the outside (/proc and the data folder) and from
`status` over the control socket: the recorder's RSS and thread count, its open file
descriptors, the size of buffer.db and of its write-ahead log, the backlogs (input events,
frames, writes) and what is stored. At the end: the RSS slope (least squares over the samples
after the first fifth, which holds model loading and warm-up) in MB per hour, the range of
open files and threads, the largest WAL and backlogs, and the same figures for Xvfb as a
baseline. Target: a flat RSS and flat open files. Everything it starts is stopped at exit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from support.live import live_status  # noqa: E402
from support.xsession import XServer, check_cli, praxis_cmd, praxis_env, wait_for  # noqa: E402

PROSE = " ".join(
    [
        "the quarterly report is due on friday so please send your figures by thursday noon",
        "we moved the design review to room four because the projector in room two is broken",
        "remember to rebase the feature branch before opening the merge request for review",
    ]
).split(" ")


def proc_figures(pid: int) -> dict[str, float]:
    fields: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024  # MB
            elif key == "Threads":
                fields["threads"] = int(value)
    fields["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return fields


def file_mb(path: Path) -> float:
    try:
        return path.stat().st_size / 1e6
    except FileNotFoundError:
        return 0.0


def slope_per_hour(times: list[float], values: list[float]) -> float:
    """Least-squares slope, in value units per hour."""
    if len(times) < 2:
        return 0.0
    mt, mv = statistics.mean(times), statistics.mean(values)
    den = sum((t - mt) ** 2 for t in times)
    if den == 0:
        return 0.0
    return sum((t - mt) * (v - mv) for t, v in zip(times, values)) / den * 3600


class Workload:
    """A person at the keyboard: typing runs, clicks, scrolls, focus switches."""

    def __init__(self, x: XServer, windows: list[Any], rng: random.Random) -> None:
        self.x, self.windows, self.rng = x, windows, rng
        self.stop = threading.Event()
        self.keys = self.clicks = 0
        self.errors: list[str] = []

    def run(self) -> None:
        current = 0
        next_switch = time.monotonic() + 20
        next_click = time.monotonic() + 2
        try:
            self.x.focus(self.windows[current])
            while not self.stop.is_set():
                words = " ".join(self.rng.choice(PROSE) for _ in range(self.rng.randint(3, 8)))
                self.x.type_text(words + " ", delay_ms=200)  # about 5 keys/s
                self.keys += len(words) + 1
                now = time.monotonic()
                if now >= next_click:
                    w = self.windows[current]
                    self.x.click(w.x + self.rng.randint(20, 400), w.y + self.rng.randint(20, 300))
                    self.clicks += 1
                    if self.rng.random() < 0.3:
                        self.x.click_here(self.rng.choice((4, 5)))  # a scroll step
                    next_click = now + 2
                if now >= next_switch:
                    current = 1 - current
                    self.x.focus(self.windows[current])
                    next_switch = now + 20
                self.stop.wait(self.rng.uniform(0.3, 1.5))
        except Exception as exc:  # reported at the end
            self.errors.append(repr(exc))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=15.0)
    parser.add_argument("--segment-minutes", type=float, default=1.0)
    parser.add_argument("--settings", type=Path, help="a settings.toml for the recorder")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what was started

    home = Path(tempfile.mkdtemp(prefix="praxis-soak-"))
    os.environ.update(
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        XDG_DATA_HOME=str(home / "xdg-data"),
        XDG_CONFIG_HOME=str(home / "xdg-config"),
    )
    data_dir = home / "data"
    data_dir.mkdir(mode=0o700)
    settings = args.settings.read_text() if args.settings else ""
    settings += f"\nsegment_minutes = {args.segment_minutes}\n"
    (data_dir / "settings.toml").write_text(settings, encoding="utf-8")

    x = XServer.start(home / "xvfb")
    recorder: subprocess.Popen[bytes] | None = None
    workload: Workload | None = None
    try:
        env = praxis_env(x.display, home)
        check_cli(data_dir, "consent", "--accept", env=env)
        windows = [x.xterm("Soak one", 0, 0, 100, 40), x.xterm("Soak two", 960, 0, 100, 40)]
        with (home / "recorder.log").open("wb") as log:
            recorder = subprocess.Popen(
                praxis_cmd(data_dir, "record", "--headless"),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(
            lambda: (live_status(data_dir) or {}).get("state") == "recording", 120, "recording"
        )
        print(f"soak: {args.minutes} min, data in {home}, recorder pid {recorder.pid}", flush=True)
        print(
            "   min   RSS MB  thr  fds   db MB  wal MB  backlog(in/fr/wr)  events  frames  "
            "dropped(ev/fr)  Xvfb RSS",
            flush=True,
        )
        workload = Workload(x, windows, random.Random(args.seed))
        worker = threading.Thread(target=workload.run, daemon=True)
        worker.start()
        samples: list[dict[str, Any]] = []
        started = time.monotonic()
        end = started + args.minutes * 60
        while True:
            now = time.monotonic()
            status = live_status(data_dir, timeout=30) or {}
            backlog = status.get("backlog", {})
            sample = {
                "t": now - started,
                **proc_figures(recorder.pid),
                "xvfb_rss": proc_figures(x.proc.pid)["VmRSS"],
                "db_mb": file_mb(data_dir / "buffer.db"),
                "wal_mb": file_mb(data_dir / "buffer.db-wal"),
                "state": status.get("state"),
                "input": backlog.get("input_events", -1),
                "frames_backlog": backlog.get("frames", -1),
                "writes": backlog.get("writes", -1),
                "events": status.get("pending_events", -1),
                "frames": status.get("pending_frames", -1),
                "dropped_events": status.get("dropped_events", -1),
                "dropped_frames": status.get("dropped_frames", -1),
            }
            samples.append(sample)
            print(
                f"{sample['t'] / 60:6.1f} {sample['VmRSS']:8.1f} {sample['threads']:4.0f}"
                f" {sample['fds']:4.0f} {sample['db_mb']:7.1f} {sample['wal_mb']:7.2f}"
                f"   {sample['input']:5}/{sample['frames_backlog']:3}/{sample['writes']:4}"
                f"     {sample['events']:7} {sample['frames']:6}"
                f"   {sample['dropped_events']:6}/{sample['dropped_frames']:<6}"
                f" {sample['xvfb_rss']:8.1f}  {sample['state']}",
                flush=True,
            )
            if recorder.poll() is not None:
                print(f"the recorder exited with {recorder.returncode}", flush=True)
                return 1
            if now >= end:
                break
            time.sleep(max(0.0, min(args.interval, end - time.monotonic())))
        workload.stop.set()
        worker.join(30)
        recorder.send_signal(signal.SIGINT)
        stop_started = time.monotonic()
        code = recorder.wait(120)
        stop_seconds = time.monotonic() - stop_started
    finally:
        if workload is not None:
            workload.stop.set()
        if recorder is not None and recorder.poll() is None:
            recorder.kill()
            recorder.wait(10)
        x.stop()

    steady = samples[len(samples) // 5 :] or samples
    times = [s["t"] for s in steady]
    summary = {
        "minutes": round(samples[-1]["t"] / 60, 1),
        "samples": len(samples),
        "keys_typed": workload.keys,
        "clicks": workload.clicks,
        "workload_errors": workload.errors,
        "rss_mb": {
            "first": round(samples[0]["VmRSS"], 1),
            "last": round(samples[-1]["VmRSS"], 1),
            "peak_hwm": round(max(s["VmHWM"] for s in samples), 1),
            "slope_mb_per_hour_after_warmup": round(
                slope_per_hour(times, [s["VmRSS"] for s in steady]), 2
            ),
        },
        "xvfb_rss_slope_mb_per_hour": round(
            slope_per_hour(times, [s["xvfb_rss"] for s in steady]), 2
        ),
        "open_files": [min(s["fds"] for s in samples), max(s["fds"] for s in samples)],
        "open_files_after_warmup": [min(s["fds"] for s in steady), max(s["fds"] for s in steady)],
        "threads": [min(s["threads"] for s in samples), max(s["threads"] for s in samples)],
        "wal_mb_max": round(max(s["wal_mb"] for s in samples), 2),
        "db_mb_last": round(samples[-1]["db_mb"], 1),
        "backlog_max": {
            "input_events": max(s["input"] for s in samples),
            "frames": max(s["frames_backlog"] for s in samples),
            "writes": max(s["writes"] for s in samples),
        },
        "stored": {"events": samples[-1]["events"], "frames": samples[-1]["frames"]},
        "dropped": {
            "events": samples[-1]["dropped_events"],
            "frames": samples[-1]["dropped_frames"],
        },
        "states_seen": sorted({str(s["state"]) for s in samples}),
        "sigint_exit_code": code,
        "sigint_seconds": round(stop_seconds, 1),
    }
    print(json.dumps(summary, indent=2))
    return 0 if code == 0 and not workload.errors else 1


if __name__ == "__main__":
    sys.exit(main())
