"""What the tray shows, derived from the recorder's one status value. No Qt here, so the
wording and the choice of icon are tested like any other logic."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from app.core.state import RecorderState, Status

MORNING_HOUR = 8  # "until tomorrow" resumes at this local hour


class TrayState(str, Enum):
    NEEDS_CONSENT = "needs_consent"
    RECORDING = "recording"
    PAUSED = "paused"
    EXCLUDED = "excluded"
    UPLOADING = "uploading"
    ERROR = "error"


def tray_state(status: Status) -> TrayState:
    """Recording, paused and errors of the recorder come first: they say what is captured.
    Uploading shows when nothing is being recorded."""
    if status.state == RecorderState.RECORDING:
        return TrayState.EXCLUDED if status.excluded else TrayState.RECORDING
    if status.state == RecorderState.PAUSED:
        return TrayState.PAUSED
    if status.state == RecorderState.ERROR:
        return TrayState.ERROR
    if (status.counters.get("upload") or {}).get("state") == "uploading":
        return TrayState.UPLOADING
    return TrayState.NEEDS_CONSENT


def upload_lines(status: Status) -> list[str]:
    """Where uploads go and how they stand: percent while sending, the last error if any."""
    upload = status.counters.get("upload") or {}
    if not upload:
        return []
    lines = []
    left = int(upload.get("approved", 0)) + int(upload.get("uploading", 0))
    if upload.get("state") == "uploading" and upload.get("percent") is not None:
        lines.append(
            f"Uploading: {upload['percent']:.0f}% ({left} segment{'s' if left != 1 else ''} left)"
        )
    elif upload.get("state") == "stopped":
        lines.append("Uploads stopped")
    elif left:
        lines.append(f"Approved, not sent yet: {left} segment{'s' if left != 1 else ''}")
    if upload.get("collector_text"):
        text = str(upload["collector_text"])
        lines.append(text[0].upper() + text[1:])
    reason = upload.get("waiting_reason")
    if reason and reason != upload.get("collector_text") and reason != upload.get("last_error"):
        lines.append(str(reason)[0].upper() + str(reason)[1:])
    if upload.get("last_error"):
        lines.append(f"Last upload error: {upload['last_error']}")
    if upload.get("erasures_pending"):
        lines.append(f"Erasures waiting for the collector: {upload['erasures_pending']}")
    return lines


def minutes_text(seconds: float) -> str:
    minutes = max(0, int(round(seconds / 60)))
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def headline(status: Status, now: float) -> str:
    state = tray_state(status)
    if state == TrayState.RECORDING:
        return "Recording"
    if state == TrayState.EXCLUDED:
        return f"Not recording: {status.window_app or 'an excluded app'} is in front"
    if state == TrayState.PAUSED:
        if status.paused_until:
            resume_at = datetime.fromtimestamp(status.paused_until).strftime("%H:%M")
            return (
                f"Paused, resumes at {resume_at} ({minutes_text(status.paused_until - now)} left)"
            )
        if "budget" in status.reason:
            return "Paused: the disk budget is reached"
        return "Paused until you resume"
    if state == TrayState.ERROR:
        return "Not recording: stopped by an error"
    if state == TrayState.UPLOADING:
        percent = (status.counters.get("upload") or {}).get("percent")
        return "Not recording; uploading" + (f" ({percent:.0f}%)" if percent is not None else "")
    if status.state == RecorderState.STOPPED:
        return "Not recording"
    return "Not recording: consent needed"


def tooltip(status: Status, now: float) -> str:
    lines = [f"Praxis: {headline(status, now)}"]
    if status.state == RecorderState.ERROR and status.reason:
        lines.append(status.reason)
    if status.session_started and status.state in (RecorderState.RECORDING, RecorderState.PAUSED):
        lines.append(f"Session: {minutes_text(now - status.session_started)}")
    counters = status.counters
    if counters.get("review_pending"):
        lines.append(review_line(status, now))
    if counters.get("pending_segments"):
        lines.append(
            f"Waiting to upload: {counters['pending_segments']} segments "
            f"({counters['pending_events']} events, {counters['pending_frames']} screenshots)"
        )
    lines.extend(upload_lines(status))
    return "\n".join(lines)


def _clock(ts: float, now: float) -> str:
    moment = datetime.fromtimestamp(ts)
    if moment.date() == datetime.fromtimestamp(now).date():
        return moment.strftime("%H:%M")
    return moment.strftime("%a %d %b %H:%M")


def review_line(status: Status, now: float) -> str:
    """How many segments wait for the person, and when the next approves itself (if the
    policy says segments do)."""
    count = int(status.counters.get("review_pending") or 0)
    line = f"Waiting for your review: {count} segment{'s' if count != 1 else ''}"
    auto = status.counters.get("next_auto_approval")
    if count and auto:
        line += f" (the oldest is approved automatically at {_clock(auto, now)})"
    return line


def review_item_text(status: Status) -> str:
    count = int(status.counters.get("review_pending") or 0)
    return f"Review pending uploads ({count})…" if count else "Review pending uploads…"


def seconds_until_tomorrow(now: datetime) -> float:
    """Seconds from `now` (local) until tomorrow morning."""
    tomorrow = (now + timedelta(days=1)).replace(
        hour=MORNING_HOUR, minute=0, second=0, microsecond=0
    )
    return (tomorrow - now).total_seconds()
