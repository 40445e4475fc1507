"""The OCR worker process: the recorder never loads the engine, the worker is started when
needed, replaced when it dies or outgrows its ceiling, ended when idle, and killed at once by a
stop. Real worker processes with the real engine (each start loads the models: ~1-2 s)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from app.core.redact.ocr import OcrCancelled
from app.core.redact.ocr_pool import OcrProcess

ROOT = Path(__file__).resolve().parents[2]
ENGINE_MODULES = ("onnxruntime", "cv2", "rapidocr_onnxruntime", "rapidocr")


def rendered(text: str, width: int = 640, height: int = 60) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).text((10, 18), text, fill="black", font=ImageFont.load_default(size=20))
    return np.asarray(image).copy()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its memory is already returned.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def engine() -> Iterator[OcrProcess]:
    e = OcrProcess()
    yield e
    e.cancel()


def test_the_recorder_redacts_on_screen_text_without_loading_the_engine(tmp_path: Path) -> None:
    """In a fresh interpreter: the recorder's modules and the default frame redaction box an
    address on a frame, and ONNX Runtime, OpenCV and the OCR package are not in the process."""
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import app.core.recorder, app.core.service  # noqa: F401
        from app.core.redact.frames import FrameContext, default_frame_redactor
        from app.core.settings import Settings
        from tests.unit.test_ocr_process import rendered

        if __name__ == "__main__":
            frame = rendered("Please write to dana.lee@example.com soon")
            redactor = default_frame_redactor(Settings())
            out = redactor.redact(frame.copy(), FrameContext(None, []))
            assert out is not None, "the frame was dropped"
            covered = int((out[20:38, 160:330] == 0).all(axis=2).sum())
            loaded = [m for m in {ENGINE_MODULES!r} if m in sys.modules]
            redactor.close()
            print(covered, loaded)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "PYNPUT_BACKEND": "dummy"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    covered, loaded = run.stdout.split(" ", 1)
    assert int(covered) > 1000, "the address must be under a solid box"
    assert loaded.strip() == "[]", f"the recorder process loaded {loaded.strip()}"


def test_a_read_happens_in_a_worker_that_starts_on_first_use(engine: OcrProcess) -> None:
    assert not engine.running
    lines = engine.read(rendered("mail erin@example.net today"))
    assert any("example" in line.text for line in lines)
    assert engine.running and engine.pid != os.getpid()
    assert 50e6 < engine.last_rss < engine.memory_ceiling  # the worker's own memory, measured


def test_a_dead_worker_is_replaced_on_the_next_read(engine: OcrProcess) -> None:
    engine.read(rendered("first read"))
    pid = engine.pid
    assert pid is not None
    os.kill(pid, 9)
    assert wait_for(lambda: not alive(pid))
    lines = engine.read(rendered("second read"))
    assert any("read" in line.text for line in lines)
    assert engine.starts == 2 and engine.deaths == 1 and engine.pid != pid


def test_a_worker_past_its_memory_ceiling_is_ended_after_its_read() -> None:
    engine = OcrProcess(memory_ceiling=10 * 1024 * 1024)  # far below what the engine needs
    try:
        lines = engine.read(rendered("still read in full"))
        assert any("read" in line.text for line in lines)  # the read itself is not lost
        assert engine.restarts_for_memory == 1 and not engine.running
        engine.read(rendered("and again"))
        assert engine.starts == 2
    finally:
        engine.cancel()


def test_an_idle_worker_ends_and_gives_its_memory_back() -> None:
    engine = OcrProcess(idle_seconds=0.5)
    try:
        engine.read(rendered("read once, then nothing"))
        pid = engine.pid
        assert pid is not None
        assert wait_for(lambda: not alive(pid), timeout=10)
        assert engine.idle_stops == 1 and not engine.running
    finally:
        engine.cancel()


def test_cancel_ends_a_long_read_at_once_and_refuses_later_reads(engine: OcrProcess) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1920, 1080), "white")
    draw = ImageDraw.Draw(image)
    for row in range(50):
        draw.text((10, 10 + row * 21), f"log line {row} for bob@example.org " * 5, fill="black")
    pixels = np.asarray(image).copy()
    engine.read(pixels[:40, :300])  # the models are loaded: what follows is reading
    pid = engine.pid
    assert pid is not None
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            engine.read(pixels)  # seconds of work
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)
    cancelled_at = time.monotonic()
    engine.cancel()
    reader.join(10)
    assert time.monotonic() - cancelled_at < 1.0
    assert len(outcome) == 1 and isinstance(outcome[0], OcrCancelled)
    assert wait_for(lambda: not alive(pid), timeout=5)
    with pytest.raises(OcrCancelled):
        engine.read(pixels[:40, :300])


_CHILDREN_AFTER_IDLE = """
import os, time
import numpy as np
from app.core.redact.ocr_pool import OcrProcess

def children():
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                found.append(int(entry))
    return found

engine = OcrProcess(idle_seconds=0.5)
engine.read(np.full((40, 200, 3), 255, dtype=np.uint8))
deadline = time.monotonic() + 10
while engine.running and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(0.3)
print(len(children()))
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="lists processes through /proc")
def test_an_idle_worker_leaves_no_process_behind() -> None:
    # A fresh interpreter, so that no helper started by another test is counted.
    result = subprocess.run(
        [sys.executable, "-c", _CHILDREN_AFTER_IDLE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "0", "a process of the OCR pool outlived its idle worker"


_CPU_OF_THE_END = """
import os, time
import numpy as np
from app.core.redact.ocr_pool import OcrProcess

def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

from PIL import Image, ImageDraw

image = Image.new("RGB", (600, 60), "white")
ImageDraw.Draw(image).text((10, 20), "hello world mail a@b.com", fill="black")
engine = OcrProcess(idle_seconds=2)
engine.read(np.asarray(image).copy())
time.sleep(1)
before_end = cpu_s(engine.pid)
reaped = os.times()
while engine.running:
    time.sleep(0.01)
time.sleep(0.5)  # the worker is forgotten first, then reaped: its times count from then
ended = os.times()
whole_life = ended.children_user + ended.children_system
whole_life -= reaped.children_user + reaped.children_system
print(whole_life - before_end)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads CPU times through /proc")
def test_an_idle_worker_ends_without_tearing_down_the_engine() -> None:
    # Unloading the engine when an idle worker ends took ~70 ms of CPU: the bulk of what an
    # idle recorder spent.
    result = subprocess.run(
        [sys.executable, "-c", _CPU_OF_THE_END],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert float(result.stdout) <= 0.03, f"ending the worker took {result.stdout.strip()} CPU-s"
