"""End to end with our collector as a real process: enroll, upload with `praxis sync --once`,
compare what the collector stored with `praxis export --packages` byte for byte, erase by
deleting the session, and the collector the app starts itself when none is configured."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.seed import seed_approved, seed_segment
from support.servers import UploadServer
from support.uploadcheck import check_invariant, segment_states

from app.cli import main
from app.core.upload.target import LOCAL_COLLECTOR, NO_COLLECTOR


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def praxis(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """`praxis …` as the command runs it, in this process (the collector stays a process)."""

    def run(data_dir: Path, *args: str, check: bool = True) -> Done:
        code = main(["--data-dir", str(data_dir), *args])
        out = capsys.readouterr()
        done = Done(code, out.out, out.err)
        if check:
            assert code == 0, done.stderr
        return done

    return run


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = UploadServer("collector", tmp_path / "collector").start()
    yield server
    server.stop()


def test_enroll_sync_export_and_erase(
    praxis, server: UploadServer, data_dir: Path, tmp_path: Path
) -> None:
    session = "ses_0123456789abcdef"
    buffer, ids = seed_approved(data_dir, 2, frames=2, session_id=session)
    unapproved = seed_segment(buffer, seed=7)
    (data_dir / "settings.toml").write_text("keep_uploaded_hours = 1.0\n")
    export = tmp_path / "export"
    praxis(data_dir, "export", "--packages", "--out", str(export))

    refused = praxis(
        data_dir, "enroll", "--server", server.url, "--token", "pxc_wrong", check=False
    )
    assert refused.returncode != 0 and "Nothing was changed" in refused.stderr
    praxis(data_dir, "enroll", "--server", server.url, "--token", server.token)
    assert "keep_uploaded_hours" in (data_dir / "settings.toml").read_text()  # kept
    status = json.loads(praxis(data_dir, "enroll", "--status", "--json").stdout)
    assert status["check_ok"] and status["token_in_keyring"]
    assert server.token not in (data_dir / "settings.toml").read_text()

    before = json.loads(praxis(data_dir, "status", "--json").stdout)["upload"]
    assert before["approved"] == 2 and before["bytes_pending"] > 0
    synced = praxis(data_dir, "sync", "--once")
    assert "Uploaded 2 segment(s)" in synced.stdout
    after = json.loads(praxis(data_dir, "status", "--json").stdout)["upload"]
    assert after["acknowledged"] == 2 and after["bytes_pending"] == 0 and not after["last_error"]

    stored = server.folder / "data" / "store" / "packages" / buffer.device_id
    for segment_id in ids:
        assert (stored / f"{segment_id}.zip").read_bytes() == (
            export / f"{segment_id}.zip"
        ).read_bytes()
    assert not (stored / f"{unapproved}.zip").exists()
    assert check_invariant(buffer, server.stored(buffer.device_id)) == []

    # Deleting the session removes it here and queues its erasure there, until confirmed.
    deleted = praxis(data_dir, "delete", "--session", session)
    assert "2 uploaded segments to be erased from the collector" in deleted.stdout
    assert (
        json.loads(praxis(data_dir, "status", "--json").stdout)["upload"]["erasures_pending"] == 2
    )
    praxis(data_dir, "sync", "--once")
    assert not list(stored.glob("*.zip"))
    assert (
        json.loads(praxis(data_dir, "status", "--json").stdout)["upload"]["erasures_pending"] == 0
    )
    log = json.loads(praxis(data_dir, "activity", "--json").stdout)
    erased = [row["message"] for row in log if row["kind"] == "erasure"]
    assert sum("erased from the collector" in m for m in erased) == 2
    assert set(segment_states(buffer)[i] for i in ids) == {"deleted"}

    praxis(data_dir, "enroll", "--leave")
    status = json.loads(praxis(data_dir, "enroll", "--status", "--json").stdout)
    assert status == {
        "collector_url": None,
        "set_by_policy": False,
        "token_in_keyring": False,
        "check_ok": None,
        "check": None,
    }


def test_sync_fails_with_a_summary_when_the_token_is_revoked(
    praxis, server: UploadServer, data_dir: Path
) -> None:
    buffer, ids = seed_approved(data_dir, 1, frames=1)
    praxis(data_dir, "enroll", "--server", server.url, "--token", server.token)
    server.revoke_all_tokens()
    done = praxis(data_dir, "sync", "--once", check=False)
    assert done.returncode == 1
    assert "ask IT to enroll it again" in done.stderr
    status = json.loads(praxis(data_dir, "status", "--json").stdout)["upload"]
    assert "ask IT to enroll it again" in status["last_error"]
    text = praxis(data_dir, "status").stdout
    assert "ask IT to enroll it again" in text


def test_with_no_collector_configured_uploads_go_to_this_computer(praxis, data_dir: Path) -> None:
    buffer, ids = seed_approved(data_dir, 2, frames=1)
    status = json.loads(praxis(data_dir, "status", "--json").stdout)["upload"]
    assert status["collector_text"] == LOCAL_COLLECTOR
    started = time.monotonic()
    done = praxis(data_dir, "sync", "--once")
    assert "Uploaded 2 segment(s)" in done.stdout, done.stderr
    assert time.monotonic() - started < 60
    stored = data_dir / "collector" / "store" / "packages" / buffer.device_id
    assert sorted(p.stem for p in stored.glob("*.zip")) == sorted(ids)
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "praxis_collector",
            "verify",
            "--data-dir",
            str(data_dir / "collector"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert set(segment_states(buffer).values()) == {"purged"}
    # The token the app made for it lives in the keyring, never in a file of the data folder.
    assert not any(
        b"pxc_" in p.read_bytes() for p in data_dir.rglob("*") if p.is_file() and p.suffix != ".zip"
    )


def test_status_says_when_no_collector_can_be_used(data_dir: Path) -> None:
    seed_approved(data_dir, 1, frames=1)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, importlib.util as u; u.find_spec = lambda name, *a: None "
            "if name == 'praxis_collector' else None; sys.argv = ['praxis', '--data-dir', "
            f"{str(data_dir)!r}, 'status', '--json']; from app.cli import main; sys.exit(main())",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["upload"]["collector_text"] == NO_COLLECTOR
