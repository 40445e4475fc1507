"""Canaries in a real recording, with every default in force (on-screen text reading too):
secrets typed into a real password field (a Qt form on the accessibility bus), an e-mail
address, a card number and API keys typed into a terminal and shown in it, plus plain words.
Then every file the recorder and the CLI leave behind is searched: the database, its WAL and
shared memory, the recorder's temporary folder, its log and the activity log, exported folders
and upload packages (unzipped). The secrets must not appear anywhere in clear; no typed
sequence may appear in the database files at all. The recorder runs under a host name, user
name and e-mail address made up for the test (a UTS namespace and the environment): none of
them, nor a MAC address of this machine, may appear in anything stored or exported."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pwd
import queue
import secrets
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.live import live_status, type_committed
from support.xsession import RecorderProcess, XServer, praxis_env, wait_for

pytestmark = pytest.mark.x11

FORM = Path(__file__).resolve().parents[1] / "support" / "password_form.py"
FORM_TITLE = "Praxis canary sign-in form"
A11Y_SERVICE = Path("/usr/share/dbus-1/services/org.a11y.Bus.service")


def word(n: int = 10, alphabet: str = string.ascii_lowercase) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def luhn_card() -> str:
    digits = [4] + [secrets.randbelow(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i : i + 4] for i in range(0, 16, 4))


def mac_addresses() -> list[str]:
    found = []
    for path in Path("/sys/class/net").glob("*/address"):
        mac = path.read_text().strip().lower()
        if mac and mac != "00:00:00:00:00:00":
            bare = mac.replace(":", "")
            found += [mac, mac.upper(), bare, bare.upper(), mac.replace(":", "-")]
    return found


def artefact_bytes(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under `root`, and every member of every ZIP file, decompressed."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        yield str(path), raw
        if raw[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                for name in zf.namelist():
                    yield f"{path}!{name}", zf.read(name)


def hits(roots: list[Path], needles: list[str]) -> list[str]:
    found = []
    for root in roots:
        for name, raw in artefact_bytes(root):
            for needle in needles:
                for encoding in ("utf-8", "utf-16-le"):
                    if needle.encode(encoding) in raw:
                        found.append(f"{name}: {needle!r} ({encoding})")
    return found


@pytest.fixture
def session_bus(xserver: XServer, home: Path) -> Iterator[dict[str, str]]:
    if shutil.which("dbus-daemon") is None or not A11Y_SERVICE.exists():
        pytest.fail("needs dbus-daemon and at-spi2-core", pytrace=False)
    runtime = Path(tempfile.mkdtemp(prefix="praxis-canary-run-"))
    env = xserver.env(XDG_RUNTIME_DIR=str(runtime), GSETTINGS_BACKEND="memory")
    env.pop("AT_SPI_BUS_ADDRESS", None)
    started = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    address, pid = started.stdout.split()[:2]
    try:
        yield {"DBUS_SESSION_BUS_ADDRESS": address, "XDG_RUNTIME_DIR": str(runtime)}
    finally:
        os.kill(int(pid), signal.SIGTERM)
        shutil.rmtree(runtime, ignore_errors=True)


@contextlib.contextmanager
def password_form(xserver: XServer, bus: dict[str, str]) -> Iterator[dict]:
    """The Qt form of tests/support/password_form.py. Qt joins the accessibility bus only
    once a listener has started it: start the recorder first."""
    env = xserver.env(**bus, QT_QPA_PLATFORM="xcb", QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1")
    env.pop("NO_AT_BRIDGE", None)
    proc = subprocess.Popen(
        [sys.executable, str(FORM), "qt", FORM_TITLE],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    ready: queue.Queue[dict] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            item = json.loads(line)
            if "ready" in item:
                ready.put(item)

    threading.Thread(target=read, daemon=True).start()
    try:
        shown = ready.get(timeout=60)
        yield {
            "wid": xserver.find_window(FORM_TITLE, 30),
            "centres": {k: (int(v[0]), int(v[1])) for k, v in shown["ready"].items()},
        }
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_canaries_and_identity_never_reach_any_artefact(
    x: XServer, home: Path, session_bus: dict[str, str]
) -> None:
    # Outside the pytest folder, whose path names the user running the tests.
    base = Path(tempfile.mkdtemp(prefix="praxis-canary-"))
    try:
        _run(x, home, base, session_bus)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run(x: XServer, home: Path, base: Path, bus: dict[str, str]) -> None:
    data_dir, tmp_dir, out = base / "data", base / "tmp", base / "out"
    tmp_dir.mkdir()
    host, user = f"host{word(8)}", f"user{word(8)}"
    email_of_user = f"{user}@{host}.example.com"
    password = f"Pw{word(10)}{secrets.randbelow(10**6)}"
    email, card = f"{word(8)}.{word(6)}@example.org", luhn_card()
    keys = [
        "ghp_" + word(36, string.ascii_letters + string.digits),
        "AKIA" + word(16, string.ascii_uppercase + string.digits),
    ]
    plain = [f"plain {word(12)} words", f"more {word(12)} text"]
    shown = home / "shown.txt"
    shown.write_text(f"contact {email}\ncard {card}\ntoken {keys[0]}\n", encoding="utf-8")

    env = praxis_env(
        x.display,
        base,
        **bus,
        TMPDIR=str(tmp_dir),
        USER=user,
        LOGNAME=user,
        EMAIL=email_of_user,
        GIT_AUTHOR_EMAIL=email_of_user,
    )
    # Every Praxis process of this test sees the made-up host name.
    prefix = ["unshare", "--uts", "sh", "-c", f'hostname "{host}" && exec "$@"', "sh"]

    def cli(*args: str) -> str:
        result = subprocess.run(
            [*prefix, sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout + result.stderr

    data_dir.mkdir(mode=0o700)
    cli("consent", "--accept")
    term = x.xterm("Canary notes", 700, 0, command=("sh", "-c", f"cat '{shown}'; exec cat"))

    rec = RecorderProcess(data_dir, env, base / "recorder.log")
    rec_cmd = [*prefix, sys.executable, "-m", "app", "--data-dir", str(data_dir)]
    with rec.log_path.open("ab") as log:
        rec.proc = subprocess.Popen(
            [*rec_cmd, "record", "--headless"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: (live_status(data_dir) or {}).get("state") == "recording",
            90,
            "the recorder to record",
        )
        with password_form(x, bus) as form:
            _type_into_the_form(x, data_dir, form, password)
        # The terminal: secrets and plain words typed; the file shows more secrets.
        x.focus(term)
        x.click(900, 200)
        for line in [*plain, f"mail {email}", f"card {card}", *(f"key {k}" for k in keys)]:
            type_committed(x, data_dir, line)
        wait_for(
            lambda: (live_status(data_dir) or {}).get("pending_frames", 0) >= 2,
            60,
            "frames of the terminal",
        )
        # An export while recording: the WAL and shared memory hold data now.
        cli("export", "--out", str(out / "live"), "--include-open")
        secrets_typed = [password, email, card, card.replace(" ", ""), *keys]
        db_files = [data_dir]
        assert hits(db_files + [tmp_dir, out], secrets_typed) == []
        stop = rec.stop(signal.SIGINT, timeout=120)
        assert stop == 0, rec.output()
    finally:
        rec.kill()

    cli("export", "--out", str(out / "folders"))
    cli("export", "--out", str(out / "packages"), "--packages")
    (base / "activity.txt").write_text(cli("activity", "--limit", "1000"), encoding="utf-8")
    logs = [base / "recorder.log", base / "activity.txt"]

    exported = "\n".join(
        p.read_text(encoding="utf-8") for p in (out / "folders").rglob("events.jsonl")
    )
    assert plain[0] in exported, "the plain words were not recorded: the search would prove nothing"
    assert "[EMAIL]" in exported and "[CARD]" in exported
    events = [json.loads(line) for line in exported.splitlines() if line]
    in_form, current = [], None
    for e in events:
        if e["type"] == "window":
            current = e["title"]
        elif e["type"] == "key" and e["action"] == "down" and current == FORM_TITLE:
            in_form.append(e)
    assert len(in_form) >= len(password), "no keys were recorded in the form"
    assert all(e["char"] is None for e in in_form), "the password field was not told apart"
    prompt_keys = sum(
        json.loads(m.read_text())["redaction"]["hits"].get("PASSWORD_PROMPT_KEY", 0)
        for m in (out / "folders").rglob("manifest.json")
    )
    assert prompt_keys >= len(password)
    frames = list((out / "folders").rglob("*.png"))
    assert frames, "no screenshot was exported"

    # 1. Redacted canaries: nowhere in clear.
    everything = [data_dir, tmp_dir, out, *logs]
    secrets_typed = [password, email, card, card.replace(" ", ""), *keys]
    found = []
    for root in everything:
        found += hits([root], secrets_typed) if root.is_dir() else _file_hits(root, secrets_typed)
    assert found == []
    # 2. Nothing typed, secret or not, in the database files (all of it is encrypted).
    typed_lines = [password, *plain, f"mail {email}", f"card {card}", *(f"key {k}" for k in keys)]
    pieces = sorted({line[i : i + 6] for line in typed_lines for i in range(len(line) - 5)})
    db_hits = hits([data_dir], [p for p in pieces if p.strip() and len(set(p)) > 2])
    assert db_hits == []
    # 3. Identity: host, user, e-mail, MAC addresses.
    identity = [host, user, email_of_user, *mac_addresses()]
    real_user = pwd.getpwuid(os.getuid()).pw_name
    if len(real_user) >= 4:
        identity.append(real_user)
    found = []
    for root in [data_dir, out, *logs]:
        found += hits([root], identity) if root.is_dir() else _file_hits(root, identity)
    assert found == []


def _type_into_the_form(x: XServer, data_dir: Path, form: dict, password: str) -> None:
    """Into the password field: the keys must keep no characters."""
    x.xdotool("windowfocus", "--sync", str(form["wid"]))
    x.click(*form["centres"]["password"])
    type_committed(x, data_dir, password)


def _file_hits(path: Path, needles: list[str]) -> list[str]:
    raw = path.read_bytes()
    return [f"{path}: {n!r}" for n in needles if n.encode() in raw]
