#!/usr/bin/env python3
"""Measure what the headless recorder costs while a person works, idles and types in a burst.

    python bench/record_workload.py [--seconds 60] [--idle-seconds 60] [--burst-chars 2000]

Starts a private Xvfb (1920x1080x24) with two xterms, runs `python -m app record --headless`
on it, drives the desktop with xdotool and reads the recorder's CPU time and memory from /proc.
Phases: active (about 5 keys/s of typing, a click every 2 s, a window switch every 15 s),
idle (no input), burst (typing with no delay, then every key-down is counted in the export).
Xvfb's, the xterms' and xdotool's CPU over the same windows is printed as a baseline, since
absolute CPU figures vary between machines. Needs Xvfb, xterm and xdotool on PATH; everything
it starts is stopped at exit.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

TICK = os.sysconf("SC_CLK_TCK")
FRAME_OUT = Path("/tmp/praxis_bench_frame.png")
# Clicks land inside these boxes (x0, y0, x1, y1), which lie within the two xterms.
CLICK_BOXES = [(40, 40, 820, 640), (1000, 40, 1640, 700)]
PROSE = (
    "The quarterly report is due on Friday, so please send your figures by Thursday noon. "
    "We moved the design review to room four because the projector in room two is broken. "
    "Remember to rebase the feature branch before opening the merge request for review. "
    "Lunch is at half past twelve and the new intern starts on Monday morning at nine. "
)
# Burst text without shifted characters, so that every character is exactly one key-down.
BURST_WORDS = "the quick brown fox jumps over a lazy dog, then rests. 0123456789 "

_procs: list[subprocess.Popen] = []


@atexit.register
def _cleanup() -> None:
    for proc in reversed(_procs):  # recorder and xterms first, Xvfb last
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def spawn(cmd: list[str], **kw) -> subprocess.Popen:
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    _procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, **kw))
    return _procs[-1]


def cpu_s(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (the recorder's OCR worker and its helper)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU of a process, of its children that ended (counted into it once reaped) and of its
    children still running: the recorder together with its OCR workers."""

    def own(p: int, reaped: bool) -> float:
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        if reaped:
            ticks += int(fields[13]) + int(fields[14])
        return ticks / TICK

    total = own(pid, True)
    for child in children(pid):
        with contextlib.suppress(OSError):
            total += own(child, True)
    return total


def children_rss_mb(pid: int) -> float:
    total = 0.0
    for child in children(pid):
        with contextlib.suppress(OSError, StopIteration):
            total += mem_mb(child, "VmRSS")
    return total


def mem_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(ln.split()[1]) / 1024 for ln in f if ln.startswith(key + ":"))


# Resident memory of a fresh interpreter after running `code`: what the recorder's own figures
# start from. Run with the recorder's environment, so the same modules resolve the same way.
_RSS_AFTER = """{code}
with open("/proc/self/status") as f:
    print(next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:")))
"""
# What `python -m app record --headless` imports before it starts any thread.
RECORD_IMPORTS = "import app.cli, app.core.runtime"


