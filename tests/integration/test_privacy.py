"""Privacy end to end: what must never reach the disk, what must be scrubbed, and that nothing
is recorded without consent."""

from __future__ import annotations

import secrets
import signal
import sqlite3
import string
from pathlib import Path

import pytest
from support.xsession import (
    RecorderProcess,
    XServer,
    export,
    run_cli,
    status,
    type_recorded,
    typed_text,
)

pytestmark = pytest.mark.x11


@pytest.fixture
def settings_toml() -> str:
    """Privacy is checked with every default in force, on-screen text OCR included."""
    return ""


CARD = "4111 1111 1111 1111"


def leaks(root: Path, needles: list[str]) -> list[str]:
    """Every (file, needle, encoding) under `root` whose raw bytes contain a needle."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        for needle in needles:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                if needle.encode(encoding) in raw:
                    found.append(f"{path.relative_to(root)}: {needle!r} ({encoding})")
    return found


def random_word(n: int = 12) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(n))


def test_typed_secrets_and_titles_never_reach_the_disk_in_clear(
    x: XServer, consented: Path, env: dict[str, str], recorder_factory, home: Path
) -> None:
    canary = "canary" + random_word()
    email = f"jo.{random_word(8)}@example.org"
    title = f"Notes {canary}"
    term = x.xterm(title, 0, 0)
    x.focus(term)
    rec: RecorderProcess = recorder_factory(consented).start()

    for line in (f"remember {canary} today", f"mail {email} please", f"card {CARD} ok"):
        type_recorded(x, consented, env, line)
    # An export of the open segment commits everything typed so far while recording goes
    # on, so the write-ahead log and shared memory file are checked with the data in them.
    live = export(consented, home / "live", env, "--include-open")
    assert canary in "".join(e.get("text", "") for s in live for e in s.events), (
        "the canary was not recorded at all, so its absence from the disk would prove nothing"
    )
    needles = [canary, email, title, CARD, CARD.replace(" ", "")]
    assert (consented / "buffer.db").exists()
    assert leaks(consented, needles) == []

    assert rec.stop(signal.SIGINT) == 0, rec.output()
    assert leaks(consented, needles) == []
    assert canary not in rec.output() and email not in rec.output()

    segments = export(consented, home / "out", env)
    events = [e for s in segments for e in s.events]
    texts = [e["text"] for e in events if e["type"] == "text"]
    assert f"remember {canary} today" in texts
    assert "mail [EMAIL] please" in texts
    assert "card [CARD] ok" in texts
    assert any(e["type"] == "window" and e["title"] == title for e in events)

    # The keys that spelled the e-mail and the card keep only their category.
    redacted = [e for e in events if e["type"] == "key" and "redacted" in e]
    assert all(e["char"] is None and e["action"] == "down" for e in redacted)
    by_category = {c: [e for e in redacted if e["redacted"] == c] for c in ("EMAIL", "CARD")}
    assert len(by_category["EMAIL"]) == len(email)
    assert len(by_category["CARD"]) == len(CARD)
    assert {e["key"] for e in by_category["CARD"]} == {"digit", "space"}
    assert typed_text(events) == (f"remember {canary} today\nmail  please\ncard  ok\n"), (
        "only the redacted characters are missing from the keys"
    )
    hits: dict[str, int] = {}
    for s in segments:
        for category, count in s.manifest["redaction"]["hits"].items():
            hits[category] = hits.get(category, 0) + count
    assert hits == {"EMAIL": 1, "CARD": 1}
    # Exported files hold no trace of the scrubbed values either.
    assert leaks(home / "out", [email, CARD, CARD.replace(" ", "")]) == []


@pytest.mark.parametrize(
    "title",
    [
        "Sign in - Example",
        "Sign in \u2014 Example",
    ],
    ids=["ascii-title", "em-dash-title"],
)
def test_keys_typed_into_a_sign_in_window_keep_no_characters(
    title: str, x: XServer, consented: Path, env: dict[str, str], recorder_factory, home: Path
) -> None:
    sign_in = x.xterm(title, 0, 0, match="^Sign in ")
    notes = x.xterm("Plain notes", 1000, 0)
    x.focus(sign_in)
    rec = recorder_factory(consented).start()

    # Each line is taken in before the focus moves on: the recorder looks at the window in
    # front when it handles a key, not when the key was pressed.
    type_recorded(x, consented, env, "hunter2 Correct Horse")
    # Switch away and back; a click makes the recorder look at the window at once.
    x.focus(notes)
    x.click(1200, 100)
    type_recorded(x, consented, env, "visible words")
    x.focus(sign_in)
    x.click(200, 100)
    type_recorded(x, consented, env, "second secret 99")

    assert rec.stop() == 0, rec.output()
    segments = export(consented, home / "out", env)
    events = [e for s in segments for e in s.events]
    keys_spell = typed_text(events)
    assert "visible words" in keys_spell
    for secret in ("hunter", "Correct", "Horse", "second", "99"):
        assert secret not in keys_spell, f"{secret!r} typed into {title!r} kept its characters"

    per_window: dict[str, list[dict]] = {}
    current = None
    for event in events:
        if event["type"] == "window":
            current = event["title"]
        elif event["type"] == "key" and event["action"] == "down":
            assert current is not None, "a key before any window is known"
            per_window.setdefault(current, []).append(event)
    sign_in_titles = [t for t in per_window if t.startswith("Sign in")]
    assert len(sign_in_titles) == 1, per_window.keys()
    secret_keys = per_window[sign_in_titles[0]]
    assert all(e["char"] is None for e in secret_keys)
    categories = [
        e["key"] for e in secret_keys if e["key"] in ("letter", "digit", "space", "symbol")
    ]
    assert len(categories) == len("hunter2 Correct Horse" + "second secret 99")
    assert typed_text(per_window["Plain notes"]) == "visible words\n"
    texts = "".join(e.get("text", "") for e in events)
    for secret in ("hunter2", "Correct", "Horse", "second", "99"):
        assert secret not in texts
    assert leaks(home / "out", ["hunter2", "Correct Horse", "second secret"]) == []
    assert leaks(consented, ["hunter2", "Correct Horse", "second secret", "visible words"]) == []
    hits: dict[str, int] = {}
    for s in segments:
        for category, count in s.manifest["redaction"]["hits"].items():
            hits[category] = hits.get(category, 0) + count
    assert hits.get("PASSWORD_PROMPT_KEY") == len(categories)


def test_nothing_is_recorded_without_consent(
    x: XServer, data_dir: Path, env: dict[str, str], recorder_factory
) -> None:
    term = x.xterm("No consent here", 0, 0)
    x.focus(term)
    rec = recorder_factory(data_dir)
    result = run_cli(data_dir, "record", "--headless", env=env, timeout=30)
    assert result.returncode == 3, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("praxis: Consent needed: "), result.stderr
    assert "consent --accept" in lines[0]
    assert not rec.running
    x.type_text("typed without consent")

    db = sqlite3.connect(data_dir / "buffer.db")
    try:
        for table in ("events", "frames", "segments", "sessions"):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    finally:
        db.close()
    state = status(data_dir, env)
    assert state["state"] == "not_running"
    assert state["pending_events"] == 0 and state["pending_frames"] == 0
