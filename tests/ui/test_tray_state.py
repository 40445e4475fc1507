"""What the tray says and which icon it picks, from the recorder's status alone (no Qt)."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.core.state import RecorderState, Status
from app.ui.tray_state import (
    MORNING_HOUR,
    TrayState,
    headline,
    minutes_text,
    seconds_until_tomorrow,
    tooltip,
    tray_state,
)

NOW = datetime(2024, 3, 12, 14, 0, 0).timestamp()


@pytest.mark.parametrize(
    ("status", "state", "text"),
    [
        (Status(RecorderState.RECORDING), TrayState.RECORDING, "Recording"),
        (
            Status(RecorderState.RECORDING, window_app="keepassxc", excluded=True),
            TrayState.EXCLUDED,
            "Not recording: keepassxc is in front",
        ),
        (
            Status(RecorderState.RECORDING, excluded=True),
            TrayState.EXCLUDED,
            "Not recording: an excluded app is in front",
        ),
        (
            Status(RecorderState.PAUSED, "paused for 15 min", paused_until=NOW + 15 * 60),
            TrayState.PAUSED,
            "Paused, resumes at 14:15 (15 min left)",
        ),
        (
            Status(RecorderState.PAUSED, "paused for 1 h", paused_until=NOW + 90 * 60),
            TrayState.PAUSED,
            "Paused, resumes at 15:30 (1 h 30 min left)",
        ),
        (
            Status(RecorderState.PAUSED, "paused until resumed"),
            TrayState.PAUSED,
            "Paused until you resume",
        ),
        (
            Status(RecorderState.PAUSED, "paused: the disk budget of 16 MB is reached"),
            TrayState.PAUSED,
            "Paused: the disk budget is reached",
        ),
        (
            Status(RecorderState.ERROR, "OSError: disk full"),
            TrayState.ERROR,
            "Not recording: stopped by an error",
        ),
        (
            Status(RecorderState.STOPPED, "recorder stopped"),
            TrayState.NEEDS_CONSENT,
            "Not recording",
        ),
        (
            Status(RecorderState.NEEDS_CONSENT, "consent has not been given yet"),
            TrayState.NEEDS_CONSENT,
            "Not recording: consent needed",
        ),
    ],
)
def test_headline_and_icon_for_each_state(status: Status, state: TrayState, text: str) -> None:
    assert tray_state(status) == state
    assert headline(status, NOW) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-30, "less than a minute"),
        (0, "less than a minute"),
        (29, "less than a minute"),
        (60, "1 min"),
        (59 * 60, "59 min"),
        (60 * 60, "1 h"),
        (61 * 60, "1 h 1 min"),
        (90 * 60, "1 h 30 min"),
        (18 * 3600, "18 h"),
    ],
)
def test_minutes_text(seconds: float, text: str) -> None:
    assert minutes_text(seconds) == text


@pytest.mark.parametrize(
    ("now", "hours"),
    [
        (datetime(2024, 3, 12, 22, 0), 10),  # evening: tomorrow morning
        (datetime(2024, 3, 12, 9, 30), 22.5),
        (datetime(2024, 3, 12, 7, 0), 25),  # before 8:00 "tomorrow" still means the next day
        (datetime(2024, 12, 31, 18, 0), 14),  # across the year's end
        (datetime(2024, 2, 28, 23, 0), 9),  # into a leap day
    ],
)
def test_seconds_until_tomorrow(now: datetime, hours: float) -> None:
    assert seconds_until_tomorrow(now) == hours * 3600
    assert (now.hour + now.minute / 60 + hours) % 24 == MORNING_HOUR


def test_tooltip_lists_session_and_waiting_data() -> None:
    status = Status(
        RecorderState.RECORDING,
        session_id="ses_1",
        session_started=NOW - 25 * 60,
        counters={"pending_segments": 3, "pending_events": 120, "pending_frames": 14},
    )
    assert tooltip(status, NOW).splitlines() == [
        "Praxis: Recording",
        "Session: 25 min",
        "Waiting to upload: 3 segments (120 events, 14 screenshots)",
    ]


def test_tooltip_gives_the_error_and_no_session_line_when_stopped() -> None:
    status = Status(RecorderState.ERROR, "the disk is full", session_started=NOW - 60)
    assert tooltip(status, NOW).splitlines() == [
        "Praxis: Not recording: stopped by an error",
        "the disk is full",
    ]


def test_tooltip_says_consent_is_needed_and_nothing_waits() -> None:
    status = Status(RecorderState.NEEDS_CONSENT, counters={"pending_segments": 0})
    assert tooltip(status, NOW) == "Praxis: Not recording: consent needed"


def _upload(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "state": "idle",
        "approved": 0,
        "uploading": 0,
        "percent": None,
        "collector_text": "uploads go to this computer (no collector configured)",
        "waiting_reason": None,
        "last_error": None,
        "erasures_pending": 0,
    }
    return {**base, **fields}


def test_uploading_shows_its_percent_when_nothing_is_recorded() -> None:
    upload = _upload(state="uploading", uploading=2, percent=42.4)
    stopped = Status(RecorderState.STOPPED, counters={"upload": upload})
    assert tray_state(stopped) == TrayState.UPLOADING
    assert headline(stopped, NOW) == "Not recording; uploading (42%)"
    text = tooltip(stopped, NOW)
    assert "Uploading: 42% (2 segments left)" in text
    assert "Uploads go to this computer (no collector configured)" in text
    # Recording stays what the icon says while an upload runs.
    recording = Status(RecorderState.RECORDING, counters={"upload": upload})
    assert tray_state(recording) == TrayState.RECORDING
    assert "Uploading: 42%" in tooltip(recording, NOW)


def test_a_refused_token_is_shown_with_what_to_do() -> None:
    message = "this device's token was revoked or is missing; ask IT to enroll it again"
    upload = _upload(state="stopped", approved=1, last_error=message, waiting_reason=message)
    text = tooltip(Status(RecorderState.RECORDING, counters={"upload": upload}), NOW)
    assert "Uploads stopped" in text
    assert f"Last upload error: {message}" in text
    assert text.count("ask IT to enroll it again") == 1
