"""Nothing phones home and nothing leaves identifiers: the recorder's and the tray's modules
load, the OCR worker reads and redacts a frame, with HOME and the XDG folders in a temporary
folder, and every system call that touches the network or writes a file is traced (strace -f,
all processes). Where the test may create a network namespace (root), it runs in one with
only loopback, so even a bug here cannot reach anything."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACED = (
    "trace=%network,openat,open,creat,mkdir,mkdirat,rename,renameat,renameat2,"
    "link,linkat,symlink,symlinkat,truncate"
)
WRITES = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC")
PATH_ARG = re.compile(r'"([^"]*)"')

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")


def isolated_network() -> list[str]:
    """`unshare -n` when this user may create a network namespace, else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def traced(tmp: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[str, Path]:
    """Run `python args...` under strace with a private HOME; return the trace and data dir."""
    home, data, scratch = tmp / "home", tmp / "data", tmp / "tmp"
    for folder in (home, data, scratch):
        folder.mkdir()
    log = tmp / "trace.txt"
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_RUNTIME_DIR": str(scratch),
        "TMPDIR": str(scratch),
        "PYTHONDONTWRITEBYTECODE": "1",
        "QT_QPA_PLATFORM": "offscreen",
        "PYNPUT_BACKEND": "dummy",
        **(env or {}),
    }
    cmd = [*isolated_network(), "strace", "-f", "-qq", "-e", TRACED, "-o", str(log)]
    run = subprocess.run(
        [*cmd, sys.executable, *args, str(data)],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return log.read_text(), data


def network_use(call: str) -> bool:
    if call.startswith("socket("):
        return "AF_UNIX" not in call and "AF_NETLINK" not in call
    return call.startswith(("connect(", "sendto(", "sendmsg(")) and (
        "AF_INET" in call or "nscd" in call
    )


def findings(trace: str, tmp: Path) -> list[str]:
    """Network use (any socket but a local one, a DNS lookup through nscd) and files written
    anywhere but the data folder. Scratch files in TMPDIR count only if they are left behind
    (keyring probes for macOS libraries by linking test programs there, and removes them)."""
    data, scratch = tmp / "data", tmp / "tmp"
    found = []
    for line in trace.splitlines():
        call = line.split(" ", 1)[-1].strip()
        if network_use(call):
            found.append(call)
        elif " = -1 " in call:
            continue  # refused or absent: nothing was written
        elif call.startswith(("open(", "openat(", "creat(")) and not WRITES.search(call):
            continue
        elif call.startswith(("open", "creat", "mkdir", "rename", "link", "symlink", "trunc")):
            paths = PATH_ARG.findall(call)
            written = paths[-1] if call.startswith(("rename", "link", "symlink")) else paths[0]
            if written.startswith("/dev/") or Path(written).is_relative_to(data):
                continue
            if Path(written).is_relative_to(scratch) or not written.startswith("/"):
                continue  # relative: a child's own working files, in TMPDIR (checked below)
            found.append(call)
    found += [f"left behind: {p}" for p in scratch.rglob("*") if p.is_file()]
    found += [f"left behind: {p}" for p in (tmp / "home").rglob("*")]
    return found


def test_recorder_tray_and_ocr_worker_stay_offline_and_write_only_the_data_folder(
    tmp_path: Path,
) -> None:
    trace, data = traced(tmp_path, ["-m", "tests.support.offline_probe", "--qt"])
    assert (data / "typed.txt").exists()  # the probe ran to its end
    assert "_rec_infer.onnx" in trace  # the traced processes include the OCR worker
    assert findings(trace, tmp_path) == []


def test_the_trace_would_see_onnxruntime_telemetry(tmp_path: Path) -> None:
    """The check above is able to fail: ONNX Runtime loaded without the switch that
    keep_engine_offline sets writes its device id under HOME, and the trace shows it."""
    if not isolated_network():
        pytest.skip("without a network namespace this would look up Microsoft's host for real")
    script = (
        "import os, sys; os.environ.pop('ORT_DISABLE_TELEMETRY', None)\n"
        "import onnxruntime, rapidocr_onnxruntime\n"
        "from pathlib import Path\n"
        "models = Path(rapidocr_onnxruntime.__file__).parent / 'models'\n"
        "onnxruntime.InferenceSession(str(next(models.glob('*cls*.onnx'))))\n"
    )
    trace, _ = traced(tmp_path, ["-c", script])
    assert any(".onnxruntime" in f for f in findings(trace, tmp_path))
