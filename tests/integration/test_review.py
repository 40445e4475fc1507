"""Review before upload, end to end: a real recording on Xvfb, reviewed and approved from the
command line, then read through the egress gate: what leaves is byte for byte the package that
was approved, and what was deleted never leaves."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from support.xsession import XServer, check_cli, run_cli

from app.core.buffer.store import Buffer
from app.core.egress import EgressRefused, release_for_upload
from app.core.package import PackageReader

pytestmark = pytest.mark.x11


def review_list(data_dir: Path, env: dict[str, str]) -> list[dict]:
    return json.loads(check_cli(data_dir, "review", "--list", "--json", env=env))


def test_recorded_segments_are_reviewed_approved_and_released_exactly(
    x: XServer,
    consented: Path,
    env: dict[str, str],
    recorder_factory,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # noqa: ANN001
    notes = x.xterm("Review notes", 0, 0)
    x.focus(notes)
    rec = recorder_factory(consented).start()
    x.type_text("first part, mail carol@example.org", delay_ms=10)
    x.key("Return")
    x.click(300, 200)
    time.sleep(0.5)
    check_cli(consented, "pause", env=env)  # seals the first segment
    check_cli(consented, "resume", env=env)
    x.type_text("second part", delay_ms=10)
    x.key("Return")
    time.sleep(0.5)
    assert rec.stop(signal.SIGINT) == 0, rec.output()

    listed = review_list(consented, env)
    assert [s["state"] for s in listed] == ["pending_review", "pending_review"], listed
    first, second = listed
    assert first["apps"] == ["xterm"] and first["actions"] >= 3 and first["frames"] >= 1

    out = check_cli(consented, "review", "--approve", first["id"], env=env)
    sha = out.split("sha256 ")[1].split(")")[0]
    assert "Redacted:  1 × email" in out
    check_cli(consented, "review", "--delete", second["id"], env=env)
    assert [s["state"] for s in review_list(consented, env)] == ["approved"]

    packages = home / "packages"
    check_cli(consented, "export", "--packages", "--out", str(packages), env=env)
    exported = (packages / f"{first['id']}.zip").read_bytes()
    assert not (packages / f"{second['id']}.zip").exists()

    # The gate, from this process, on the same buffer and keyring.
    for key in ("PYTHON_KEYRING_BACKEND", "XDG_DATA_HOME"):
        monkeypatch.setenv(key, env[key])
    buffer = Buffer(consented, create=False)
    released = release_for_upload(buffer, first["id"])
    assert released.sha256 == sha and released.data == exported
    reader = PackageReader(released.data)
    shipped = json.dumps([reader.manifest, reader.items, reader.actions])
    assert "carol" not in shipped and "[EMAIL]" in shipped
    with pytest.raises(EgressRefused, match="deleted"):
        release_for_upload(buffer, second["id"])
    activity = run_cli(consented, "activity", env=env).stdout
    assert f"upload of {second['id']} refused" in activity
