"""Hostile input where it enters a running recorder: window titles and class names another
application controls, characters no keyboard types, and garbage on the control socket. The
recorder must keep recording, answer valid requests, and store nothing unscrubbed."""

from __future__ import annotations

import json
import os
import queue
import random
import secrets
import socket
import string
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.hostile_x import HostileWindows
from support.live import live_status, start_recorder, type_committed
from support.xsession import RecorderProcess, XServer, check_cli, export, typed_text

from app.core import control
from app.core.capture.bounds import TITLE_KEPT, bounded, scrub_title
from app.core.model import RawInput, WindowInfo
from app.core.recorder import Recorder
from app.core.redact.text import TextScrubber
from app.core.settings import Settings
from tests.unit.fakes import FixedWindow, ScriptedInput

SETTINGS = "redact_screen_text = false\nsegment_minutes = 5\n"


def leaks(root: Path, needles: list[str]) -> list[str]:
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        found += [f"{path.name}: {n!r}" for n in needles if n.encode() in raw]
    return found


@pytest.fixture
def recording(x: XServer, home: Path, env: dict[str, str]) -> Iterator[RecorderProcess]:
    data_dir = home / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / "settings.toml").write_text(SETTINGS, encoding="utf-8")
    check_cli(data_dir, "consent", "--accept", env=env)
    rec = start_recorder(RecorderProcess(data_dir, env, home / "recorder.log"))
    yield rec
    rec.kill()


# -- window titles -----------------------------------------------------------------------
def random_email() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(10)) + "@example.org"


