"""Fixtures for end-to-end tests against a real X server (Xvfb), driven by xdotool."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
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
    """The shared X server. Windows a test opens are closed when it ends (the focus falls back
    to the root window), so no test types into another test's window."""
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
def settings_toml() -> str:
    """The user's settings.toml for recorders started with `consented`. By default on-screen
    text OCR is off: it costs seconds of CPU per recorder (model load, full-screen read) and
    covers text in frames, while most tests here check input capture and control. Tests of
    the product as shipped override this fixture with "" (all defaults)."""
    return "redact_screen_text = false\n"


@pytest.fixture
def consented(data_dir: Path, env: dict[str, str], settings_toml: str) -> Path:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if settings_toml:
        (data_dir / "settings.toml").write_text(settings_toml, encoding="utf-8")
    check_cli(data_dir, "consent", "--accept", env=env)
    return data_dir


@pytest.fixture
def recorder_factory(home: Path, env: dict[str, str]) -> Iterator[Callable[..., RecorderProcess]]:
    """Makes recorder processes; every one of them is killed at teardown, whatever happened."""
    started: list[RecorderProcess] = []

    def make(data_dir: Path, env_: dict[str, str] | None = None) -> RecorderProcess:
        rec = RecorderProcess(data_dir, env_ or env, home / f"recorder-{len(started)}.log")
        started.append(rec)
        return rec

    yield make
    for rec in started:
        rec.kill()


@pytest.fixture
def recorder(
    consented: Path, recorder_factory: Callable[..., RecorderProcess]
) -> Iterator[RecorderProcess]:
    """A running `record --headless` with consent given. Tests stop it themselves to check
    the exit; otherwise it gets SIGINT at teardown, and SIGKILL if that does not work."""
    rec = recorder_factory(consented).start()
    yield rec
    if rec.running:
        try:
            rec.stop(timeout=15)
        finally:
            rec.kill()
