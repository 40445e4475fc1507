"""Real windows on an Xvfb of the case's own size, captured as the recorder captures them.

Terminals (xterm and urxvt, outline fonts, light and dark colours) start empty and then `cat`
a session transcript: the redactor sees the empty window first and the output as a change,
as it does while recording. Qt windows (an editor, a mail reader, a chat, a key table) appear
on an empty desktop. Every character of every labelled item gets its own rectangle: from the
terminal's cell grid, or from the layout Qt drew the text with.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tests.redaction_eval.independent.text import Document, Label
from tests.redaction_eval.xdisplay import _terminate, require_tools
from tests.support.xvfb import start_xvfb, wait_for

Rect = tuple[int, int, int, int]
QT_APP = Path(__file__).with_name("qt_app.py")

# (name, background, foreground, accent for keys, muted for comments); nothing pure black,
# so black in a redacted frame can only be a redaction box.
THEMES = {
    "paper": ("#fdf6e3", "#4f5f66", "#b04a1c", "#93a1a1"),
    "white": ("#ffffff", "#303a3c", "#2050a0", "#8a9399"),
    "solarized-dark": ("#002b36", "#93a1a1", "#b58900", "#586e75"),
    "gruvbox": ("#282828", "#ebdbb2", "#fabd2f", "#928374"),
    "dracula": ("#282a36", "#f8f8f2", "#ff79c6", "#6272a4"),
    "nord": ("#2e3440", "#d8dee9", "#88c0d0", "#6c7a92"),
}
DARK = ("solarized-dark", "gruvbox", "dracula", "nord")
TERMINAL_FONTS = ("Liberation Mono", "Hack", "Noto Mono", "Go Mono", "Inconsolata")
UI_FONTS = ("Liberation Sans", "Go", "Liberation Serif", "Noto Sans Mono")
SIZES = ((1280, 800), (1440, 900), (1600, 900), (1920, 1080), (1920, 1200), (2560, 1440))


@dataclass
class Truth:
    key: int
    label: Label
    text: str
    chars: list[Rect]  # one per non-space character, in reading order

    @property
    def rows(self) -> int:
        return len({y for _, y, _, _ in self.chars})


@dataclass
class Case:
    name: str
    kind: str
    size: tuple[int, int]
    detail: str  # app, font, theme
    frames: list[np.ndarray] = field(default_factory=list)  # fed in order; the last is scored
    truths: list[Truth] = field(default_factory=list)
    dropped: int = 0  # items that did not fit on screen

    @property
    def dark(self) -> bool:
        return any(name in self.detail for name in DARK)


class Screen:
    """An Xvfb of one size with a light grey root, and the windows opened on it."""

    def __init__(self, work: Path, size: tuple[int, int]) -> None:
        require_tools("Xvfb", "xterm", "urxvt", "xwininfo")
        self.work, self.size = work, size
        self.proc, self.display = start_xvfb(work / "xvfb.log", "-wr", "-dpi", "96", size=size)
        self.windows: list[subprocess.Popen[bytes]] = []
        self._mss: Any = None

    def spawn(self, argv: list[str], log: str, **env: str) -> subprocess.Popen[bytes]:
        environ = {**os.environ, "DISPLAY": self.display, **env}
        environ.pop("WAYLAND_DISPLAY", None)
        with (self.work / log).open("ab") as out:
            proc = subprocess.Popen(
                argv,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self.windows.append(proc)
        return proc

    def geometry(self, title: str) -> Rect | None:
        result = subprocess.run(
            ["xwininfo", "-name", title],
            env={**os.environ, "DISPLAY": self.display},
            capture_output=True,
            text=True,
            timeout=10,
        )
        if result.returncode != 0 or "IsViewable" not in result.stdout:
            return None
        values = [
            re.search(rf"^\s*{key}:\s+(-?\d+)", result.stdout, re.MULTILINE)
            for key in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height")
        ]
        if not all(values):
            return None
        x, y, w, h = (int(m.group(1)) for m in values if m)
        return x, y, w, h

    def grab(self) -> np.ndarray:
        import mss

        if self._mss is None:
            factory = getattr(mss, "MSS", None) or mss.mss
            self._mss = factory(display=self.display)
        shot = self._mss.grab(self._mss.monitors[1])
        return np.asarray(shot)[:, :, 2::-1].copy()

    def settled(self, ready: Any = None, timeout: float = 20.0) -> np.ndarray:
        last: list[np.ndarray] = []

        def same() -> bool:
            frame = self.grab()
            ok = bool(last) and np.array_equal(last[0], frame) and (ready is None or ready(frame))
            last[:] = [frame]
            return ok

        wait_for(same, timeout, "the screen to settle", interval=0.2)
        return last[0]

    def close(self) -> None:
        for proc in self.windows:
            _terminate(proc)
        if self._mss is not None:
            self._mss.close()
        _terminate(self.proc)

    def __enter__(self) -> Screen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int32)


# -- terminals -------------------------------------------------------------------------------
def terminal_argv(
    app: str, font: str, px: int, theme: str, title: str, cols: int, rows: int
) -> list[str]:
    bg, fg, _, _ = THEMES[theme]
    common = ["-bg", bg, "-fg", fg, "-cr", bg, "+sb", "-geometry", f"{cols}x{rows}+6+6"]
    if app == "xterm":
        return [
            "xterm",
            "-fa",
            f"{font}:pixelsize={px}",
            "-b",
            "3",
            "-bw",
            "0",
            "-T",
            title,
            *common,
        ]
    return [
        "urxvt",
        "-fn",
        f"xft:{font}:pixelsize={px}",
        "-b",
        "3",
        "-bl",
        "-title",
        title,
        *common,
    ]


def cell_size(screen: Screen, app: str, font: str, px: int) -> tuple[int, int]:
    """The character cell of `font` in `app`, measured on a small window of 20x5 cells."""
    title = f"probe-{app}-{px}"
    argv = terminal_argv(app, font, px, "white", title, 20, 5)
    proc = screen.spawn([*argv, "-e", "sleep", "60"], "probe.log")
    try:
        geometry = wait_for(lambda: screen.geometry(title), 20, f"the {app} probe")
    finally:
        _terminate(proc)
        screen.windows.remove(proc)
    _, _, w, h = geometry
    return (w - 6) // 20, (h - 6) // 5


def terminal_case(
    screen: Screen, name: str, doc_for: Any, app: str, font: str, px: int, theme: str
) -> Case:
    """`doc_for(cols, rows)` gives the session; it is printed with `cat` into the terminal."""
    width, height = screen.size
    cw, ch = cell_size(screen, app, font, px)
    cols, rows = (width - 20) // cw, (height - 20) // ch
    doc: Document = doc_for(cols, rows - 1)
    texts = doc.texts()
    transcript = screen.work / f"{name}.txt"
    transcript.write_text("\n".join(texts[:-1]), encoding="utf-8")
    go = screen.work / f"{name}.go"
    script = (
        f"printf '\\033[?25l'; while [ ! -e '{go}' ]; do sleep 0.05; done; "
        f"cat '{transcript}'; exec sleep 100000"
    )
    proc = screen.spawn(
        [*terminal_argv(app, font, px, theme, name, cols, rows), "-e", "sh", "-c", script],
        f"{name}.log",
    )
    try:
        wx, wy, ww, wh = wait_for(lambda: screen.geometry(name), 20, f"the {name} window")
        if (ww - 6) != cols * cw or (wh - 6) != rows * ch:
            raise RuntimeError(f"{app} window {ww}x{wh} is not {cols}x{rows} cells of {cw}x{ch}")
        bg = hex_rgb(THEMES[theme][0])
        ox, oy = wx + 3, wy + 3
        empty = screen.settled()
        go.touch()
        last_row = sum(max(1, -(-len(t) // cols)) for t in texts[:-1]) - 1

        def printed(frame: np.ndarray) -> bool:
            band = frame[oy + last_row * ch : oy + (last_row + 1) * ch, ox : ox + cols * cw]
            return bool((np.abs(band.astype(np.int32) - bg).sum(axis=2) > 90).any())

        full = screen.settled(printed)
    finally:
        _terminate(proc)
        screen.windows.remove(proc)
    case = Case(name, "terminal", screen.size, f"{app} {font} {px}px {theme}", [empty, full])
    chars: dict[int, list[Rect]] = {}
    row = 0
    spans = doc.spans()
    for n, text in enumerate(texts[:-1]):
        for line, a, b, key in spans:
            if line != n:
                continue
            for i in range(a, b):
                if not text[i].isspace():
                    r, c = row + i // cols, i % cols
                    chars.setdefault(key, []).append((ox + c * cw, oy + r * ch, cw, ch))
        row += max(1, -(-len(text) // cols))
    add_truths(case, doc, chars)
    return case


def add_truths(
    case: Case, doc: Document, chars: dict[int, list[Rect]], visible: Rect | None = None
) -> None:
    """Items whose every character lies inside `visible` (the screen unless given); the others
    are counted as dropped."""
    vx, vy, vw, vh = visible or (0, 0, *case.size)
    for key, item in doc.items.items():
        rects = chars.get(key, [])
        inside = [
            r
            for r in rects
            if r[0] >= vx and r[1] >= vy and r[0] + r[2] <= vx + vw and r[1] + r[3] <= vy + vh
        ]
        if not rects or len(inside) != len(rects):
            case.dropped += 1
            continue
        case.truths.append(Truth(key, item.label, item.text, rects))


# -- Qt windows ---------------------------------------------------------------------------------
def qt_case(screen: Screen, name: str, spec: dict[str, Any], docs: list[Document]) -> Case:
    """Show a Qt window described by `spec` (whose spans carry keys of `docs`, numbered
    `docindex:key`), capture it, and attach per-character truth."""
    spec_path, out_path = screen.work / f"{name}.json", screen.work / f"{name}.rects.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    before = screen.settled()
    proc = screen.spawn(
        [sys.executable, str(QT_APP), str(spec_path), str(out_path)],
        f"{name}.log",
        QT_QPA_PLATFORM="xcb",
    )
    try:
        wait_for(lambda: out_path.exists() or proc.poll() is not None, 40, f"the {name} window")
        if proc.poll() is not None:
            raise RuntimeError(f"the {name} window exited (see {screen.work / (name + '.log')})")
        time.sleep(0.3)
        frame = screen.settled()
        layout = json.loads(out_path.read_text(encoding="utf-8"))
        rects, visible = layout["chars"], tuple(layout["visible"])
    finally:
        _terminate(proc)
        screen.windows.remove(proc)
    theme = spec["theme"]["name"]
    case = Case(
        name, spec["kind"], screen.size, f"qt {spec['font'][0]} {spec['font'][1]}px {theme}"
    )
    case.frames = [before, frame]
    for n, doc in enumerate(docs):
        chars = {
            int(k.split(":")[1]): [tuple(r[:4]) for r in v]  # type: ignore[misc]
            for k, v in rects.items()
            if k.split(":")[0] == str(n)
        }
        add_truths(case, doc, chars, visible)  # type: ignore[arg-type]
    return case


def qt_lines(doc: Document, n: int = 0) -> list[list[list[Any]]]:
    return [
        [[span.text, None if span.key is None else f"{n}:{span.key}"] for span in line]
        for line in doc.lines
    ]


def qt_theme(name: str) -> dict[str, str]:
    bg, fg, accent, muted = THEMES[name]
    window = _mix(bg, fg, 0.08)
    return {
        "name": name,
        "bg": bg,
        "fg": fg,
        "key": accent,
        "comment": muted,
        "window": window,
        "alt": _mix(bg, fg, 0.05),
    }


def _mix(a: str, b: str, t: float) -> str:
    ca, cb = hex_rgb(a), hex_rgb(b)
    c = (ca + (cb - ca) * t).round().astype(int)
    return "#" + "".join(f"{max(8, int(v)):02x}" for v in c)
