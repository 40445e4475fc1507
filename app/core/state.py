"""The recorder's state: one value that every view (CLI, tray) derives from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class RecorderState(str, Enum):
    NEEDS_CONSENT = "needs_consent"
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPED = "stopped"
    ERROR = "error"


# Which transitions the recorder may make; anything else is a bug and raises.
ALLOWED: dict[RecorderState, frozenset[RecorderState]] = {
    RecorderState.NEEDS_CONSENT: frozenset({RecorderState.RECORDING, RecorderState.STOPPED}),
    RecorderState.RECORDING: frozenset(
        {
            RecorderState.PAUSED,
            RecorderState.STOPPED,
            RecorderState.ERROR,
            RecorderState.NEEDS_CONSENT,
        }
    ),
    RecorderState.PAUSED: frozenset(
        {
            RecorderState.RECORDING,
            RecorderState.STOPPED,
            RecorderState.ERROR,
            RecorderState.NEEDS_CONSENT,
        }
    ),
    RecorderState.ERROR: frozenset(
        {
            RecorderState.RECORDING,
            RecorderState.PAUSED,
            RecorderState.STOPPED,
            RecorderState.NEEDS_CONSENT,
        }
    ),
    RecorderState.STOPPED: frozenset({RecorderState.RECORDING, RecorderState.NEEDS_CONSENT}),
}


class InvalidTransition(RuntimeError):
    pass


@dataclass(frozen=True)
class Status:
    state: RecorderState
    reason: str = ""  # why paused / stopped / in error, in words for the person
    paused_until: float | None = None  # wall clock; None while paused means until resumed
    session_id: str | None = None
    window_app: str | None = None
    session_started: float | None = None  # wall clock
    excluded: bool = False  # an excluded app is in front: nothing is being captured
    counters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "reason": self.reason,
            "paused_until": self.paused_until,
            "session_id": self.session_id,
            "window_app": self.window_app,
            "session_started": self.session_started,
            "excluded": self.excluded,
            **self.counters,
        }


def check_transition(current: RecorderState, target: RecorderState) -> None:
    if target != current and target not in ALLOWED[current]:
        raise InvalidTransition(f"cannot go from {current.value} to {target.value}")
