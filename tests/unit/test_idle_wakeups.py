"""An idle recorder sleeps: with nobody at the keyboard its capture thread wakes only for what
is due (the window check), never in a polling loop."""

from __future__ import annotations

import queue
import time
from pathlib import Path

from app.core.model import RawInput, WindowInfo
from app.core.recorder import Recorder
from app.core.settings import Settings
from app.core.state import RecorderState
from tests.unit.fakes import FixedWindow, ScriptedInput


class CountedQueue(queue.Queue[RawInput]):
    """The input queue, counting how often the capture thread waited on it."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.waits = 0

    def get(self, block: bool = True, timeout: float | None = None) -> RawInput:
        if block:
            self.waits += 1
        return super().get(block, timeout)


class CountedInput(ScriptedInput):
    def __init__(self) -> None:
        super().__init__()
        self.events = CountedQueue(self.events.maxsize)


def test_an_idle_recorder_wakes_only_for_the_window_check(data_dir: Path) -> None:
    # No screen: the interval frame that input makes due can never be taken.
    settings = Settings(capture_screen=False, idle_frame_interval_s=1.0, window_poll_s=0.5)
    window = WindowInfo("xterm", "Terminal", 0, 0, 800, 600, handle="0x1")
    recorder = Recorder(
        data_dir, settings, platform_factory=lambda: FixedWindow(window), input_factory=CountedInput
    )
    try:
        recorder.start()
        recorder.accept_consent()
        assert recorder.state == RecorderState.RECORDING
        keyboard = CountedInput.instances[-1]
        assert isinstance(keyboard, CountedInput)
        keyboard.type_text("hi")
        time.sleep(1.5)  # the interval has passed without a frame
        events = keyboard.events
        assert isinstance(events, CountedQueue)
        before = events.waits
        time.sleep(2.0)
        # Two window checks a second, and a little slack for a slow machine.
        assert events.waits - before <= 8, f"{events.waits - before} wake-ups in 2 s of idle"
    finally:
        recorder.shutdown()
