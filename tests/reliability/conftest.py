"""Fixtures for the reliability tests: a real X server for the tests that record, and a
per-test private home (data folder, keyring file, logs)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS_DIR = str(Path(__file__).resolve().parents[1])
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from support.xsession import XServer, praxis_env, require_tools  # noqa: E402


@pytest.fixture(scope="module")
def xserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XServer]:
    """One Xvfb per module (1920x1080, no TCP). Missing tools fail, never skip."""
    try:
        require_tools("Xvfb", "xdotool", "xterm")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    server = XServer.start(tmp_path_factory.mktemp("xvfb"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def x(xserver: XServer) -> Iterator[XServer]:
    """The X server; windows a test opens are closed when it ends."""
    yield xserver
    for window in list(xserver.windows):
        xserver.close(window)
    xserver.xdotool("mousemove", "0", "0")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def env(xserver: XServer, home: Path) -> dict[str, str]:
    return praxis_env(xserver.display, home)
