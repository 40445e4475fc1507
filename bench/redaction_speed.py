#!/usr/bin/env python3
"""Cost of on-screen text redaction per frame: incremental (what the recorder does) against
reading the whole frame again, on the same frames, measured in the same run.

    python bench/redaction_speed.py

Starts a private Xvfb (1920x1080) with a text viewer and a shell, then measures four kinds of
change: typing a line, scrolling a page by three lines, a page of new command output, and
nothing (an unchanged frame).
Prints CPU milliseconds per frame (median) and the ratio. Needs xterm and xdotool.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.frames import bgra_to_rgb  # noqa: E402
from app.core.redact.frames import FrameContext  # noqa: E402
from app.core.redact.ocr import RapidOcrEngine  # noqa: E402
from app.core.redact.screen_text import ScreenTextRedactor  # noqa: E402
from app.core.redact.text import TextScrubber  # noqa: E402
from app.core.settings import Settings  # noqa: E402

TYPED = "echo invoice 2291 sent to mia.jones@example.org by the billing team"


def start_display() -> tuple[subprocess.Popen, str]:
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(read_fd, 16)
        if not chunk:
            raise RuntimeError("Xvfb did not start")
        data += chunk
    os.close(read_fd)
    return xvfb, f":{data.decode().strip()}"


def xterm(display: str, title: str, geometry: str, command: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "xterm",
            "-T",
            title,
            "-fa",
            "DejaVu Sans Mono",
            "-fs",
            "11",
            "-geometry",
            geometry,
            "-e",
            "sh",
            "-c",
            command,
        ],
        env={**os.environ, "DISPLAY": display},
    )


def xdo(display: str, *args: str) -> str:
    env = {**os.environ, "DISPLAY": display}
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True).stdout


def main() -> None:
    xvfb, display = start_display()
    os.environ["DISPLAY"] = display
    procs = []
    try:
        source = Path(os.__file__).read_text().splitlines()[:400]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
            fh.write("\n".join(source))
        procs.append(xterm(display, "code", "110x60+0+0", f"less {fh.name}"))
        procs.append(xterm(display, "shell", "90x40+960+200", "PS1='$ ' exec sh"))
        shell = xdo(display, "search", "--sync", "--name", "shell").split()[0]
        time.sleep(1.5)
        import mss

        sct = (getattr(mss, "MSS", None) or mss.mss)()

        def grab() -> np.ndarray:
            shot = sct.grab(sct.monitors[0])
            return bgra_to_rgb(bytes(shot.raw), shot.width, shot.height)

        scrubber = TextScrubber.from_settings(Settings())
        engine = RapidOcrEngine()
        live = ScreenTextRedactor(engine, scrubber)
        context = FrameContext(None, [])

        def cpu(fn) -> float:
            started = time.process_time()
            fn()
            return (time.process_time() - started) * 1000

        first = grab()
        first_ms = cpu(lambda: live(first.copy(), context))
        xdo(display, "windowfocus", "--sync", shell)
        code = xdo(display, "search", "--sync", "--name", "code").split()[0]
        rows: dict[str, list[tuple[float, float]]] = {
            "type a line": [],
            "scroll 3 lines": [],
            "page of output": [],
            "no change": [],
        }

        def measure(kind: str) -> None:
            frame = grab()
            incremental = cpu(lambda: live(frame.copy(), context))
            fresh = ScreenTextRedactor(engine, scrubber)
            full = cpu(lambda: fresh(frame.copy(), context))
            rows[kind].append((incremental, full))

        for start in range(0, len(TYPED), 12):  # a frame after every pause in typing
            xdo(display, "type", "--delay", "40", TYPED[start : start + 12])
            time.sleep(0.3)
            measure("type a line")
        xdo(display, "key", "Return")
        for _ in range(3):
            xdo(display, "type", "--delay", "10", "seq 1 25\n")
            time.sleep(0.5)
            measure("page of output")
        xdo(display, "windowfocus", "--sync", code)
        for _ in range(4):  # a mouse wheel notch moves a text view by about three lines
            xdo(display, "key", "--delay", "20", "Down", "Down", "Down")
            time.sleep(0.4)
            measure("scroll 3 lines")
        for _ in range(3):
            measure("no change")

        print(f"# 1920x1080, xterm DejaVu Sans Mono 11, {os.cpu_count()} cpus, OCR on 1 thread")
        print(f"first frame (whole screen read): {first_ms:8.0f} ms cpu")
        print(f"{'change':<16}{'frames':>7}{'incremental ms':>16}{'full-frame ms':>15}{'ratio':>8}")
        for kind, values in rows.items():
            inc = statistics.median(v[0] for v in values)
            full = statistics.median(v[1] for v in values)
            print(
                f"{kind:<16}{len(values):>7}{inc:>16.0f}{full:>15.0f}{full / max(inc, 0.1):>7.1f}x"
            )
        print(
            f"areas read: {live.stats.reads} reads, "
            f"{live.stats.pixels_read / max(1, live.stats.pixels_seen):.1%} of the pixels seen"
        )
    finally:
        for p in procs:
            p.terminate()
        xvfb.terminate()


if __name__ == "__main__":
    main()
