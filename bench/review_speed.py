#!/usr/bin/env python3
"""How fast the review window opens a long segment and steps through its screenshots.

    python bench/review_speed.py [--minutes 30] [--seed 1] [--repeat 5] [--steps 300]

Records a synthetic segment of dense 1920x1080 text screens into a fresh buffer, stored as the
recorder stores it and at the rate it measured, then times building the package, opening the
review window and stepping, next to a keyframe decode and a PNG encode of the same run.
See bench/README.md. Qt runs offscreen unless QT_QPA_PLATFORM says otherwise.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import pydoc_data.topics
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.random import Generator
from PIL import Image, ImageDraw, ImageFont
from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.buffer.store import Buffer  # noqa: E402
from app.core.capture.input import key_category  # noqa: E402
from app.core.frames import FrameEncoder, decode  # noqa: E402
from app.core.model import EventRecord, FrameRecord  # noqa: E402
from app.core.package import PackageReader  # noqa: E402
from app.core.review import package_for_review  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.ui.bridge import Tasks  # noqa: E402
from app.ui.review_window import ReviewWindow  # noqa: E402

W, H = 1920, 1080
LEFT, TOP, RIGHT, BOTTOM = 316, 72, 1904, 1068  # the text area of every window
SEGMENT = "seg_bench"
KEYS_PER_S, MOVE_HZ = 5.0, 20.0
NEW_WINDOW_SHARE = 1 / 30  # clicks that open another window or page: about one a minute
OPEN_TARGET_MS, STEP_TARGET_MS = 1000.0, 50.0
COLUMNS = 150  # characters in the widest line a window shows
MONO, SANS = "DejaVuSansMono.ttf", "DejaVuSans.ttf"
# app, title, background, text colour, font, size, line height, kind of text
APPS = [
    ("code", "review_window.py - Code", (255, 255, 255), (36, 41, 46), MONO, 14, 19, "code"),
    ("xterm", "man bash", (24, 24, 24), (204, 204, 204), MONO, 14, 18, "prose"),
    ("firefox", "Data model - Python docs", (255, 255, 255), (32, 33, 36), SANS, 16, 24, "prose"),
    ("thunderbird", "Inbox - Thunderbird", (248, 248, 244), (20, 20, 20), SANS, 14, 20, "prose"),
    ("code", "notes.md - Code", (30, 30, 30), (212, 212, 212), MONO, 14, 19, "code"),
    ("xterm", "ssh build-01", (0, 43, 54), (147, 161, 161), MONO, 13, 17, "code"),
]


def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(name, size)
    except OSError:  # no DejaVu installed: Pillow's own font still gives dense text
        return ImageFont.load_default(size)


def corpora() -> dict[str, list[str]]:
    """Real text from the standard library, so glyph density and compression are realistic."""
    words = " ".join(pydoc_data.topics.topics.values()).split()
    code = []
    for name in ("argparse.py", "tarfile.py", "inspect.py"):
        source = (Path(textwrap.__file__).parent / name).read_text(encoding="utf-8")
        code += [line.expandtabs()[:COLUMNS] for line in source.splitlines()]
    return {"prose": textwrap.wrap(" ".join(words[:80000]), COLUMNS), "code": code}


class Window:
    """One application window: its text as lines, drawn on a canvas where only the rows whose
    text changed are drawn again, so a frame costs what changed, not a whole new screen."""

    def __init__(self, spec: tuple[Any, ...], texts: dict[str, list[str]], rng: Generator) -> None:
        self.app, self.title, self.bg, self.fg, face, size, self.line_h, kind = spec
        self.font, self.rng = font(face, size), rng
        self.lines = itertools.islice(itertools.cycle(texts[kind]), int(rng.integers(5000)), None)
        self.image = Image.new("RGB", (W, H), self.bg)
        self.draw = ImageDraw.Draw(self.image)
        small = font(SANS, 13)
        self.draw.rectangle((0, 0, W, 28), fill=(45, 45, 48))
        self.draw.text((12, 6), f"Activities    {self.app}", font=small, fill=(230, 230, 230))
        self.draw.rectangle((0, 28, W, 60), fill=(222, 222, 222))
        self.draw.text((16, 37), self.title, font=small, fill=(20, 20, 20))
        self.draw.rectangle((0, 60, 300, H), fill=tuple(max(0, c - 12) for c in self.bg))
        for i in range(45):  # a file tree or a folder list
            self.draw.text((14, 70 + i * 22), next(self.lines)[:36], font=small, fill=self.fg)
        self.text = [next(self.lines) for _ in range((BOTTOM - TOP) // self.line_h)]
        self.shown = [""] * len(self.text)
        self.caret = len(self.text) - 1
        self.typing: Iterator[str] = iter(())

    def pixels(self) -> np.ndarray:
        for row, line in enumerate(self.text):
            if line != self.shown[row]:
                y = TOP + row * self.line_h
                self.draw.rectangle((LEFT, y, RIGHT, y + self.line_h - 1), fill=self.bg)
                self.draw.text((LEFT, y + 1), line, font=self.font, fill=self.fg)
        self.shown = list(self.text)
        return np.asarray(self.image)  # a copy: the encoder keeps it as the last frame

    def scroll(self, lines: int) -> None:
        """The text moves up by whole lines; new lines appear at the bottom."""
        lines = min(lines, len(self.text))
        self.text = self.text[lines:] + [next(self.lines) for _ in range(lines)]

    def new_line(self) -> None:
        if self.caret + 1 < len(self.text):
            self.caret += 1
        else:
            self.scroll(1)
        self.text[self.caret] = ""

    def click(self) -> None:
        """A click in the text puts the caret on an empty line there."""
        self.caret = int(self.rng.integers(0, len(self.text)))
        self.text[self.caret] = ""

    def next_char(self) -> str:
        char = next(self.typing, None)
        if char is None:  # what a person types next: a line of this window's kind of text
            line = next(self.lines).strip()[: int(self.rng.integers(20, 70))]
            self.typing = iter(line + "\n")
            char = next(self.typing)
        return char

    def type(self, char: str) -> None:
        if char == "\n" and self.app == "xterm":  # the command prints its output
            self.scroll(int(self.rng.integers(1, 12)))
        if char == "\n" or len(self.text[self.caret]) >= COLUMNS:
            self.new_line()
        self.text[self.caret] += char.strip("\n")


def record(buffer: Buffer, minutes: float, seed: int) -> str:
    """Store one sealed segment; returns a line saying what it holds and what it took."""
    rng = np.random.default_rng(seed)
    began = time.perf_counter()
    texts = corpora()
    windows = [Window(spec, texts, rng) for spec in APPS]
    win, encoder, seq = windows[0], FrameEncoder(), itertools.count(1)
    events: list[EventRecord] = []
    frames: list[FrameRecord] = []
    started = time.time() - minutes * 60

    def event(t: float, kind: str, **data: object) -> None:
        events.append(EventRecord(SEGMENT, next(seq), t, started + t, kind, data))

    def frame(t: float, trigger: str) -> None:
        n, lag = next(seq), float(rng.uniform(15, 90))
        enc = encoder.encode(win.pixels(), n)
        if enc is not None:  # an unchanged screen is not stored, as in the recorder
            stored = (enc.kind, enc.base_seq, W, H, "webp", trigger, lag, enc.payload)
            frames.append(FrameRecord(SEGMENT, n, t, started + t, *stored))

    def window_event(t: float) -> None:
        event(t, "window", app=win.app, title=win.title, x=0, y=28, w=W, h=H)

    window_event(0.0)
    frame(0.0, "segment_start")
    t, typed = 0.0, ""
    while t < minutes * 60:
        tick = float(rng.uniform(1.6, 2.4))  # a click about every 2 s
        mode = rng.choice(["type", "scroll", "read"], p=[0.75, 0.15, 0.10])
        if mode == "type":  # typing fills the time until the pointer moves to the click
            for i in range(int((tick - 0.6) * KEYS_PER_S)):
                at, char = t + i / KEYS_PER_S, win.next_char()
                if char == "\n" and typed:  # Enter ends the run: its text comes first
                    event(at, "text", text=typed, redactions=[])
                    typed = ""
                name = "enter" if char == "\n" else key_category(char)
                event(at, "key", action="down", key=name, char=None if char == "\n" else char)
                event(at + 0.08, "key", action="up", key=name, char=None)
                typed += char.strip("\n")
                win.type(char)
        elif mode == "scroll":  # a few wheel notches of three lines each
            notches = int(rng.integers(2, 10))
            for i in range(notches):
                event(t + i * 0.1, "scroll", dx=0, dy=-1, x=1100, y=560)
            win.scroll(3 * notches)
        t += tick
        x, y = int(rng.integers(LEFT, RIGHT)), int(rng.integers(TOP, BOTTOM))
        for i in range(int(rng.integers(4, 12)), 0, -1):  # the pointer on its way
            event(t - i / MOVE_HZ, "mouse_move", x=x - 9 * i, y=y)
        if typed:  # the click ends the typing run
            event(t, "text", text=typed, redactions=[])
            typed = ""
        frame(t, "mouse_down")
        event(t, "mouse_button", action="down", button="left", x=x, y=y)
        event(t + 0.09, "mouse_button", action="up", button="left", x=x, y=y)
        if rng.random() < NEW_WINDOW_SHARE:  # the new window is seen a window poll later
            win = windows[int(rng.integers(0, len(windows)))]
            win.scroll(int(rng.integers(1, 30)))  # another page than on the last visit
            window_event(t + 0.5)
            frame(t + 0.5, "window_change")
        else:
            win.click()
    made = time.perf_counter() - began

    def store(tx) -> None:  # type: ignore[no-untyped-def]
        tx.add_session("ses_bench", started, "bench")
        screen = [{"left": 0, "top": 0, "width": W, "height": H}]
        tx.open_segment(SEGMENT, "ses_bench", started, screen)
        tx.add_events(events)
        for stored in frames:
            tx.add_frame(stored)
        tx.seal_segment(SEGMENT, started + t + 1, "segment length reached", 0, 0, {})

    buffer.write(store)
    keys = sum(f.kind == "key" for f in frames)
    return (
        f"{len(frames)} screenshots ({keys} keyframes), {len(events):,} events; generated in"
        f" {made:.1f} s, stored in {time.perf_counter() - began - made:.1f} s"
    )


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return (time.perf_counter() - began) * 1000


def rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process in MB, from /proc (Linux)."""
    return int(Path("/proc/self/status").read_text().split(field + ":")[1].split()[0]) / 1024


