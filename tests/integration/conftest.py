"""Fixtures for end-to-end tests against a real X server (Xvfb), driven by xdotool."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS_DIR = str(Path(__file__).resolve().parents[1])
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from support.xsession import (  # noqa: E402
    RecorderProcess,
    XServer,
    check_cli,
    praxis_env,
    require_tools,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.x11)


@pytest.fixture(scope="session")
def xserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XServer]:
    """One Xvfb for the whole run (1920x1080, no TCP). Missing tools fail, never skip."""
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
    """The shared X server; windows a test opens are closed when it ends, and the focus goes
    back to the root window so no test types into another test's window."""
    yield xserver
    for window in list(xserver.windows):
        xserver.close(window)
    xserver.xdotool("mousemove", "0", "0")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Per-test private home: data folder, keyring file, XDG folders and logs live here."""
    return tmp_path


@pytest.fixture
def data_dir(home: Path) -> Path:
    return home / "data"


@pytest.fixture
def env(xserver: XServer, home: Path) -> dict[str, str]:
    return praxis_env(xserver.display, home)


@pytest.fixture
def consented(data_dir: Path, env: dict[str, str]) -> Path:
    check_cli(data_dir, "consent", "--accept", env=env)
    return data_dir


@pytest.fixture
def recorder_factory(home: Path, env: dict[str, str]) -> Iterator[type[RecorderProcess]]:
    """Makes recorder processes; every one of them is killed at teardown, whatever happened."""
    started: list[RecorderProcess] = []

    def make(data_dir: Path, env_: dict[str, str] | None = None) -> RecorderProcess:
        rec = RecorderProcess(data_dir, env_ or env, home / f"recorder-{len(started)}.log")
        started.append(rec)
        return rec

    yield make  # type: ignore[misc]
    for rec in started:
        rec.kill()


@pytest.fixture
def recorder(consented: Path, recorder_factory) -> Iterator[RecorderProcess]:  # noqa: ANN001
    """A running `record --headless` with consent given. Tests stop it themselves to check
    the exit; otherwise it gets SIGINT at teardown, and SIGKILL if that does not work."""
    rec = recorder_factory(consented).start()
    yield rec
    if rec.running:
        try:
            rec.stop(timeout=15)
        finally:
            rec.kill()
