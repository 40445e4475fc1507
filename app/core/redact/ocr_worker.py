"""The OCR worker process: reads text off crops of the screen for the recorder.

The OCR engine (ONNX Runtime, OpenCV, the PP-OCR models) takes hundreds of megabytes and
whole seconds of CPU; in its own process it cannot grow the recorder, a crash in its native
code cannot take the recorder down, and its memory goes back to the system when the process
ends. This module is what runs in that process; ocr_pool is the recorder's side.

Protocol over a multiprocessing Connection (pixels go through the pipe, never a file):
request  `("read", height, width, scale)` followed by the crop's RGB bytes;
reply    `("ok", [TextBox, ...], rss_bytes)` or `("error", exception type name)`.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def rss_bytes() -> int:
    """Resident memory of this process (0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the peak, not the current
        return int(peak) * (1 if sys.platform == "darwin" else 1024)
    except Exception:
        return 0


def _trimmer() -> Any:
    """glibc's malloc_trim, where there is one. A read of long lines allocates tens of MB
    of activations; glibc keeps what was freed mapped, so without a trim the worker's RSS
    ratchets up to its ceiling and it is replaced, losing the lines and glyphs it learned."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def serve(conn: Any, threads: int = 1) -> None:
    """Answer read requests until the pipe closes. Runs in the worker process."""
    from app.core.redact.ocr import RapidOcrEngine, keep_engine_offline

    keep_engine_offline()  # before anything can load ONNX Runtime (see ocr)
    import numpy as np

    engine = RapidOcrEngine(threads=threads)
    trim = _trimmer()
    while True:
        try:
            request = conn.recv()
            if request[0] != "read":
                return
            _, height, width, scale, column = request
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the recorder ended or closed the pipe
        try:
            rgb = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
            boxes = engine.read_scaled(rgb, scale, column)
        except Exception as exc:  # a failed read fails its frame; the worker goes on
            conn.send(("error", type(exc).__name__))
            continue
        finally:
            data = b""
        if trim is not None:
            trim(0)
        conn.send(("ok", boxes, rss_bytes()))


def main(conn: Any, threads: int) -> None:
    """The worker process's entry point (multiprocessing target)."""
    try:
        serve(conn, threads)
    except KeyboardInterrupt:  # Ctrl+C reaches the whole process group
        pass
    finally:
        conn.close()