@pytest.mark.x11
def test_hostile_window_titles_neither_stall_capture_nor_reach_the_disk_unscrubbed(
    x: XServer, home: Path, env: dict[str, str], recording: RecorderProcess
) -> None:
    data_dir = recording.data_dir
    emails = [random_email() for _ in range(5)]
    filler = "lorem ipsum dolor sit amet "
    cut = (filler * (TITLE_KEPT // len(filler) + 1))[: TITLE_KEPT - 6]
    titles = {
        # 4 MB; one address straddles the cut, one lies far beyond it
        "huge": (cut + emails[0] + " " + filler * 150_000 + emails[1]).encode(),
        "controls": f"mail {emails[2]} \u202eevil\u202c \x1b[31m\x00\x07\x7f end".encode(),
        "not-utf8": b"bad \xff\xfe\xc3\x28 bytes " + emails[3].encode(),
    }
    windows = HostileWindows(x.display)
    try:
        for n, (case, title) in enumerate(titles.items()):
            made = windows.open(net_wm_name=title)
            x.xdotool("windowfocus", "--sync", str(made.wid))
            started = time.monotonic()
            type_committed(x, data_dir, f"word{n} in {case}")
            assert time.monotonic() - started < 30
        # A Latin-1 WM_NAME with NULs, and class names of a megabyte each.
        made = windows.open(
            wm_name=b"\x00\x01latin \xe9\xff " + emails[4].encode(),
            wm_class=b"A" * 1_000_000 + b"\0" + b"B" * 1_000_000 + b"\0",
        )
        x.xdotool("windowfocus", "--sync", str(made.wid))
        type_committed(x, data_dir, "word3 in latin")
    finally:
        windows.close()
    assert (live_status(data_dir) or {}).get("state") == "recording"
    assert recording.stop() == 0, recording.output()

    segments = export(data_dir, home / "out", env)
    events = [e for s in segments for e in s.events]
    spelled = typed_text(events)
    for n, case in enumerate([*titles, "latin"]):
        assert f"word{n} in {case}" in spelled
    stored_titles = [e["title"] for e in events if e["type"] == "window"]
    assert len(stored_titles) >= 4
    assert all(len(t) <= TITLE_KEPT + 1 for t in stored_titles), [len(t) for t in stored_titles]
    assert any("[EMAIL]" in t for t in stored_titles)
    local_parts = [e.split("@")[0] for e in emails]
    assert leaks(home / "out", local_parts) == []
    assert leaks(data_dir, local_parts) == []
    apps = [e["app"] for e in events if e["type"] == "window"]
    assert all(len(a) <= 256 for a in apps)


@settings(max_examples=60, deadline=None)
@given(
    where=st.integers(min_value=TITLE_KEPT - 300, max_value=TITLE_KEPT + 300),
    tail=st.integers(min_value=0, max_value=200_000),
)
def test_a_secret_split_by_the_title_cut_leaves_no_fragment(where: int, tail: int) -> None:
    local = "".join(random.choice(string.ascii_lowercase) for _ in range(12))
    card = "4111 1111 1111 1111"
    filler = ("abc " * (where // 4 + 1))[:where]
    title = filler + f"{local}@example.org {card} " + "x" * tail
    window = bounded(WindowInfo("app", title, 0, 0, 10, 10))
    assert window is not None
    started = time.perf_counter()
    kept, _hits = scrub_title(TextScrubber.from_settings(Settings()), window.title)
    assert time.perf_counter() - started < 2.0
    assert len(kept) <= TITLE_KEPT + 1
    for size in range(4, len(local) + 1):
        assert not any(local[i : i + size] in kept for i in range(len(local) - size + 1))
    assert "1111 1111" not in kept and "4111" not in kept


# -- typed characters ---------------------------------------------------------------------
ODD_CHARS = ["\x00", "\x1b", "\u202e", "\u200d", "\ud800", "\udfff", "\ufffe", "\U0010ffff", "é"]


class SmallQueueInput(ScriptedInput):
    """Scripted keys with a short input queue, so a burst overflows it quickly."""

    SIZE = 2000

    def __init__(self) -> None:
        super().__init__()
        self.events = queue.Queue(maxsize=self.SIZE)


def test_characters_no_keyboard_types_are_kept_or_dropped_never_fatal(tmp_path: Path) -> None:
    """Key events with lone surrogates, NULs, direction overrides and a burst far larger than
    the input queue: recording goes on, the drops are counted, the export is valid JSON."""
    window = WindowInfo("xterm", "Terminal", 0, 0, 800, 600, handle="0x1")
    recorder = Recorder(
        tmp_path / "data",
        Settings(capture_screen=False),
        platform_factory=lambda: FixedWindow(window),
        input_factory=SmallQueueInput,
    )
    try:
        recorder.accept_consent()
        recorder.start()
        deadline = time.monotonic() + 10
        while not (ScriptedInput.instances and ScriptedInput.instances[-1].started):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        keys = ScriptedInput.instances[-1]
        for ch in ODD_CHARS * 20:
            keys.events.put(RawInput("key", time.monotonic(), time.time(), "down", "letter", ch))
            keys.events.put(RawInput("key", time.monotonic(), time.time(), "up", "letter", None))
        for _ in range(
            3 * SmallQueueInput.SIZE
        ):  # more than the queue holds: the overflow is dropped and counted
            keys._put(RawInput("key", time.monotonic(), time.time(), "down", "letter", "q"))
        keys.type_text("still recording")
        keys.press("enter")
        recorder.flush_to_disk()
        assert recorder.state.value == "recording"
        assert keys.dropped > 0
        from app.core.export import export as export_segments

        folders = export_segments(recorder.buffer, tmp_path / "out")
        lines = [
            json.loads(line)
            for folder in folders
            for line in (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        assert "still recording" in "".join(e.get("text", "") for e in lines)
    finally:
        recorder.shutdown()


# -- the control socket -------------------------------------------------------------------
def _connect(path: Path) -> socket.socket:
    """Connect as fast as the server accepts (a full listen queue answers EAGAIN)."""
    deadline = time.monotonic() + 10
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        try:
            sock.connect(str(path))
            return sock
        except BlockingIOError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _exchange(path: Path, raw: bytes) -> bytes:
    with _connect(path) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close first on an oversized request
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


WRONG_SHAPES = [
    b"[]\n",
    b'"status"\n',
    b"null\n",
    b"12\n",
    b'{"cmd": 5}\n',
    b'{"cmd": ["status"]}\n',
    b'{"cmd": "pause", "seconds": "soon"}\n',
    b'{"cmd": "delete"}\n',
    b'{"cmd": "no such command"}\n',
    b"\xff\xfe\xfd\n",
    b'{"cmd": "status"' + b" " * 70_000 + b"}\n",
    b'{"cmd": "status", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
]


@pytest.mark.x11
def test_garbage_on_the_control_socket_leaves_the_recorder_working(
    x: XServer, home: Path, env: dict[str, str], recording: RecorderProcess
) -> None:
    data_dir = recording.data_dir
    path = control.socket_path(data_dir)
    term = x.xterm("Praxis control garbage", 0, 0)
    x.focus(term)
    rng = random.Random(7)
    # Many connections that send half a request and then say nothing.
    held = []
    try:
        for _ in range(150):
            sock = _connect(path)
            sock.sendall(b'{"cmd": "sta')
            held.append(sock)
        # Random bytes, then hang up.
        for _ in range(40):
            _exchange(path, os.urandom(rng.randint(1, 8192)))
        # A line of megabytes.
        _exchange(path, b"x" * 8_000_000)
        # Connections opened and closed at once.
        for _ in range(200):
            _connect(path).close()
        # Valid JSON of the wrong shape: an error reply, never a hang or a crash.
        for raw in WRONG_SHAPES:
            reply = json.loads(_exchange(path, raw) or b"{}")
            assert reply.get("ok") is False and reply.get("error", {}).get("message"), (raw, reply)
        # With all of that still open, a valid request is answered at once.
        started = time.monotonic()
        answer = control.send(data_dir, {"cmd": "status"}, timeout=10)
        assert answer["state"] == "recording"
        assert time.monotonic() - started < 5
        type_committed(x, data_dir, "the recorder kept recording")
    finally:
        for sock in held:
            sock.close()
    assert recording.running
    assert recording.stop() == 0, recording.output()
    events = [e for s in export(data_dir, home / "out", env) for e in s.events]
    assert "the recorder kept recording" in typed_text(events)
