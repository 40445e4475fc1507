"""SIGKILL torture of the headless recorder on a real X server.

One `KillRig` owns a data folder with consent given and an xterm that writes every byte it
receives to a file (`stty raw`, then `cat`): the file's length is the number of keys the X
server has delivered, which is what a person typed. Each `cycle()` starts
`praxis record --headless`, types into the xterm through XTEST, and SIGKILLs the recorder at a
random moment of one phase:

- recording: keys flowing, nothing else going on;
- sealing:   just after asking the recorder to seal its segment (`flush`) or to pause;
- review-deletion: just after a separate process began deleting a sealed segment the way
  `praxis review --delete` does (that process is killed first, then the recorder);
- recorder-deletion: just after asking the recorder to delete an older session.

After the kill, a copy of the database files taken at that moment is checked (so the check
itself never repairs what the next start must repair): `PRAGMA integrity_check`, and every
segment that held content at the previous check is still there with the same package hash,
unless this cycle deleted it (then it is gone whole) or it was empty. A segment the kill left
open must be sealed by the next start with exactly the events and frames it had committed.
The keys typed before the kill and the keys committed give what the kill cost.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import signal
import sqlite3
import statistics
import string
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .xsession import XServer, XWindow, check_cli, praxis_cmd, praxis_env, wait_for

PHASES = ("recording", "sealing", "review-deletion", "recorder-deletion")
DELETER = Path(__file__).resolve().parent / "segment_deleter.py"
REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = (
    "redact_screen_text = false\n"  # OCR costs seconds per start; the torture is about storage
    "segment_minutes = 0.1\n"  # a segment seals every 6 s on its own as well
    "min_frame_gap_s = 0.2\n"
)
WORDS = string.ascii_lowercase


class TortureFailure(AssertionError):
    pass


@dataclass
class Snapshot:
    """What the buffer held at one moment, read from a copy of its files."""

    hashes: dict[str, str] = field(default_factory=dict)  # segment with content -> sha256
    states: dict[str, str] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # (events, frames)
    keys: dict[str, int] = field(default_factory=dict)  # key-downs with a character
    sessions: dict[str, str] = field(default_factory=dict)

    def open_ids(self) -> list[str]:
        return [s for s, state in self.states.items() if state == "open"]

    def sealed_ids(self) -> list[str]:
        return [s for s, state in self.states.items() if state in ("sealed", "pending_review")]


@dataclass
class CycleResult:
    phase: str
    typed: int  # keys the X server delivered while this recorder ran
    committed: int  # of those, key-downs found in the buffer after the kill
    segments: int
    seconds: float
    detail: str = ""

    @property
    def lost(self) -> int:
        return self.typed - self.committed


def _copy_db(data_dir: Path, scratch: Path) -> Path:
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(mode=0o700, parents=True)
    for suffix in ("", "-wal"):
        src = data_dir / f"buffer.db{suffix}"
        if src.exists():
            shutil.copyfile(src, scratch / src.name)
    return scratch


def integrity(db_dir: Path) -> list[str]:
    conn = sqlite3.connect(db_dir / "buffer.db")
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    finally:
        conn.close()


def read_snapshot(db_dir: Path) -> Snapshot:
    """Package every segment that holds content, with the app's own code (the exact bytes
    `praxis export --packages` writes and upload sends)."""
    from app.core.buffer.store import Buffer
    from app.core.lifecycle import WITH_CONTENT, SegmentState
    from app.core.package import build_package
    from app.core.queries import segments

    buffer = Buffer(db_dir, create=False)
    snap = Snapshot()
    for seg in segments(buffer):
        if SegmentState(seg["state"]) not in WITH_CONTENT:
            continue
        package = build_package(buffer, seg["id"])
        items = [json.loads(line) for line in _member(package.data, "events.jsonl")]
        snap.hashes[seg["id"]] = package.sha256
        snap.states[seg["id"]] = seg["state"]
        snap.sessions[seg["id"]] = seg["session_id"]
        snap.counts[seg["id"]] = (
            sum(1 for i in items if i["type"] != "frame"),
            sum(1 for i in items if i["type"] == "frame"),
        )
        snap.keys[seg["id"]] = sum(
            1 for i in items if i["type"] == "key" and i["action"] == "down" and i.get("char")
        )
    return snap


def _member(data: bytes, name: str) -> list[bytes]:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name).splitlines()


def compare(before: Snapshot, after: Snapshot, may_vanish: set[str]) -> list[str]:
    """What went wrong between two checks: the list is empty when nothing did."""
    problems = []
    for seg, digest in before.hashes.items():
        if before.states[seg] == "open":
            continue  # checked below: its package changes when it is sealed
        if seg not in after.hashes:
            if seg not in may_vanish and before.counts[seg] != (0, 0):
                problems.append(f"sealed segment {seg} vanished")
        elif after.hashes[seg] != digest:
            problems.append(
                f"sealed segment {seg} changed: {digest[:12]} -> {after.hashes[seg][:12]}"
            )
    for seg in before.open_ids():
        if seg not in after.hashes:
            if seg not in may_vanish and before.counts[seg] != (0, 0):
                problems.append(f"segment {seg}, open at the kill, vanished")
        elif after.states[seg] == "open":
            problems.append(f"segment {seg}, open at the kill, is still open after a restart")
        elif after.counts[seg] != before.counts[seg]:
            problems.append(
                f"segment {seg}, open at the kill, had {before.counts[seg]} (events, frames) "
                f"committed and {after.counts[seg]} after the restart"
            )
    return problems


class Typist:
    """Types random lowercase words through XTEST until stopped, in runs of a few words with
    a pause after each, as a person types (the recorder keeps a run of typing together until
    such a pause). A run is never cut in the middle, so no key stays held down."""

    def __init__(self, x: XServer, rng: random.Random, delay_ms: int = 8) -> None:
        self._x = x
        self._rng = rng
        self._delay = delay_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> Typist:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                words = [
                    "".join(self._rng.choice(WORDS) for _ in range(self._rng.randint(2, 7)))
                    for _ in range(4)
                ]
                self._x.type_text(" ".join(words) + " ", delay_ms=self._delay)
                self._stop.wait(self._rng.uniform(0.9, 1.4))
        except BaseException as exc:  # reported by the rig
            self.error = exc


class KillRig:
    def __init__(
        self, x: XServer, home: Path, rng: random.Random, settings: str = SETTINGS
    ) -> None:
        self.x = x
        self.home = home
        self.rng = rng
        self.data_dir = home / "data"
        self.env = praxis_env(x.display, home)
        self.sink = home / "typed.bin"
        self.log = home / "recorders.log"
        self.scratch = home / "check"
        self.results: list[CycleResult] = []
        self.snapshot = Snapshot()
        self.window: XWindow | None = None
        self._recorder: subprocess.Popen[bytes] | None = None
        self._deleter: subprocess.Popen[str] | None = None
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.data_dir / "settings.toml").write_text(settings, encoding="utf-8")
        check_cli(self.data_dir, "consent", "--accept", env=self.env)

    # -- processes -------------------------------------------------------------------
    def open_window(self) -> None:
        self.sink.write_bytes(b"")
        self.window = self.x.xterm(
            "Praxis kill torture",
            0,
            0,
            cols=120,
            rows=30,
            command=("sh", "-c", f"stty raw; exec cat >> '{self.sink}'"),
        )
        self.x.focus(self.window)

    def typed_so_far(self) -> int:
        return self.sink.stat().st_size

    def request(self, request: dict[str, Any], timeout: float = 5.0) -> Any:
        from app.core import control

        return control.send(self.data_dir, request, timeout=timeout)

    def _state(self) -> str | None:
        from app.core.errors import PraxisError

        try:
            return str(self.request({"cmd": "status"}, timeout=5)["state"])
        except (PraxisError, OSError, ValueError):
            return None

    def start_recorder(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as log:
            self._recorder = subprocess.Popen(
                praxis_cmd(self.data_dir, "record", "--headless"),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def recording() -> bool:
            assert self._recorder is not None
            if self._recorder.poll() is not None:
                raise TortureFailure(
                    f"the recorder exited with {self._recorder.returncode} on start:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            return self._state() == "recording"

        wait_for(recording, timeout, "the restarted recorder to record", interval=0.05)

    def kill_recorder(self) -> None:
        if self._recorder is not None and self._recorder.poll() is None:
            self._recorder.send_signal(signal.SIGKILL)
            self._recorder.wait(10)
        self._recorder = None

    def stop_recorder(self) -> int:
        """A clean stop (SIGINT): returns the exit code."""
        assert self._recorder is not None
        self._recorder.send_signal(signal.SIGINT)
        try:
            code = self._recorder.wait(60)
        finally:
            self.kill_recorder()
        return code

    def _start_deleter(self) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, str(DELETER), str(self.data_dir)],
            env={**self.env, "PYTHONPATH": str(REPO_ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            proc.kill()
            proc.wait(10)
            raise TortureFailure(f"the segment deleter did not start: {line!r}")
        return proc

    def close(self) -> None:
        self.kill_recorder()
        if self._deleter is not None and self._deleter.poll() is None:
            self._deleter.kill()
            self._deleter.wait(10)
        if self.window is not None:
            self.x.close(self.window)
            self.window = None

    # -- one kill --------------------------------------------------------------------
    def cycle(self, phase: str | None = None) -> CycleResult:
        phase = phase or self.rng.choice(PHASES)
        began = time.monotonic()
        may_vanish: set[str] = set()
        sealed = self.snapshot.sealed_ids()
        if phase == "review-deletion" and sealed:
            self._deleter = self._start_deleter()  # loads while the recorder starts
        self.start_recorder()
        typed_before = self.typed_so_far()
        detail = ""
        with Typist(self.x, self.rng) as typist:
            self._wait_for_commits()
            if phase == "recording" or (phase != "sealing" and not sealed):
                time.sleep(self.rng.uniform(0.05, 3.0))
                self.kill_recorder()
                detail = "while typing"
            elif phase == "sealing":
                time.sleep(self.rng.uniform(0.2, 0.8))
                ask = self.rng.choice(({"cmd": "flush"}, {"cmd": "pause"}))
                self._in_background(ask)
                time.sleep(self.rng.uniform(0.0, 0.25))
                self.kill_recorder()
                detail = f"after {ask['cmd']}"
            elif phase == "review-deletion":
                target = sealed[0]  # the oldest, so the buffer does not grow without end
                may_vanish.add(target)
                time.sleep(self.rng.uniform(0.1, 0.6))
                deleter = self._deleter
                assert deleter is not None and deleter.stdin is not None
                deleter.stdin.write(target + "\n")
                deleter.stdin.flush()
                time.sleep(self.rng.uniform(0.0, 0.06))
                deleter.send_signal(signal.SIGKILL)
                deleter.wait(10)
                self._deleter = None
                time.sleep(self.rng.uniform(0.0, 0.1))
                self.kill_recorder()
                detail = f"deleting {target}"
            else:  # recorder-deletion
                session = self.snapshot.sessions[sealed[0]]
                may_vanish |= {seg for seg, ses in self.snapshot.sessions.items() if ses == session}
                time.sleep(self.rng.uniform(0.1, 0.6))
                self._in_background({"cmd": "delete", "session": session})
                time.sleep(self.rng.uniform(0.0, 0.3))
                self.kill_recorder()
                detail = f"deleting session {session}"
            typed = self.typed_so_far() - typed_before
        if typist.error is not None:
            raise TortureFailure(f"typing failed: {typist.error}")

        db_dir = _copy_db(self.data_dir, self.scratch)
        check = integrity(db_dir)
        if check != ["ok"]:
            raise TortureFailure(f"integrity_check after a kill {detail}: {check[:5]}")
        after = read_snapshot(db_dir)
        problems = compare(self.snapshot, after, may_vanish)
        if problems:
            raise TortureFailure(f"after a kill {detail} ({phase}): " + "; ".join(problems))
        committed = sum(n for seg, n in after.keys.items() if seg not in self.snapshot.keys)
        self.snapshot = after
        result = CycleResult(
            phase, typed, committed, len(after.hashes), time.monotonic() - began, detail
        )
        self.results.append(result)
        return result

    def _wait_for_commits(self, timeout: float = 30.0) -> None:
        """Until this recorder has committed a run of typing: a kill should have work to
        spoil. Key releases are stored at once, the presses of a run (with their characters)
        only when the run ends, so this waits for more events than one run releases."""
        base = self.request({"cmd": "status"})["pending_events"]
        wait_for(
            lambda: self.request({"cmd": "status"})["pending_events"] > base + 50,
            timeout,
            "the recorder to commit typed keys",
            interval=0.1,
        )

    def _in_background(self, request: dict[str, Any]) -> None:
        def send() -> None:
            with contextlib.suppress(Exception):  # the kill cuts the answer off
                self.request(request, timeout=30)

        threading.Thread(target=send, daemon=True).start()

    # -- the end ---------------------------------------------------------------------
    def finish(self, out_dir: Path) -> dict[str, str]:
        """Start once more, record a known line, stop cleanly, and export the packages with
        the CLI: every segment checked after the last kill must come out with the same hash,
        and the new line must be in the buffer. Returns the exported hashes."""
        self.start_recorder()
        line = "the recorder went on after every kill"
        self.x.type_text(line, delay_ms=8)

        def taken_in() -> bool:
            return self.request({"cmd": "status"})["pending_events"] > 0

        wait_for(taken_in, 30, "the restarted recorder to commit events")
        code = self.stop_recorder()
        if code != 0:
            raise TortureFailure(f"the last recorder exited with {code} on SIGINT")
        check_cli(self.data_dir, "export", "--out", str(out_dir), "--packages", env=self.env)
        import hashlib

        exported = {
            p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in out_dir.glob("*.zip")
        }
        problems = [
            f"{seg}: exported {exported.get(seg, 'nothing')[:12]}, checked {digest[:12]}"
            for seg, digest in self.snapshot.hashes.items()
            if self.snapshot.states[seg] != "open" and exported.get(seg) != digest
        ]
        if problems:
            raise TortureFailure("exports differ from the checked packages: " + "; ".join(problems))
        final = read_snapshot(_copy_db(self.data_dir, self.scratch))
        new_keys = sum(n for seg, n in final.keys.items() if seg not in self.snapshot.keys)
        if new_keys < len(line.replace(" ", "")):
            raise TortureFailure(f"the last recorder committed only {new_keys} typed keys")
        if integrity(self.scratch) != ["ok"]:
            raise TortureFailure("integrity_check failed after the clean stop")
        return exported


def summary(results: list[CycleResult]) -> dict[str, Any]:
    """Counts per phase and the keys each kill cost while typing."""
    per_phase = {p: sum(1 for r in results if r.phase == p) for p in PHASES}
    typing = [r for r in results if r.phase == "recording" and r.typed > 0]
    lost = [r.lost for r in typing]
    out: dict[str, Any] = {
        "kills": len(results),
        "per_phase": per_phase,
        "seconds_per_kill": round(statistics.mean(r.seconds for r in results), 2)
        if results
        else None,
    }
    if lost:
        ordered = sorted(lost)
        out["keys_lost_per_kill"] = {
            "kills_while_typing": len(lost),
            "mean": round(statistics.mean(lost), 1),
            "median": statistics.median(lost),
            "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "max": ordered[-1],
            "typed_total": sum(r.typed for r in typing),
            "committed_total": sum(r.committed for r in typing),
        }
    return out
