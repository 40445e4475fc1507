"""`praxis` with no command: the tray app. The recorder runs in this process on worker
threads; the control socket lets `praxis status|pause|…` and a second launch reach it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.core import control
from app.core.capture.hotkey import PauseHotkey
from app.core.errors import AlreadyRunning, NotRunning, PraxisError
from app.core.recorder import Recorder
from app.core.runtime import Runtime
from app.core.settings import Settings
from app.core.state import RecorderState
from app.ui.activity_window import ActivityWindow
from app.ui.bridge import Bridge
from app.ui.consent_dialog import ConsentDialog
from app.ui.popup_watch import PopupWatch
from app.ui.review_window import ReviewWindow
from app.ui.settings_dialog import SettingsDialog
from app.ui.status_window import StatusWindow
from app.ui.tray import TrayController, ask_with_message_box


class TrayApp(QObject):
    """Wires recorder, bridge, tray and windows; owns nothing the core could own."""

    show_requested = Signal()  # from the control socket thread: a second launch
    window_requested = Signal(str)  # from the control socket thread: `praxis review`
    stop_requested = Signal()  # from the control socket thread: `praxis` asked us to stop

    def __init__(
        self,
        recorder: Recorder,
        settings_file: Path,
        *,
        use_tray: bool | None = None,
        confirm=ask_with_message_box,
        runtime: Runtime | None = None,
    ) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.recorder = recorder
        self.runtime = runtime
        self.settings_file = settings_file
        self.bridge = Bridge(recorder)
        self.tray = TrayController(self.bridge, confirm=confirm, use_tray=use_tray)
        self.status_window: StatusWindow | None = None
        if self.tray.tray is None:
            self.status_window = StatusWindow(self.tray)
        self.windows: dict[str, QWidget] = {}
        self.tray.window_requested.connect(self.open_window)
        self.tray.quit_requested.connect(self.quit)
        self.show_requested.connect(self._on_show_requested)
        self.window_requested.connect(self.open_window)
        self.stop_requested.connect(self.quit)
        self.hotkey: PauseHotkey | None = None

    def show(self) -> None:
        if self.status_window is not None:
            self.status_window.show()

    def start_recorder(self) -> None:
        """Start in the background; ask for consent if none is on record."""

        def started(_result: object, error: BaseException | None) -> None:
            if error is not None:
                self.tray._report_failure(None, error)
            elif self.recorder.state == RecorderState.NEEDS_CONSENT:
                self.open_window("consent")

        self.bridge.run(self.recorder.start, started)

    def start_hotkey(self, settings: Settings) -> None:
        if self.hotkey is not None:
            self.hotkey.stop()
            self.hotkey = None
        try:
            self.hotkey = PauseHotkey(settings.pause_hotkey, self._on_hotkey)
            self.hotkey.start()
        except (PraxisError, ImportError, OSError) as exc:
            self.tray.notify("Shortcut not available", str(exc))

    def _on_hotkey(self) -> None:  # pynput's thread
        if self.recorder.state == RecorderState.RECORDING:
            self.recorder.pause()
        elif self.recorder.state in (RecorderState.PAUSED, RecorderState.ERROR):
            self.recorder.resume()

    # -- windows -------------------------------------------------------------------
    def open_window(self, name: str) -> None:
        if name == "consent":
            self._ask_consent()
        elif name == "scope":
            ConsentDialog(self.recorder.consent_text, self.recorder.settings, read_only=True).exec()
        elif name == "activity":
            window = self.windows.setdefault("activity", ActivityWindow(self.bridge))
            window.show()
            window.raise_()
        elif name == "review":
            window = self.windows.get("review")
            if window is None:
                window = ReviewWindow(
                    self.bridge,
                    self.recorder.buffer,
                    self.recorder.settings,
                    confirm=self.tray.confirm,
                )
                window.segment_changed.connect(lambda _id: self.bridge.refresh())
                self.windows["review"] = window
            window.show()
            window.raise_()
            window.activateWindow()
        elif name == "settings":
            dialog = SettingsDialog(self.recorder.settings, self.settings_file)
            dialog.settings_saved.connect(self._on_settings_saved)
            dialog.withdraw_requested.connect(lambda: self._withdraw(dialog))
            self.windows["settings"] = dialog
            dialog.show()

    def _ask_consent(self) -> None:
        dialog = ConsentDialog(self.recorder.consent_text, self.recorder.settings)
        self.windows["consent"] = dialog
        if dialog.exec() == ConsentDialog.DialogCode.Accepted:
            self.bridge.run(self.recorder.accept_consent, self.tray._report_failure)
        else:
            self.tray.notify(
                "Nothing is recorded",
                "You declined; Praxis records nothing. "
                "Choose \u201cGive consent to record\u2026\u201d in the menu to change that.",
            )

    def _withdraw(self, parent: QWidget) -> None:
        if self.tray.confirm(
            "Withdraw consent?",
            "Recording stops and every recording not yet uploaded is deleted. "
            "You can give consent again later.",
        ):
            self.bridge.run(self.recorder.withdraw_consent, self.tray._report_failure)
            parent.close()

    def _on_settings_saved(self, settings: Settings) -> None:
        runtime = self.runtime
        apply = runtime.apply_settings if runtime is not None else self.recorder.apply_settings
        self.bridge.run(lambda: apply(settings), self.tray._report_failure)
        review = self.windows.get("review")
        if isinstance(review, ReviewWindow):
            review.settings = settings  # auto-approval times follow the policy in force
        if self.hotkey is not None:
            self.start_hotkey(settings)

    def _on_show_requested(self) -> None:
        if self.status_window is not None:
            self.status_window.showNormal()
            self.status_window.raise_()
        else:
            self.tray.menu.popup(QCursor.pos())

    def quit(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.quit()

    def shutdown(self) -> None:
        if self.hotkey is not None:
            self.hotkey.stop()
        self.recorder.shutdown()


def _apply_login_policy(settings: Settings) -> None:
    from app.platform import autostart

    try:
        autostart.apply_policy(settings)
    except OSError as exc:
        # Recording does not depend on the login entry; say so and carry on.
        print(f"Praxis: could not set start at login as policy asks: {exc}", file=sys.stderr)


def run_tray(data_dir: Path) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Praxis")
    app.setQuitOnLastWindowClosed(False)
    popup_watch = PopupWatch(app)
    app.installEventFilter(popup_watch)
    try:
        control.send(data_dir, {"cmd": "show"}, timeout=5)
        print("Praxis is already running; showing it.", file=sys.stderr)
        return 0
    except NotRunning:
        pass
    started = time.monotonic()
    try:
        runtime = Runtime(data_dir)
        _apply_login_policy(runtime.settings)
    except (PraxisError, AlreadyRunning) as exc:
        QMessageBox.critical(None, f"Praxis: {exc.title}", exc.message)
        raise
    recorder, settings = runtime.recorder, runtime.settings
    ui = TrayApp(recorder, runtime.settings_file, runtime=runtime)
    ui.show()

    def handler(request: dict) -> object:
        if request.get("cmd") == "show":
            ui.show_requested.emit()
            return {"message": "shown"}
        if request.get("cmd") == "review":
            ui.window_requested.emit("review")
            return {"message": "review window shown"}
        return runtime.handle(request, stop=_QuitEvent(ui))

    runtime.serve(handler)
    # SIGTERM (logout, service stop) and Ctrl-C quit cleanly, so the last segment is sealed.
    # Python only sees signals between bytecodes: a light timer gives it the chance.
    runtime.install_signal_handlers(ui.stop_requested.emit)
    signal_pump = QTimer()
    signal_pump.timeout.connect(lambda: None)
    signal_pump.start(500)
    QTimer.singleShot(0, ui.start_recorder)
    QTimer.singleShot(0, lambda: ui.start_hotkey(settings))
    QTimer.singleShot(0, runtime.start_uploads)
    print(f"Praxis tray ready in {time.monotonic() - started:.2f} s", file=sys.stderr)
    try:
        return int(app.exec())
    finally:
        if ui.hotkey is not None:
            ui.hotkey.stop()
        runtime.close()


class _QuitEvent:
    """Stands in for the headless recorder's stop event: quits the Qt app from its thread."""

    def __init__(self, ui: TrayApp) -> None:
        self._ui = ui

    def set(self) -> None:
        self._ui.stop_requested.emit()
