"""Reading text off the screen. The engine is PP-OCR run by ONNX Runtime with the models that
ship inside the rapidocr-onnxruntime wheel: nothing is downloaded, and the models load on
first use. The recorder runs the engine in a worker process (ocr_pool, ocr_worker) and never
imports ONNX Runtime or OpenCV itself."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class TextBox:
    """A line of text found on screen; coordinates in the image that was read."""

    x: int
    y: int
    w: int
    h: int
    text: str
    score: float
    # Left and right edge of each character of `text`, when the engine reports them.
    chars: tuple[tuple[int, int], ...] = ()
    # Runs of blank pixel columns across the line, [start, end), once measured (see layout),
    # and the positions in `text` where they show a space that the engine left out.
    gaps: tuple[tuple[int, int], ...] = ()
    breaks: tuple[int, ...] = ()

    def moved(self, dx: int, dy: int) -> TextBox:
        return TextBox(
            self.x + dx,
            self.y + dy,
            self.w,
            self.h,
            self.text,
            self.score,
            tuple((a + dx, b + dx) for a, b in self.chars),
            tuple((a + dx, b + dx) for a, b in self.gaps),
            self.breaks,
        )

    def shrunk(self, factor: int) -> TextBox:
        """The box of a line read in an image enlarged `factor` times, in the original's
        coordinates."""
        if factor == 1:
            return self
        return TextBox(
            self.x // factor,
            self.y // factor,
            -(-(self.x + self.w) // factor) - self.x // factor,
            -(-(self.y + self.h) // factor) - self.y // factor,
            self.text,
            self.score,
            tuple((a // factor, b // factor) for a, b in self.chars),
            tuple((a // factor, -(-b // factor)) for a, b in self.gaps),
            self.breaks,
        )

    def overlaps(self, x: int, y: int, w: int, h: int) -> bool:
        return self.x < x + w and x < self.x + self.w and self.y < y + h and y < self.y + self.h


class OcrEngine(Protocol):
    def read(self, rgb: np.ndarray) -> list[TextBox]: ...


def read_at_scale(engine: OcrEngine, rgb: np.ndarray, scale: int, column: int = 0) -> list[TextBox]:
    """The lines of `rgb` read `scale` times enlarged, in `rgb`'s coordinates. An engine that
    enlarges by itself (one in another process, where OpenCV lives) is handed the crop as it
    is, and `column`, the crop's place on screen (see glyphs: the grid of a terminal's cells)."""
    read_scaled = getattr(engine, "read_scaled", None)
    if read_scaled is not None:
        return list(read_scaled(rgb, scale, column))
    return [box.shrunk(scale) for box in engine.read(enlarged(rgb, scale))]


def enlarged(rgb: np.ndarray, factor: int) -> np.ndarray:
    """The image `factor` times larger, smoothly interpolated (bicubic, as OpenCV does it when
    the engine's own library is there; else each pixel repeated)."""
    if factor == 1:
        return rgb
    try:
        import cv2
    except Exception:  # the engine cannot load either; a fake engine does not need OpenCV
        return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
    height, width = rgb.shape[:2]
    return np.asarray(
        cv2.resize(rgb, (width * factor, height * factor), interpolation=cv2.INTER_CUBIC)
    )


# ONNX Runtime's telemetry (a persistent device id and an event queue under ~/.cache/Microsoft,
# a DNS lookup of Microsoft's collector as soon as it loads) stays off only when this variable
# is set before the library loads; disable_telemetry_events() stops neither.
TELEMETRY_OFF = {"ORT_DISABLE_TELEMETRY": "1"}


def keep_engine_offline() -> None:
    os.environ.update(TELEMETRY_OFF)


FIND_LINES = ("ink", "network", "auto")


def line_finding() -> str:
    """How the OCR engine finds lines: "ink" (the default), "network" or "auto" (see
    RapidOcrEngine). PRAXIS_OCR_FIND_LINES is a benchmark's knob, so that bench/ can compare
    the ways on one workload."""
    chosen = os.environ.get("PRAXIS_OCR_FIND_LINES", FIND_LINES[0])
    return chosen if chosen in FIND_LINES else FIND_LINES[0]


class OcrUnavailable(RuntimeError):
    pass


class OcrCancelled(RuntimeError):
    """The engine was stopped while (or before) reading."""


class _SharedRunOptions:
    """An ONNX Runtime session whose runs all use one RunOptions, so that another thread can
    end a run in progress by setting its `terminate` flag (a whole-screen read takes seconds,
    and a stopping recorder must not wait for it)."""

    def __init__(self, session: Any, options: Any) -> None:
        self._session = session
        self._options = options

    def run(self, output_names: Any, input_feed: Any, run_options: Any = None) -> Any:
        return self._session.run(output_names, input_feed, self._options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


# Crops at least this large (half a 1080p screen) are read with the detection network.
WHOLE_SCREEN_PIXELS = 1920 * 1080 // 2


class RapidOcrEngine:
    """One thread of ONNX Runtime: the recorder must never compete with the person's work.

    How lines are found (by default as line_finding() says): `"ink"` finds lines from their
    ink (lines.py) and runs only the recognition network, remembering each line's reading by
    its pixels and spelling lines made of glyphs it has read before without the network
    (line_reader, glyphs). `"network"` runs the engine's whole pipeline, detection network
    included: on a desktop whose text changes every second it costs several times as much,
    a whole core on the bench desktop. `"auto"` reads crops of what changed by ink and whole
    screens with the network (bench/README.md, "Choosing how to read")."""

    def __init__(self, threads: int = 1, find_lines: str | None = None) -> None:
        self._threads = threads
        self.find_lines = find_lines or line_finding()
        self.lines: Any = None  # the LineReader, once loaded
        self._engine: Any = None
        self._lock = threading.Lock()
        self._run_options: Any = None
        self._cancelled = False

    def _load(self) -> Any:
        if self._engine is None:
            keep_engine_offline()
            try:
                import onnxruntime
                from rapidocr_onnxruntime import RapidOCR
            except Exception as exc:  # missing wheel, missing system library for OpenCV
                raise OcrUnavailable(f"the OCR engine cannot load: {exc}") from exc
            engine = RapidOCR(
                use_cls=False,  # screens are upright
                det_limit_type="min",
                det_limit_side_len=32,  # read crops at their own resolution
                intra_op_num_threads=self._threads,
                inter_op_num_threads=1,
                print_verbose=False,
            )
            self._run_options = onnxruntime.RunOptions()
            self._run_options.terminate = self._cancelled
            # The detection and recognition sessions, where RapidOCR keeps them; should a
            # release move them, reads still work and only cancel() stops having an effect.
            for holder in (
                getattr(getattr(engine, "text_det", None), "infer", None),
                getattr(getattr(engine, "text_rec", None), "session", None),
            ):
                session = getattr(holder, "session", None)
                if holder is not None and hasattr(session, "run"):
                    holder.session = _SharedRunOptions(session, self._run_options)
            if self.find_lines in ("ink", "auto"):
                from app.core.redact.line_reader import LineReader

                self.lines = LineReader(engine)
            self._engine = engine
        return self._engine

    def cancel(self) -> None:
        """End the read in progress, if any, and refuse reads from now on (it raises
        OcrCancelled). Safe to call from any thread."""
        self._cancelled = True
        if self._run_options is not None:
            self._run_options.terminate = True

    def _by_ink(self, rgb: np.ndarray) -> bool:
        if self.find_lines == "auto":
            return int(rgb.shape[0]) * int(rgb.shape[1]) < WHOLE_SCREEN_PIXELS
        return self.find_lines == "ink"

    def read_scaled(self, rgb: np.ndarray, scale: int, column: int = 0) -> list[TextBox]:
        if self._by_ink(rgb):
            return self._read(rgb, scale, by_ink=True, column=column)
        return [box.shrunk(scale) for box in self._read(enlarged(rgb, scale), 1, by_ink=False)]

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        return self.read_scaled(rgb, 1)

    def _read(self, rgb: np.ndarray, scale: int, by_ink: bool, column: int = 0) -> list[TextBox]:
        with self._lock:
            if self._cancelled:
                raise OcrCancelled("the OCR engine was stopped")
            engine = self._load()
            try:
                if by_ink:
                    return list(self.lines.read(rgb, scale, column))
                # PP-OCR models take BGR, like OpenCV.
                result, _elapsed = engine(
                    np.ascontiguousarray(rgb[:, :, ::-1]), return_word_box=True
                )
            except Exception as exc:
                if self._cancelled:
                    raise OcrCancelled("the OCR engine was stopped during a read") from exc
                raise
        boxes = []
        for item in result or []:
            quad, text, score = item[0], str(item[1]), float(item[2])
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            x0, y0 = int(min(xs)), int(min(ys))
            char_quads = item[3] if len(item) > 3 else []
            chars: tuple[tuple[int, int], ...] = ()
            if len(char_quads) == len(text):
                chars = tuple(
                    (int(min(p[0] for p in q)), int(max(p[0] for p in q))) for q in char_quads
                )
            w, h = int(max(xs)) - x0 + 1, int(max(ys)) - y0 + 1
            boxes.append(TextBox(x0, y0, w, h, text, score, chars))
        return boxes
