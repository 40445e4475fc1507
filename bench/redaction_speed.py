#!/usr/bin/env python3
"""Cost of on-screen text redaction per frame, for two ways of reading what changed, on the
same frames in the same run: lines found by the engine's detection network ("network", the
engine's whole pipeline) and lines found from their ink, recognised alone and remembered by
their pixels ("auto": whole screens still go through the network; the default reads all by ink).

    python bench/redaction_speed.py [--ink-first-frame]

Starts a private Xvfb (1920x1080) with a text viewer, a shell and `top -d 1` in a small bitmap
font, then measures five kinds of change: typing a line, scrolling a page by three lines, a page
of new command output, a tick of top alone, and nothing (an unchanged frame).
Prints CPU milliseconds per frame (median) of each and their ratio. Needs xterm and xdotool.
`--ink-first-frame` also times a whole-screen read with lines found from their ink.
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
        procs.append(
            subprocess.Popen(
                ["xterm", "-T", "top", "-geometry", "100x24+960+760", "-e", "top", "-d", "1"],
                env={**os.environ, "DISPLAY": display},
            )
        )
        shell = xdo(display, "search", "--sync", "--name", "shell").split()[0]
        time.sleep(1.5)
        import mss

        sct = (getattr(mss, "MSS", None) or mss.mss)()

        def grab() -> np.ndarray:
            shot = sct.grab(sct.monitors[0])
            return bgra_to_rgb(bytes(shot.raw), shot.width, shot.height)

        scrubber = TextScrubber.from_settings(Settings())
        engines = {
            "network": RapidOcrEngine(find_lines="network"),
            "auto": RapidOcrEngine(find_lines="auto"),
        }
        redactors = {
            k: ScreenTextRedactor(e, scrubber, widen_by_ink=k != "network")
            for k, e in engines.items()
        }
        context = FrameContext(None, [])

        def cpu(fn) -> float:
            started = time.process_time()
            fn()
            return (time.process_time() - started) * 1000

        for engine in engines.values():
            engine.read(np.full((40, 300, 3), 255, np.uint8))  # models loaded: not timed
        first = grab()
        first_ms = {k: cpu(lambda r=r: r(first.copy(), context)) for k, r in redactors.items()}
        if "--ink-first-frame" in sys.argv:
            ink = ScreenTextRedactor(RapidOcrEngine(find_lines="ink"), scrubber, widen_by_ink=True)
            first_ms["ink"] = cpu(lambda: ink(first.copy(), context))
        xdo(display, "windowfocus", "--sync", shell)
        code = xdo(display, "search", "--sync", "--name", "code").split()[0]
        rows: dict[str, list[dict[str, float]]] = {
            "type a line": [],
            "scroll 3 lines": [],
            "page of output": [],
            "top tick alone": [],
            "no change": [],
        }

        def measure(kind: str) -> None:
            frame = grab()
            rows[kind].append(
                {k: cpu(lambda r=r: r(frame.copy(), context)) for k, r in redactors.items()}
            )

        for start in range(0, len(TYPED), 24):  # a frame after every pause in typing
            xdo(display, "type", "--delay", "40", TYPED[start : start + 24])
            time.sleep(0.3)
            measure("type a line")
        xdo(display, "key", "Return")
        for _ in range(2):
            xdo(display, "type", "--delay", "10", "seq 1 25\n")
            time.sleep(0.5)
            measure("page of output")
        xdo(display, "windowfocus", "--sync", code)
        for _ in range(3):  # a mouse wheel notch moves a text view by about three lines
            xdo(display, "key", "--delay", "20", "Down", "Down", "Down")
            time.sleep(0.4)
            measure("scroll 3 lines")
        for _ in range(3):
            time.sleep(1.1)
            measure("top tick alone")
        for _ in range(2):
            frame = grab()  # read once, then the same frame again
            for r in redactors.values():
                r(frame.copy(), context)
            rows["no change"].append(
                {k: cpu(lambda r=r: r(frame.copy(), context)) for k, r in redactors.items()}
            )

        print(f"# 1920x1080, three xterms (one runs top -d 1), {os.cpu_count()} cpus, 1 ORT thread")
        print(
            "first frame (whole screen): "
            + ", ".join(f"{k} {v:.0f} ms" for k, v in first_ms.items())
        )
        print(f"{'change':<16}{'frames':>7}{'network ms':>12}{'auto ms':>10}{'ratio':>8}")
        for kind, values in rows.items():
            net = statistics.median(v["network"] for v in values)
            auto = statistics.median(v["auto"] for v in values)
            print(
                f"{kind:<16}{len(values):>7}{net:>12.0f}{auto:>10.0f}{net / max(auto, 0.1):>7.1f}x"
            )
        lines = engines["auto"].lines
        print(f"auto: {lines.recognised} lines recognised, {lines.remembered} from memory")
    finally:
        for p in procs:
            p.terminate()
        xvfb.terminate()


if __name__ == "__main__":
    main()
