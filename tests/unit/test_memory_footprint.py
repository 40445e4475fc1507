"""What keeps the recorder's resident memory small: freed screens go back to the system, and
modules that only some paths need are not loaded by the recording path.

Each check runs in a fresh interpreter, so it sees what one process does from its start and
leaves the test process as it was."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.core import allocator

glibc_only = pytest.mark.skipif(
    allocator._glibc() is None, reason="the allocator settings apply to glibc only"
)

# Allocates and frees a screen-sized block (8 MB, every page written) a few times from a
# thread, as the capture and frame threads do, and prints how much of it stays resident.
_SCREENS_FREED = """
import json, sys, threading
from app.core import allocator
if sys.argv[1] == "tuned":
    allocator.tune_for_frames()
SCREEN = 1920 * 1080 * 4

def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

def frames():
    for i in range(6):
        block = bytes([i + 1]) * SCREEN
        del block

before = rss_kb()
worker = threading.Thread(target=frames)
worker.start()
worker.join()
print(json.dumps({"kept_mb": (rss_kb() - before) / 1024}))
"""


def _run(code: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@glibc_only
def test_freed_screens_go_back_to_the_system() -> None:
    kept = _run(_SCREENS_FREED, "tuned")["kept_mb"]
    assert kept < 2, f"{kept:.1f} MB of freed screens stayed resident"


@glibc_only
def test_without_the_settings_glibc_keeps_freed_screens() -> None:
    """Why the settings exist: by default glibc raises its mmap threshold after the first
    freed screen and keeps the next ones in the thread's heap."""
    kept = _run(_SCREENS_FREED, "default")["kept_mb"]
    assert kept > 6, f"only {kept:.1f} MB stayed: the default allocator changed"


_LOADED = """
import json, sys
import numpy as np
import app.cli, app.core.runtime
from app.core.frames import FrameEncoder, decode
loaded_at_start = sorted(sys.modules)
screen = np.zeros((1080, 1920, 3), np.uint8)
screen[100:400, 200:900] = 200
encoder = FrameEncoder()
key = encoder.encode(screen, 0)
screen = screen.copy()  # the encoder keeps the frame it was given
screen[500:520, 300:340] = 17
delta = encoder.encode(screen, 1)
assert key.kind == "key" and delta.kind == "delta"
assert (decode(delta.payload, decode(key.payload, None)) == screen).all()
print(json.dumps({"at_start": loaded_at_start, "after_frames": sorted(sys.modules)}))
"""


def test_recording_path_loads_no_upload_http_stack_or_extra_image_formats() -> None:
    """`record --headless` imports app.cli and the runtime; requests (5 MB) comes with the
    first upload, and storing frames loads Pillow's WebP and PNG plugins only (all ~40 of
    them take 4 MB)."""
    loaded = _run(_LOADED)
    at_start, after = set(loaded["at_start"]), set(loaded["after_frames"])
    assert not {"requests", "urllib3"} & after
    assert "app.core.upload.worker" in at_start  # the uploader itself is there, ready
    plugins = {m for m in after if m.startswith("PIL.") and m.endswith("ImagePlugin")}
    assert {"PIL.WebPImagePlugin", "PIL.PngImagePlugin"} <= plugins
    assert "PIL.TiffImagePlugin" not in plugins and len(plugins) < 10, sorted(plugins)


def test_the_tus_client_loads_requests_when_made() -> None:
    code = """
import json, sys
from app.core.upload.tus import TusClient
before = "requests" in sys.modules
client = TusClient("http://127.0.0.1:9/files/", None)
client.close()
print(json.dumps({"before": before, "after": "requests" in sys.modules}))
"""
    assert _run(code) == {"before": False, "after": True}