Row = tuple[str, list[float], float | None]  # name, milliseconds, target


def measure_review(
    app: QApplication, buffer: Buffer, repeat: int, steps: int, seed: int
) -> list[Row]:
    """Open the review window `repeat` + 1 times, then step, jump and walk back in it."""

    def open_window() -> tuple[ReviewWindow, float]:
        window = ReviewWindow(Tasks(), buffer, Settings())
        loop = QEventLoop()
        window.package_shown.connect(loop.quit)
        window.failed.connect(loop.quit)
        QTimer.singleShot(300_000, loop.quit)
        began = time.perf_counter()
        window.show()
        loop.exec()
        window.view.repaint()  # the first screenshot painted, not just scheduled
        if window.loaded is None:
            raise SystemExit("the review window did not show the segment")
        return window, (time.perf_counter() - began) * 1000

    opened = []
    for _ in range(repeat + 1):  # the very first opening also prepares the sealed segment
        window, ms = open_window()
        opened.append(ms)
        window.close()
        window.deleteLater()
        app.processEvents()
    window, _ms = open_window()
    count = window.frame_count

    def walk(indices: list[int]) -> list[float]:
        out = []
        for index in indices:
            out.append(timed(lambda: (window.show_frame(index), window.view.repaint())))
            app.processEvents()  # labels and slider, as the event loop runs between keys
        return out

    forward = walk(list(range(2, min(count, steps + 1) + 1)))
    window.show_frame(count)  # End, then back through frames not decoded yet
    back = walk(list(range(count - 1, max(0, count - 1 - steps), -1)))
    jumps = walk(np.random.default_rng(seed).integers(1, count + 1, steps).tolist())
    window.close()
    return [
        ("open window, first time (prepares)", opened[:1], OPEN_TARGET_MS),
        ("open window again", opened[1:], OPEN_TARGET_MS),
        ("step forward (Right)", forward, STEP_TARGET_MS),
        ("step back (Left) from the end", back, STEP_TARGET_MS),
        ("random jump (slider)", jumps, STEP_TARGET_MS),
    ]


