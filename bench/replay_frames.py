#!/usr/bin/env python3
"""Cost of on-screen text redaction per frame, on frames of a live desktop replayed in one
process, so that a change to the reading path can be timed (and profiled) on the very same
frames before and after.

    python bench/replay_frames.py record DIR [--seconds 40]
    python bench/replay_frames.py replay DIR [--find-lines ink|network|auto] [--profile N]

`record` starts the desktop of bench/record_workload.py (three xterms, one running
`top -d 1`), drives it with the same typing and clicks and saves a screenshot after every click
(as the recorder takes one), lossless, into DIR. The frames show only that private desktop.
`replay` runs them through ScreenTextRedactor with the OCR engine in this process (`--worker`:
in a worker process, as the recorder runs it, counting the worker's CPU too) and prints
CPU-s per frame: the first frame (a whole screen) and the median and 90th percentile of the
frames after it, which the recorder reads incrementally. `--profile N` prints the N functions
with the most cumulative time over the incremental frames.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.core.redact.frames import FrameContext  # noqa: E402
from app.core.redact.ocr import RapidOcrEngine  # noqa: E402
from app.core.redact.ocr_pool import OcrProcess  # noqa: E402
from app.core.redact.screen_text import ScreenTextRedactor  # noqa: E402
from app.core.redact.text import TextScrubber  # noqa: E402
from app.core.settings import Settings  # noqa: E402


def record(out: Path, seconds: float) -> None:
    import mss
    import record_workload as workload

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        desk = workload.Desktop(Path(tmp))
        os.environ["DISPLAY"] = desk.env["DISPLAY"]
        shots: list[np.ndarray] = []
        done = threading.Event()

        def grab() -> None:
            # A frame every 2 s, between clicks: what the recorder's click frames see.
            with (getattr(mss, "MSS", None) or mss.mss)() as screen:
                while not done.wait(2.0):
                    shot = screen.grab(screen.monitors[1])
                    shots.append(np.asarray(shot)[:, :, 2::-1].copy())

        grabber = threading.Thread(target=grab)
        grabber.start()
        try:
            workload.active_workload(desk, seconds)
        finally:
            done.set()
            grabber.join()
    for i, rgb in enumerate(shots):
        Image.fromarray(rgb).save(out / f"{i:04d}.png", compress_level=1)
    print(f"{len(shots)} frames saved in {out}")


def worker_cpu_s(engine: object) -> float:
    """CPU seconds of the OCR worker process, if the engine has one running."""
    pid = getattr(engine, "pid", None)
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def replay(folder: Path, find_lines: str, profile: int, worker: bool) -> None:
    frames = [np.array(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))]
    if len(frames) < 2:
        sys.exit(f"{folder} holds fewer than two frames: record some first")
    engine: Any
    if worker:  # as the recorder runs it: in a worker process, crops sent over a pipe
        os.environ["PRAXIS_OCR_FIND_LINES"] = find_lines
        engine = OcrProcess()
    else:
        engine = RapidOcrEngine(find_lines=find_lines)
    redactor = ScreenTextRedactor(engine, TextScrubber.from_settings(Settings()))
    context = FrameContext(None, None, (0, 0))
    t0 = time.process_time() + worker_cpu_s(engine)
    redactor(frames[0], context)
    first = time.process_time() + worker_cpu_s(engine) - t0
    read_before, pixels_before = redactor.stats.reads, redactor.stats.pixels_read
    profiler = cProfile.Profile() if profile else None
    costs = []
    for frame in frames[1:]:
        t0 = time.process_time() + worker_cpu_s(engine)
        if profiler:
            profiler.enable()
        redactor(frame, context)
        if profiler:
            profiler.disable()
        costs.append(time.process_time() + worker_cpu_s(engine) - t0)
    costs.sort()
    print(f"lines found by: {find_lines}; {len(frames)} frames of {folder}")
    print(f"first frame (whole screen), CPU-s:  {first:.2f}")
    print(f"incremental frame, CPU-s median:    {statistics.median(costs):.3f}")
    print(f"incremental frame, CPU-s p90:       {costs[int(0.9 * (len(costs) - 1))]:.3f}")
    print(f"incremental frames, CPU-s total:    {sum(costs):.2f}")
    n = len(costs)
    reads = (redactor.stats.reads - read_before) / n
    kpx = (redactor.stats.pixels_read - pixels_before) / n / 1000
    print(f"incremental frame, areas / kpixels read: {reads:.1f} / {kpx:.0f}")
    reader = getattr(engine, "lines", None)
    if reader is not None:
        print(f"lines recognised / remembered:      {reader.recognised} / {reader.remembered}")
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(
            profile
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="save frames of the bench desktop")
    rec.add_argument("folder", type=Path)
    rec.add_argument("--seconds", type=float, default=40)
    rep = sub.add_parser("replay", help="time redaction of saved frames")
    rep.add_argument("folder", type=Path)
    rep.add_argument("--find-lines", choices=("network", "ink", "auto"), default="ink")
    rep.add_argument("--profile", type=int, default=0, metavar="N")
    rep.add_argument(
        "--worker", action="store_true", help="read in an OCR worker process, as the recorder"
    )
    args = ap.parse_args()
    if args.command == "record":
        record(args.folder, args.seconds)
    else:
        replay(args.folder, args.find_lines, args.profile, args.worker)


if __name__ == "__main__":
    main()
