"""The wheel carries the resources inside the package, and an installed copy finds them there
and nowhere else (the checkout is not on the path of the installed copy)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import app

pytestmark = pytest.mark.timeout(900)

REPO = Path(app.__file__).resolve().parent.parent


def _build_wheel(out: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
        + ["--wheel-dir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("praxis_recorder-*.whl")
    return wheel


def test_an_installed_wheel_reads_its_own_resources(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "wheels")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "app/resources/consent.md" in names
    assert "app/resources/icons/recording-light.svg" in names
    assert "app/resources/icons/png/paused-dark-22.png" in names
    assert not any(n.startswith(("tests/", "bench/", "resources/")) for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
        + [str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "import app, app.core.resources as r, app.core.consent as c;"
        "print(app.__file__); print(r.resources_dir()); print(c.load_consent_text().version)"
    )
    # Run from an empty folder with only the installed copy first on the path: the checkout's
    # own resources/ must not be what it finds.
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert out[0] == str(target / "app" / "__init__.py")
    assert out[1] == str(target / "app" / "resources")
    assert int(out[2]) >= 1