def fresh_rss_mb(code: str, env: dict[str, str]) -> float:
    run = subprocess.run(
        [sys.executable, "-c", _RSS_AFTER.format(code=code)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(run.stdout) / 1024


def memory_split(pid: int) -> str:
    """Resident memory by kind: anonymous (heaps, Python objects, frames), file-backed (the
    code of the interpreter and of the libraries) and shared memory (mss's XShm buffer)."""
    kinds = ("RssAnon", "RssFile", "RssShmem")
    return " / ".join(f"{mem_mb(pid, k):.0f}" for k in kinds) + " (anon / file / shmem)"


class Desktop:
    def __init__(self, tmp: Path) -> None:
        read_fd, write_fd = os.pipe()
        cmd = ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24"]
        self.xvfb = spawn([*cmd, "-nolisten", "tcp"], pass_fds=(write_fd,))
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()  # written once the server accepts connections
        if not number.isdigit():
            sys.exit(f"Xvfb did not start (exit code {self.xvfb.poll()})")
        self.env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
        self.env["DISPLAY"] = f":{number}"
        self.typed = tmp / "typed.txt"  # what xterm A received: proof of what xdotool sent
        src = Path(os.__file__).with_name("inspect.py")
        a = ["-fa", "DejaVu Sans Mono", "-fs", "10", "-geometry", "110x46+0+0"]
        b = ["-geometry", "120x56+960+0"]  # xterm's default bitmap 'fixed' font
        c = ["-geometry", "100x30+0+640"]  # text that changes every second, like a dashboard
        self.windows = [
            self.xterm("bench-a", a, f'head -40 {src}; exec cat > "{self.typed}"'),
            self.xterm("bench-b", b, "ls -la /usr/lib | head -50; exec cat > /dev/null"),
            self.xterm("bench-top", c, "exec top -d 1"),
        ]
        time.sleep(1.5)  # fonts load and text renders

    def xterm(self, title: str, opts: list[str], script: str) -> str:
        xrm = ["-xrm", "XTerm*allowTitleOps: false"]
        spawn(["xterm", "-T", title, *xrm, *opts, "-e", "sh", "-c", script], env=self.env)
        return self.xdo("search", "--sync", "--name", f"^{title}$").split()[0]

    def xdo(self, *args: str) -> str:
        # stderr is dropped: xdotool warns about focus on a server with no window manager.
        run = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, timeout=120)
        return run.stdout.decode()

    def focus(self, index: int) -> None:
        self.xdo("windowfocus", "--sync", self.windows[index])


class Recorder:
    def __init__(self, desk: Desktop, tmp: Path, settings: Path | None) -> None:
        self.data, self.log = tmp / "data", tmp / "recorder.log"
        self.env = dict(
            desk.env,
            PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
            XDG_DATA_HOME=str(tmp / "xdg-data"),
            XDG_CONFIG_HOME=str(tmp / "xdg-config"),
            PRAXIS_POLICY_FILE=str(tmp / "empty-policy.toml"),
        )
        (tmp / "empty-policy.toml").write_text("")
        self.cli("consent", "--accept")
        if settings:
            shutil.copy(settings, self.data / "settings.toml")
        with self.log.open("wb") as log:
            self.proc = spawn(
                self.cmd("record", "--headless"), env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while self.status().get("state") != "recording":
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the recorder did not start:\n{self.log.read_text()}")
            time.sleep(0.2)
        self.pid = self.proc.pid
        # The first frame ready for review: stored (redacted) in the buffer.
        while not self.status().get("pending_frames"):
            if self.proc.poll() is not None or time.monotonic() > deadline + 300:
                sys.exit(f"no frame was stored:\n{self.log.read_text()}")
            time.sleep(0.2)
        self.first_frame_cpu = tree_cpu_s(self.pid)
        # Resident memory once capture runs and its first frame is stored, and its peak so far
        # (start-up and the first keyframe's encoding).
        self.first_frame_rss = mem_mb(self.pid, "VmRSS")
        self.first_frame_hwm = mem_mb(self.pid, "VmHWM")

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "app", "--data-dir", str(self.data), *args]

    def cli(self, *args: str) -> str:
        result = subprocess.run(self.cmd(*args), env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"praxis {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def status(self) -> dict:
        result = subprocess.run(self.cmd("status", "--json"), env=self.env, capture_output=True)
        return json.loads(result.stdout) if result.returncode == 0 else {}

    def stored_bytes(self) -> int:
        """buffer.db plus the pages committed to its WAL: its size once checkpointed. The
        files' own sizes move in steps of megabytes as the WAL fills and is reused."""
        with contextlib.closing(sqlite3.connect(self.data / "buffer.db")) as db:  # reads only
            (pages,) = db.execute("PRAGMA page_count").fetchone()
            (size,) = db.execute("PRAGMA page_size").fetchone()
        return pages * size

    def export(self, out: Path, *extra: str) -> list[dict]:
        """Export (a running recorder seals its segment first); one dict per segment."""
        self.cli("export", "--out", str(out), *extra)
        segments = []
        for manifest in out.glob("*/manifest.json"):
            events = [json.loads(x) for x in manifest.with_name("events.jsonl").open()]
            segments.append({"dir": manifest.parent, "events": events})
            segments[-1].update(json.loads(manifest.read_text()))
        return sorted(segments, key=lambda s: s["started_at"])

    def settle(self, limit: float = 180) -> float:
        """Seconds until the recorder uses under 2% of a core for a whole second, i.e. the
        frames it queued are redacted, encoded and stored. Exits if the recorder died."""
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"the recorder exited ({self.proc.returncode}):\n{self.log.read_text()}")
            if time.monotonic() - t0 >= limit:
                return limit
            c0 = tree_cpu_s(self.pid)
            time.sleep(1)
            if tree_cpu_s(self.pid) - c0 < 0.02:
                return time.monotonic() - t0

    def stop(self) -> tuple[int, float]:
        """SIGINT, which seals the open segment; returns the exit code and the seconds taken."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(120), time.monotonic() - t0


class Meter:
    """CPU of the recorder, the X server, the xterms and xdotool over one window."""

    def __init__(self, desk: Desktop, rec: Recorder) -> None:
        xterms = [p.pid for p in _procs if p.args[0] == "xterm"]
        self.sources = {
            # The recorder with its OCR worker processes (running, or ended and reaped).
            "recorder": lambda: tree_cpu_s(rec.pid),
            # The recorder's own threads alone; the rest of "recorder" is its OCR workers.
            "recorder process": lambda: cpu_s(rec.pid),
            "Xvfb": lambda: cpu_s(desk.xvfb.pid),
            "xterms": lambda: sum(map(cpu_s, xterms)),
            # This script's finished children: inside the measured windows, only xdotool.
            "xdotool": lambda: sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]),
        }

    def start(self) -> None:
        self.t0, self.c0 = time.monotonic(), {k: f() for k, f in self.sources.items()}

    def stop(self, span: float | None = None) -> dict[str, float]:
        """Percent of one core per source: CPU since start() over `span` (default: elapsed)."""
        span = span or time.monotonic() - self.t0
        return {k: 100 * (f() - self.c0[k]) / span for k, f in self.sources.items()}


def active_workload(desk: Desktop, seconds: float) -> tuple[int, int]:
    """Type ~5 keys/s, click every 2 s, switch windows every 15 s. Returns keys typed and
    clicks made."""
    rnd, typist_rnd = random.Random(42), random.Random(7)  # one per thread: repeatable
    deadline = time.monotonic() + seconds
    typed = 0

    def typist() -> None:
        nonlocal typed
        pos = 0
        while (left := deadline - time.monotonic()) > 1:
            # Sentences of 20-60 characters, cut so that typing ends by the deadline.
            n = min(typist_rnd.randint(20, 60), int(left * 5) - 1)
            chunk, pos = (PROSE * 2)[pos : pos + n], (pos + n) % len(PROSE)
            # xdotool waits delay/2 per character (measured: 10 chars/s at --delay 200).
            desk.xdo("type", "--delay", "400", "--", chunk)
            desk.xdo("key", "Return")
            typed += len(chunk) + 1

    desk.focus(0)
    thread = threading.Thread(target=typist)
    thread.start()
    start, tick, window, clicks = time.monotonic(), 0, 0, 0
    while time.monotonic() < deadline:
        tick += 1
        time.sleep(max(0.0, start + 2 * tick - time.monotonic()))
        if (2 * tick) // 15 > (2 * tick - 2) // 15:  # crossed a multiple of 15 s
            window = 1 - window
            desk.focus(window)
        x0, y0, x1, y1 = CLICK_BOXES[rnd.randrange(2)]
        # Without a window manager a click does not move the keyboard focus.
        desk.xdo("mousemove", str(rnd.randint(x0, x1)), str(rnd.randint(y0, y1)), "click", "1")
        clicks += 1
    thread.join()
    return typed, clicks


def save_last_frame(segment: dict) -> str:
    """Save the segment's last frame (and a 1:1 crop of xterm A) to judge legibility by eye."""
    frames = sorted((segment["dir"] / "frames").glob("*.png"))
    if not frames:
        return "no frame exported"
    shutil.copy(frames[-1], FRAME_OUT)
    with Image.open(FRAME_OUT) as img:
        img.crop((0, 380, 900, 800)).save(FRAME_OUT.with_name("praxis_bench_frame_crop.png"))
        return f"{img.width}x{img.height}, {FRAME_OUT.stat().st_size / 1e3:.0f} kB {FRAME_OUT}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60, help="active phase length")
    ap.add_argument("--idle-seconds", type=float, default=60, help="idle phase length")
    ap.add_argument("--burst-chars", type=int, default=2000)
    ap.add_argument("--settings", type=Path, help="a settings.toml for the recorder")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument(
        "--ocr",
        choices=("both", "on", "off"),
        default="both",
        help="on-screen text redaction: 'both' runs off, then on, and prints their ratios",
    )
    args = ap.parse_args()
    for tool in ("Xvfb", "xterm", "xdotool", "top"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on PATH (apt-get install xvfb xterm xdotool procps)")
    modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.ocr]
    results = {ocr: run_once(args, ocr) for ocr in modes}
    if len(results) == 2:
        compare(results[False], results[True])
    return 0


def run_once(args: argparse.Namespace, ocr: bool) -> dict[str, float]:
    """One whole workload on a fresh desktop and recorder; prints its table and returns the
    figures that the OCR comparison needs."""
    print(f"\n## on-screen text redaction {'ON' if ocr else 'OFF'}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="praxis-workload-"))
    if not args.keep:
        atexit.register(shutil.rmtree, tmp, True)  # runs after the processes are stopped
    settings = tmp / "settings.toml"
    given = args.settings.read_text() if args.settings else ""
    if "redact_screen_text" not in given:
        given += f"\nredact_screen_text = {'true' if ocr else 'false'}\n"
    settings.write_text(given)
    desk = Desktop(tmp)
    rec = Recorder(desk, tmp, settings)
    bare_mb = fresh_rss_mb("", rec.env)
    imports_mb = fresh_rss_mb(RECORD_IMPORTS, rec.env)
    meter = Meter(desk, rec)
    workers = WorkerMemory(rec.pid)
    print(f"# display {desk.env['DISPLAY']}, recorder pid {rec.pid}, data {rec.data}", flush=True)
    rec.settle()  # start-up and the first frame are not measured

    # 1. Active. A status query runs inside the recorder, so none is made inside the window.
    before, db0 = rec.status(), rec.stored_bytes()
    print(f"# active: {args.seconds:g} s of typing, clicks and window switches", flush=True)
    meter.start()
    typed, clicks = active_workload(desk, args.seconds)
    active = meter.stop()
    drain_s = rec.settle()  # work the activity queued counts against it too
    backlog = meter.stop(args.seconds)
    hwm_active = mem_mb(rec.pid, "VmHWM")
    after, db1 = rec.status(), rec.stored_bytes()
    active_seg = rec.export(tmp / "export-active")[-1]  # also seals the active segment
    frame_info = save_last_frame(active_seg)

    # 2. Idle, once the new segment's first frame is stored.
    rec.settle()
    print(f"# idle: {args.idle_seconds:g} s without input", flush=True)
    meter.start()
    time.sleep(args.idle_seconds)
    idle = meter.stop()
    workers_after_idle = children_rss_mb(rec.pid)
    rec.settle(0)  # only checks that it is still running

    # 3. Burst, into xterm A whose `cat` writes what it receives to a file.
    print(f"# burst: {args.burst_chars} characters with no delay", flush=True)
    desk.focus(0)
    desk.xdo("key", "Return")  # ends a line the active phase may have left half typed
    time.sleep(0.5)
    received0 = desk.typed.stat().st_size
    burst = (BURST_WORDS * (args.burst_chars // len(BURST_WORDS) + 1))[: args.burst_chars]
    t0 = time.monotonic()
    desk.xdo("type", "--delay", "0", "--", burst)
    burst_s = time.monotonic() - t0
    desk.xdo("key", "Return")  # the tty hands the line to `cat`
    time.sleep(2)
    received = desk.typed.stat().st_size - received0 - 1
    hwm_end, rss_end = mem_mb(rec.pid, "VmHWM"), mem_mb(rec.pid, "VmRSS")
    split_end = memory_split(rec.pid)
    exit_code, stop_s = rec.stop()
    # Open segments too: one that the stop failed to seal still shows what was captured.
    segs = rec.export(tmp / "export-all", "--include-open")
    left_open = sum(s["state"] == "open" for s in segs)
    segs = [s for s in segs if s["segment_id"] != active_seg["segment_id"]]
    downs = sum(e["type"] == "key" and e["action"] == "down" for s in segs for e in s["events"])
    downs -= 2  # the two Returns
    lost, counted = len(burst) - downs, sum(s["redaction"]["dropped_events"] for s in segs)

    # The table.
    rows: list[tuple[str, str, str, str]] = []

    def row(label: str, value: str, target: str = "", ok: bool | None = None) -> None:
        rows.append((label, value, target, "" if ok is None else "yes" if ok else "NO"))

    def at_most(label: str, value: float, limit: float, note: str = "") -> None:
        row(label, f"{value:.{2 if value < 100 else 0}f}{note}", f"<= {limit:g}", value <= limit)

    def others(cpu: dict[str, float]) -> str:
        return ", ".join(f"{k} {v:.2f}" for k, v in cpu.items() if not k.startswith("recorder"))

    n_s, per_hour = args.seconds, 3600 / args.seconds / 1e6
    events = after["pending_events"] - before["pending_events"]
    frames = after["pending_frames"] - before["pending_frames"]
    frame_bytes = after["pending_frame_bytes"] - before["pending_frame_bytes"]
    drops = active_seg["redaction"]
    row("active: keys typed by xdotool", f"{typed} in {n_s:.0f} s ({typed / n_s:.1f}/s)")
    at_most("active: recorder + OCR workers CPU, % of a core", active["recorder"], 10)
    note = f" (quiet {drain_s:.0f} s after)"
    at_most("  including work it left queued", backlog["recorder"], 10, note)
    own = active["recorder process"]
    row(
        "  of which the recorder process / OCR workers",
        f"{own:.2f} / {active['recorder'] - own:.2f}",
    )
    row("active: baseline CPU, % of one core", others(active))
    row("active: recorder CPU / Xvfb CPU", f"{active['recorder'] / max(active['Xvfb'], 1e-9):.1f}x")
    row("active: events stored", f"{events} ({events * 60 / n_s:.0f}/min)")
    row("active: frames stored", f"{frames} ({frames * 60 / n_s:.1f}/min)")
    at_most("active: frame payloads, MB per active hour", frame_bytes * per_hour, 30)
    at_most("active: buffer.db growth, MB per active hour", (db1 - db0) * per_hour, 30)
    dropped = f"{drops['dropped_events']} / {drops['dropped_frames']}"
    row("active: dropped events / frames", dropped, "0", dropped == "0 / 0")
    kept_clicks = sum(
        e["type"] == "frame" and e.get("trigger") == "mouse_down" for e in active_seg["events"]
    )
    row("active: clicks that kept their screenshot", f"{kept_clicks} of {clicks}")
    row("active: last stored frame", frame_info, "legible")
    row("recorder RSS: bare interpreter, MB", f"{bare_mb:.0f}")
    row("recorder RSS: + what `record --headless` imports, MB", f"{imports_mb:.0f}")
    first = f"{rec.first_frame_rss:.0f} (peak so far {rec.first_frame_hwm:.0f})"
    row("recorder RSS: running, first frame stored, MB", first)
    at_most("peak RSS (VmHWM) after active, MB", hwm_active, 150)
    at_most("peak RSS (VmHWM) at end, MB", hwm_end, 150, f" (VmRSS now {rss_end:.0f})")
    row("recorder RSS at end, MB", split_end)
    at_most("idle: recorder + OCR workers CPU, % of a core", idle["recorder"], 0.5)
    at_most("OCR workers: peak RSS together, MB", workers.peak, 300)
    at_most("OCR workers: RSS after the idle phase, MB", workers_after_idle, 0)
    at_most("first frame stored: CPU-s from start", rec.first_frame_cpu, 10)
    row("idle: baseline CPU, % of one core", others(idle))
    row("burst: chars typed / received by xterm", f"{len(burst)} / {received} in {burst_s:.1f} s")
    row("burst: key-downs recorded", str(downs), str(len(burst)))
    row("burst: events lost (counted as dropped)", f"{lost} ({counted})", "0", lost == 0)
    row("stop: exit code (SIGINT to exit)", f"{exit_code} ({stop_s:.1f} s)", "0", exit_code == 0)
    row("stop: segments left open", str(left_open), "0", left_open == 0)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"\n{'measure':<{widths[0]}}  {'value':<{widths[1]}}  {'target':<{widths[2]}}  met")
    print("-" * (sum(widths) + 11))
    for label, value, target, met in rows:
        print(f"{label:<{widths[0]}}  {value:<{widths[1]}}  {target:<{widths[2]}}  {met}")
    if args.keep:
        print(f"\nkept {tmp}")
    stop_desktop()
    kept = kept_clicks
    return {
        "first frame, CPU-s from start (recorder + OCR workers)": rec.first_frame_cpu,
        "active: CPU, % of a core (recorder + OCR workers)": active["recorder"],
        "active: CPU incl. queued work, % of a core": backlog["recorder"],
        "active: CPU-s per stored frame": backlog["recorder"] * n_s / 100 / max(frames, 1),
        "active: frames stored": frames,
        "active: clicks made": clicks,
        "active: clicks that kept their screenshot": kept,
        "active: frames dropped (busy or failed)": drops["dropped_frames"],
        "idle: CPU, % of a core (recorder + OCR workers)": idle["recorder"],
        "recorder RSS after the first frame, MB": rec.first_frame_rss,
        "recorder peak RSS (VmHWM), MB": hwm_end,
        "recorder RSS at end, MB": rss_end,
        "OCR workers peak RSS together, MB": workers.peak,
        "OCR workers RSS after the idle phase, MB": workers_after_idle,
    }


class WorkerMemory:
    """Samples the resident memory of the recorder's child processes (its OCR workers) twice
    a second and keeps the peak of their sum."""

    def __init__(self, pid: int) -> None:
        self.peak = 0.0
        self._pid = pid
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            with contextlib.suppress(OSError, ValueError):
                self.peak = max(self.peak, children_rss_mb(self._pid))

    def stop(self) -> None:
        self._stop.set()


def stop_desktop() -> None:
    """End this run's processes (recorder first, Xvfb last), so the next run starts clean."""
    _cleanup()
    _procs.clear()


def compare(off: dict[str, float], on: dict[str, float]) -> None:
    print("\n## OCR on against OCR off, same machine, same run")
    width = max(map(len, off))
    print(f"{'measure':<{width}}  {'OCR off':>9}  {'OCR on':>9}  {'on/off':>7}")
    for key in off:
        a, b = off[key], on[key]
        ratio = f"{b / a:6.1f}x" if a > 1e-9 else "      -"
        print(f"{key:<{width}}  {a:>9.2f}  {b:>9.2f}  {ratio}")


if __name__ == "__main__":
    sys.exit(main())
