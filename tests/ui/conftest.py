"""Fixtures for the tray UI: a real Recorder on fake input and a fake window, driven through
the real Qt widgets (offscreen). Nothing here needs a display."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.core.recorder import Recorder
from app.core.settings import Settings
from app.ui.main import TrayApp
from tests.ui.helpers import TERMINAL, FakeConfirm
from tests.unit.fakes import FixedWindow, ScriptedInput


@pytest.fixture
def confirm() -> FakeConfirm:
    return FakeConfirm()


@pytest.fixture
def make_recorder(data_dir: Path) -> Iterator[Callable[..., Recorder]]:
    """Builds recorders that capture from ScriptedInput; every one is shut down at teardown."""
    made: list[Recorder] = []
    ScriptedInput.instances.clear()

    def make(*, consent: bool = False, **overrides: object) -> Recorder:
        overrides.setdefault("capture_screen", False)
        settings = Settings(**overrides)  # type: ignore[arg-type]
        recorder = Recorder(
            data_dir,
            settings,
            platform_factory=lambda: FixedWindow(TERMINAL),
            input_factory=ScriptedInput,
        )
        if consent:
            recorder.accept_consent()
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.shutdown()
    ScriptedInput.instances.clear()


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "settings.toml"


@pytest.fixture
def make_app(
    qtbot, settings_file: Path, confirm: FakeConfirm
) -> Iterator[Callable[[Recorder], TrayApp]]:  # noqa: ANN001
    """Builds the tray app around a recorder, without a system tray (as on a bare desktop)."""
    apps: list[TrayApp] = []

    def make(recorder: Recorder, *, use_tray: bool = False) -> TrayApp:
        app = TrayApp(recorder, settings_file, use_tray=use_tray, confirm=confirm)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.tray._ticker.stop()
        app.tray.menu.close()
        for window in app.windows.values():
            window.close()
        if app.status_window is not None:
            app.status_window.hide()
    QApplication.processEvents()
