"""Screenshots of the tray app for the docs, taken on a throwaway X desktop with a tray.

    python -m tests.ui.make_screenshots [--out docs/screenshots]

Starts Xvfb and trayer, runs the real widgets (Qt's xcb platform) around a real Recorder that
records scripted input instead of this machine's, right-clicks the tray icon with xdotool,
and saves cropped PNGs: the tray menu, the consent dialog, the settings dialog (one setting
locked by policy), the activity log and the window shown where there is no tray.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.ui.xdesktop import Desktop, Rect, text_rows  # noqa: E402

MARGIN = 12  # around a window, in pixels
DESKTOP_COLOR = (0x4A, 0x5D, 0x6E)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="praxis-shots-") as tmp:
        desktop = Desktop.start(Path(tmp) / "x")
        desktop.set_background(DESKTOP_COLOR)
        try:
            for path in take(desktop, Path(tmp), args.out):
                print(path)
        finally:
            desktop.stop()
    return 0


def take(desktop: Desktop, tmp: Path, out: Path) -> list[Path]:
    os.environ.update(
        DISPLAY=desktop.display,
        QT_QPA_PLATFORM="xcb",
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        XDG_DATA_HOME=str(tmp / "xdg-data"),
        XDG_CONFIG_HOME=str(tmp / "xdg-config"),
        PRAXIS_POLICY_FILE=str(tmp / "empty-policy.toml"),
    )
    (tmp / "empty-policy.toml").write_text("")
    os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)  # the XEmbed tray, as trayer offers

    from PySide6.QtWidgets import QApplication

    from app.core.consent import load_consent_text
    from app.core.recorder import Recorder
    from app.core.settings import Settings
    from app.core.state import RecorderState
    from app.ui.consent_dialog import ConsentDialog
    from app.ui.main import TrayApp
    from app.ui.status_window import StatusWindow
    from tests.ui.helpers import TERMINAL, FakeConfirm
    from tests.unit.fakes import FixedWindow, ScriptedInput

    qt = QApplication.instance() or QApplication([sys.argv[0]])
    qt.setApplicationName("Praxis")
    qt.setQuitOnLastWindowClosed(False)

    def pump_until(condition: Callable[[], object], timeout: float, what: str) -> object:
        deadline = time.monotonic() + timeout
        while True:
            qt.processEvents()
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.02)

    def settled(rect: Rect, quiet: float = 0.3) -> None:
        """Until what is drawn in `rect` stops changing (first paints, fades)."""
        last, since = None, time.monotonic()

        def still() -> bool:
            nonlocal last, since
            shot = desktop.screenshot(rect).tobytes()
            if shot != last:
                last, since = shot, time.monotonic()
            return time.monotonic() - since >= quiet

        pump_until(still, 10, "the screen to settle")

    def save(name: str, rect: Rect) -> Path:
        settled(rect)
        path = out / f"{name}.png"
        desktop.screenshot(rect).save(path, optimize=True)
        return path

    def window_rect(widget) -> Rect:  # noqa: ANN001
        geo = widget.frameGeometry()
        return Rect(
            geo.x() - MARGIN, geo.y() - MARGIN, geo.width() + 2 * MARGIN, geo.height() + 2 * MARGIN
        )

    # Policy has turned screenshots off on this computer: the one locked setting.
    settings = Settings(
        capture_screen=False, excluded_apps=("keepassxc",), locked=frozenset({"capture_screen"})
    )
    recorder = Recorder(
        tmp / "data",
        settings,
        platform_factory=lambda: FixedWindow(TERMINAL),
        input_factory=ScriptedInput,
    )
    recorder.accept_consent()
    ui = TrayApp(recorder, tmp / "data" / "settings.toml", use_tray=True, confirm=FakeConfirm())
    assert ui.tray.tray is not None, "no system tray: is trayer running?"
    saved: list[Path] = []
    try:
        ui.start_recorder()
        pump_until(lambda: ui.tray.status.state == RecorderState.RECORDING, 10, "recording")

        # Some history for the activity log: typing, a pause, a resume, a deletion.
        keyboard = pump_until(
            lambda: ScriptedInput.instances and ScriptedInput.instances[-1], 10, "input"
        )
        keyboard.type_text("quarterly report")
        keyboard.press("enter")
        keyboard.click(40, 60)
        recorder.flush_to_disk()
        recorder.pause(15 * 60)
        recorder.resume()
        recorder.delete_last(5 * 60)
        pump_until(lambda: ui.tray.status.state == RecorderState.RECORDING, 10, "recording")

        # The tray menu, opened by a right-click on the icon, with "Pause" open.
        icon = pump_until(desktop.tray_icon, 10, "the tray icon")
        desktop.click(*icon.center, button=3)
        menu = pump_until(lambda: desktop.popups(), 10, "the menu")[0]
        settled(menu)
        rows = text_rows(desktop.screenshot(menu))
        desktop.move(menu.x + 40, menu.y + sum(rows[1]) // 2)
        pump_until(lambda: len(desktop.popups()) == 2, 10, "the Pause submenu")
        popups = desktop.popups()
        left = min(r.x for r in [*popups, icon]) - 24
        top = min(r.y for r in [*popups, icon]) - 24
        saved.append(save("tray-menu", Rect(left, top, 1920 - left, 1080 - top)))
        ui.tray.menu.hide()
        pump_until(lambda: not desktop.popups(), 10, "the menu to close")

        consent = ConsentDialog(load_consent_text(), settings)
        consent.move(60, 40)
        consent.show()
        pump_until(consent.isVisible, 10, "the consent dialog")
        saved.append(save("consent-dialog", window_rect(consent)))
        consent.hide()

        ui.open_window("settings")
        dialog = ui.windows["settings"]
        dialog.move(60, 40)
        pump_until(dialog.isVisible, 10, "the settings dialog")
        saved.append(save("settings-dialog", window_rect(dialog)))
        dialog.close()

        ui.open_window("activity")
        activity = ui.windows["activity"]
        activity.move(60, 40)
        pump_until(lambda: activity.table.rowCount() >= 5, 10, "the activity rows")
        saved.append(save("activity-window", window_rect(activity)))
        activity.close()

        status = StatusWindow(ui.tray)
        status.move(60, 40)
        status.show()
        recorder.pause(1)  # a short pause, so the window shows the notice of its end
        pump_until(status.notice.isVisible, 10, "the notice in the status window")
        pump_until(lambda: ui.tray.status.state == RecorderState.RECORDING, 10, "recording")
        saved.append(save("status-window", window_rect(status)))
        status.hide()
    finally:
        recorder.shutdown()
    return saved


if __name__ == "__main__":
    sys.exit(main())