def print_table(rows: list[Row], key_ms: float) -> None:
    print(f"{'ms':<36}{'n':>4}{'median':>8}{'p95':>8}{'max':>8}{'x key':>7}  target")
    for name, ms, target in rows:
        ordered = sorted(ms)
        median, p95 = statistics.median(ordered), ordered[-(-len(ordered) * 95 // 100) - 1]
        verdict = ""
        if target is not None:
            verdict = f"p95 <= {target:.0f}: " + ("met" if p95 <= target else "MISSED")
        print(
            f"{name:<36}{len(ms):>4}{median:>8.1f}{p95:>8.1f}{ordered[-1]:>8.1f}"
            f"{median / key_ms:>7.2f}  {verdict}"
        )


def quiet_qt(_mode: object, _context: object, text: str) -> None:
    """The offscreen platform warns on every window shown; keep the table readable."""
    if "propagateSizeHints" not in text:
        print(text, file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="segment length (30)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the recording (1)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each opening figure (5)")
    parser.add_argument("--steps", type=int, default=300, help="steps each way, and jumps (300)")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="praxis-review-bench-")
    # The buffer's key goes to a file keyring in the temporary folder, never the user's keyring.
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    os.environ["XDG_DATA_HOME"] = str(Path(tmp.name) / "xdg-data")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    qInstallMessageHandler(quiet_qt)
    app = QApplication.instance() or QApplication(sys.argv)
    buffer = Buffer(Path(tmp.name) / "data")
    made = record(buffer, args.minutes, args.seed)
    rss_before = rss_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak from here on is the review's

    package = package_for_review(buffer, SEGMENT)
    build = [timed(lambda: package_for_review(buffer, SEGMENT)) for _ in range(args.repeat)]
    read = [timed(lambda: PackageReader(package.data).frame(1)) for _ in range(args.repeat)]
    rows = [("build package (decrypt+zip+hash)", build, None), ("reader + first frame", read, None)]
    rows += measure_review(app, buffer, args.repeat, args.steps, args.seed)
    payload = PackageReader(package.data).frame_payload(1)  # the first frame is a keyframe
    pixels = decode(payload, None)
    key_ms = [timed(lambda: decode(payload, None)) for _ in range(2 * args.repeat)]
    png_ms = [timed(lambda: Image.fromarray(pixels).save(io.BytesIO(), "PNG")) for _ in range(3)]
    rows += [("baseline: decode one keyframe", key_ms, None)]
    rows += [("baseline: PNG encode 1080p", png_ms, None)]

    size_mb = package.size / 1e6
    print(f"# {args.minutes:g}-minute segment, seed {args.seed}: {made}")
    print(
        f"# {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f} at the end,"
        f" QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}; x key = median / keyframe decode"
    )
    print_table(rows, statistics.median(key_ms))
    print(
        f"package {size_mb:.1f} MB = {size_mb * 60 / args.minutes:.1f} MB per recorded hour;"
        f" RSS {rss_before:.0f} MB before review, peak {rss_mb('VmHWM'):.0f} MB while reviewing"
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
