"""Reading text off the screen. The engine is PP-OCR run by ONNX Runtime with the models that
ship inside the rapidocr-onnxruntime wheel: nothing is downloaded, and the models load on
first use (in the frame thread), so starting the app stays fast."""

from __future__ import annotations

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

    def moved(self, dx: int, dy: int) -> TextBox:
        chars = tuple((a + dx, b + dx) for a, b in self.chars)
        return TextBox(self.x + dx, self.y + dy, self.w, self.h, self.text, self.score, chars)

    def overlaps(self, x: int, y: int, w: int, h: int) -> bool:
        return self.x < x + w and x < self.x + self.w and self.y < y + h and y < self.y + self.h


class OcrEngine(Protocol):
    def read(self, rgb: np.ndarray) -> list[TextBox]: ...


class OcrUnavailable(RuntimeError):
    pass


class RapidOcrEngine:
    """One thread of ONNX Runtime: the recorder must never compete with the person's work."""

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except Exception as exc:  # missing wheel, missing system library for OpenCV
                raise OcrUnavailable(f"the OCR engine cannot load: {exc}") from exc
            self._engine = RapidOCR(
                use_cls=False,  # screens are upright
                det_limit_type="min",
                det_limit_side_len=32,  # read crops at their own resolution
                intra_op_num_threads=self._threads,
                inter_op_num_threads=1,
                print_verbose=False,
            )
        return self._engine

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        with self._lock:
            engine = self._load()
            # PP-OCR models take BGR, like OpenCV.
            result, _elapsed = engine(np.ascontiguousarray(rgb[:, :, ::-1]), return_word_box=True)
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
