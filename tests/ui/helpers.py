"""Helpers for the tray UI tests: a stand-in for the confirmation box, and waits that poll
the engine and the tray (never a fixed sleep)."""

from __future__ import annotations

from app.core.model import WindowInfo
from app.core.recorder import Recorder
from app.core.state import RecorderState
from app.ui.main import TrayApp
from tests.unit.fakes import ScriptedInput

TERMINAL = WindowInfo("xterm", "Terminal", 0, 0, 800, 600, handle="0x1")
WAIT_MS = 5000


class FakeConfirm:
    """Stands in for the Yes/Cancel message box: remembers what it was asked, answers `answer`."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str]] = []

    def __call__(self, title: str, text: str) -> bool:
        self.calls.append((title, text))
        return self.answer


def start(qtbot, app: TrayApp) -> None:  # noqa: ANN001
    """Start the recorder the way the app does, and wait until the tray shows its state."""
    app.start_recorder()
    qtbot.waitUntil(
        lambda: (
            app.recorder.state != RecorderState.STOPPED
            and app.tray.status.state == app.recorder.state
        ),
        timeout=WAIT_MS,
    )


def wait_state(qtbot, app: TrayApp, state: RecorderState) -> None:  # noqa: ANN001
    """Until both the engine and what the tray shows are in `state`."""
    qtbot.waitUntil(
        lambda: app.recorder.state == state and app.tray.status.state == state, timeout=WAIT_MS
    )


def keyboard(qtbot) -> ScriptedInput:  # noqa: ANN001
    qtbot.waitUntil(
        lambda: bool(ScriptedInput.instances) and ScriptedInput.instances[-1].started,
        timeout=WAIT_MS,
    )
    return ScriptedInput.instances[-1]


def stored_events(
    recorder: Recorder, types: tuple[str, ...] = ("key", "text", "mouse_button")
) -> int:
    """How many events of `types` are committed in the buffer."""
    marks = ",".join("?" for _ in types)
    with recorder.buffer.reader() as db:
        return int(
            db.execute(
                f"SELECT count(*) FROM events WHERE type IN ({marks})", list(types)
            ).fetchone()[0]
        )


def record_some_input(qtbot, recorder: Recorder) -> int:  # noqa: ANN001
    """Type a line and click once; returns how many events are stored once all of it landed."""
    kb = keyboard(qtbot)
    kb.type_text("quarterly report")
    kb.press("enter")
    kb.click(40, 60)
    # The click comes last; once both of its events are stored, everything before it is too.
    qtbot.waitUntil(lambda: stored_events(recorder, ("mouse_button",)) == 2, timeout=WAIT_MS)
    with recorder.buffer.reader() as db:
        return int(db.execute("SELECT count(*) FROM events").fetchone()[0])
