"""The tray app on a machine with no display says so and points to headless recording,
before Qt can abort the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.platform.display import display_problem

ROOT = Path(__file__).resolve().parents[2]


def _tray(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**base, **env},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "said"),
    [({}, "DISPLAY and WAYLAND_DISPLAY are not set"), ({"DISPLAY": ":87"}, "cannot be reached")],
    ids=["unset", "unreachable"],
)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and Wayland only")
def test_the_tray_without_a_display_says_what_to_do(
    data_dir: Path, env: dict[str, str], said: str
) -> None:
    result = _tray(data_dir, **env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("praxis: No usable display: ") and said in lines[0]
    assert "praxis record --headless" in lines[0]


def test_a_chosen_qt_platform_or_another_os_needs_no_display() -> None:
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "win32") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and Wayland only")
def test_the_review_window_without_a_display_points_to_the_terminal_review(
    data_dir: Path,
) -> None:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "review", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=base,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("praxis: No usable display: ")
    assert "praxis review --list" in result.stderr
