"""`praxis review` for scripts and headless testers: the same core operations as the window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.core.buffer.store import Buffer
from app.core.egress import release_for_upload
from app.core.queries import segments
from tests.unit.test_review import record_segment


def run(data_dir: Path, *args: str) -> int:
    return main(["review", "--data-dir", str(data_dir), *args])


def test_list_approve_and_delete(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    buffer = Buffer(data_dir)
    record_segment(buffer, "seg_aaaa1111", started=1000.0)
    record_segment(buffer, "seg_bbbb2222", started=2000.0)

    assert run(data_dir, "--list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["id"], s["state"], s["frames"], s["apps"]) for s in listed] == [
        ("seg_aaaa1111", "pending_review", 12, ["gedit"]),
        ("seg_bbbb2222", "pending_review", 12, ["gedit"]),
    ]

    assert run(data_dir, "--approve", "seg_aaaa") == 0  # a unique prefix is enough
    out = capsys.readouterr().out
    assert "Approved seg_aaaa1111" in out
    assert "Apps:      gedit" in out and "12 screenshots" in out and "To send:" in out
    sha = out.split("sha256 ")[1].split(")")[0]
    assert release_for_upload(buffer, "seg_aaaa1111").sha256 == sha

    assert run(data_dir, "--delete", "seg_bbbb2222") == 0
    assert "deleted 37 events and 12 screenshots" in capsys.readouterr().out
    assert {s["id"]: s["state"] for s in segments(buffer)} == {
        "seg_aaaa1111": "approved",
        "seg_bbbb2222": "deleted",
    }

    assert run(data_dir, "--list") == 0
    out = capsys.readouterr().out
    assert "seg_aaaa1111  approved" in out and "seg_bbbb2222" not in out


def test_approve_all_and_nothing_left(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    buffer = Buffer(data_dir)
    record_segment(buffer, "seg_one", started=1000.0)
    record_segment(buffer, "seg_two", started=2000.0)
    assert run(data_dir, "--approve-all") == 0
    assert capsys.readouterr().out.count("Approved seg_") == 2
    assert run(data_dir, "--approve-all") == 0
    assert "Nothing waits for review." in capsys.readouterr().out


def test_unknown_or_ambiguous_ids_are_clear_errors(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    buffer = Buffer(data_dir)
    record_segment(buffer, "seg_ab1", started=1000.0)
    record_segment(buffer, "seg_ab2", started=2000.0)
    assert run(data_dir, "--approve", "seg_zz") == 2
    assert "no segment 'seg_zz'" in capsys.readouterr().err
    assert run(data_dir, "--approve", "seg_ab") == 2
    assert "matches 2 segments" in capsys.readouterr().err


def test_auto_approval_time_is_listed_under_such_a_policy(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('upload = "auto"\nauto_after_hours = 4\n')
    monkeypatch.setenv("PRAXIS_POLICY_FILE", str(policy))
    record_segment(Buffer(data_dir), "seg_auto", started=1000.0)
    assert run(data_dir, "--list", "--json") == 0
    [item] = json.loads(capsys.readouterr().out)
    assert item["auto_approve_at"] == 1013.0 + 4 * 3600


def test_status_says_how_many_segments_wait_for_review(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    buffer = Buffer(data_dir)
    record_segment(buffer, "seg_one", started=1000.0)
    assert run(data_dir, "--list") == 0
    capsys.readouterr()
    assert main(["status", "--data-dir", str(data_dir)]) == 0
    assert "Review:   1 segment(s) waiting (`praxis review`)" in capsys.readouterr().out
