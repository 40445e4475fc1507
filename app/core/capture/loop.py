"""The capture thread: turns raw input, window changes and screenshots into staged events.

One thread owns the order of a segment: it gives every event and frame its sequence number,
holds typed text until it is scrubbed, decides when a screenshot is due, and rotates
segments. Slow work (frame redaction and encoding, SQLite) happens on other threads.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.core.capture.bounds import bounded, scrub_title, well_formed
from app.core.capture.input import InputCapture
from app.core.capture.own_popups import own_popups
from app.core.capture.screen import ScreenGrabber
from app.core.model import EventRecord, RawInput, WindowInfo, new_id
from app.core.redact.scope import ScopeRules
from app.core.redact.text import TextScrubber, looks_like_sign_in
from app.core.redact.typing import Staged, TypingRuns
from app.core.settings import Settings
from app.platform.base import Platform

# How long staged events may wait before they go to the writer. Together with the writer's
# batch window this is what a crash can lose (bench/crash_loss.py measures it); the flush
# only runs while input is flowing, so an idle recorder pays nothing for a short one.
FLUSH_INTERVAL_S = 0.05

# Put into the input queue to wake the capture loop (on stop); carries no input.
WAKE: Any = RawInput("wake", 0.0, 0.0)

CLICK = "mouse_down"  # the trigger of a frame taken at a click
# A click always takes a screenshot of its own moment (`min_frame_gap_s` spaces the others),
# unless another click took one less than this before: then it shows the screen grabbed last,
# a few milliseconds old, without grabbing again. A person's fastest clicks (a double click)
# come 100 ms or more apart; an auto-clicker cannot make more than 1 / CLICK_FRAME_GAP_S
# screenshots a second to redact and encode.
CLICK_FRAME_GAP_S = 0.05


@dataclass(eq=False)  # compared by identity: the frame thread finds a job in its backlog
class FrameJob:
    segment_id: str
    seq: int
    t: float
    wall: float
    trigger: str
    lag_ms: float
    # Screenshot or RGB np.ndarray, unredacted: memory only until redacted. None (clicks
    # only): the screen is what the last grab saw (byte for byte, or grabbed for a click
    # less than CLICK_FRAME_GAP_S before); `lag_ms` is then negative if that grab came first.
    pixels: Any
    window: WindowInfo | None
    windows: list[WindowInfo] | None  # every visible window at grab time, bottom to top
    origin: tuple[int, int] = (0, 0)  # screen coordinates of the frame's top-left pixel


@dataclass
class SegmentOpened:
    segment_id: str
    started_at: float
    screen: list[dict[str, int]]


@dataclass
class SegmentClosed:
    segment_id: str
    ended_at: float
    reason: str
    dropped_events: int
    redaction: dict[str, int] = field(default_factory=dict)


class Sink(Protocol):
    """Where the capture thread sends its output (implemented by the recorder)."""

    def segment_opened(self, opened: SegmentOpened) -> None: ...
    def events(self, records: list[EventRecord]) -> None: ...
    def frame(self, job: FrameJob) -> bool: ...  # False: dropped, the backlog is full
    def segment_closed(self, closed: SegmentClosed) -> None: ...
    def window_changed(self, window: WindowInfo | None, excluded: bool) -> None: ...


def is_own_window(window: WindowInfo | None) -> bool:
    return window is not None and window.pid == os.getpid()


class _Segment:
    def __init__(self, started_mono: float) -> None:
        self.id = new_id("seg")
        self.started_mono = started_mono
        self.seq = 0
        self.counts: Counter[str] = Counter()
        self.dropped_events = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq - 1


class CaptureLoop:
    """Start with `start()`, stop with `stop()`; a stopped loop has sealed its segment."""

    def __init__(
        self,
        settings: Settings,
        platform_factory: Callable[[], Platform],
        sink: Sink,
        on_error: Callable[[BaseException], None],
        input_factory: Callable[[], InputCapture] | None = None,
    ) -> None:
        self.settings = settings
        self._platform_factory = platform_factory
        self._input_factory = input_factory or (
            lambda: InputCapture(keys=settings.capture_keys, mouse=settings.capture_mouse)
        )
        self._sink = sink
        self._on_error = on_error
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._startup_error: BaseException | None = None
        self._stop_reason = "stopped"
        self._capture: InputCapture | None = None
        self.window: WindowInfo | None = None
        self.scope = ScopeRules(settings)
        self.scrubber = TextScrubber.from_settings(settings)

    # -- lifecycle -----------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        """Start capturing; raises what prevented capture from starting."""
        self._thread = threading.Thread(target=self._main, name="praxis-capture", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)
        if self._startup_error is not None:
            raise self._startup_error

    @property
    def input_backlog(self) -> int:
        """Input events taken from the keyboard and mouse and not yet handled."""
        return 0 if self._capture is None else self._capture.events.qsize()

    def stop(self, reason: str = "stopped", timeout: float = 5.0) -> None:
        self._stop_reason = reason
        self._stop.set()
        if self._capture is not None:
            with contextlib.suppress(queue.Full):
                self._capture.events.put_nowait(WAKE)  # the loop may be asleep until a deadline
        if self._thread is not None:
            self._thread.join(timeout)

    def excluded(self) -> bool:
        """Whether the window in front is out of scope (nothing is captured meanwhile).
        Praxis's own windows (review, settings, consent) are: working Praxis is not the
        person's work, and its review window shows recorded frames again."""
        return self.scope.denied(self.window) or is_own_window(self.window)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _main(self) -> None:
        platform = grabber = capture = None
        try:
            platform = self._platform_factory()
            platform.check_capture_supported()
            grabber = ScreenGrabber() if self.settings.capture_screen else None
            capture = self._input_factory()
            self._capture = capture
            capture.start()
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            for closer in (
                capture and capture.stop,
                grabber and grabber.close,
                platform and platform.close,
            ):
                if closer:
                    closer()
            return
        self._ready.set()
        try:
            _Run(self, platform, grabber, capture).loop()
        except BaseException as exc:  # a capture fault stops capture and is reported
            self._on_error(exc)
        finally:
            capture.stop()
            if grabber:
                grabber.close()
            platform.close()


class _Run:
    """State of one capture run (from start to stop), kept off the public object."""

    def __init__(
        self,
        owner: CaptureLoop,
        platform: Platform,
        grabber: ScreenGrabber | None,
        capture: InputCapture,
    ) -> None:
        self.o = owner
        self.s = owner.settings
        self.platform = platform
        self.grabber = grabber
        self.capture = capture
        self.segment: _Segment | None = None
        self.typing: TypingRuns | None = None
        self.pending: list[EventRecord] = []
        self.pending_move: RawInput | None = None
        self.last_move_emit = 0.0
        self.last_frame = -1e9
        self.last_click_frame = -1e9
        self.last_key = 0.0
        # Interval frames are taken only while someone is there: after input since the last
        # frame. A screen that changes by itself while nobody acts (a clock, `top`, a chat
        # popping up while the person is away) demonstrates nothing and may show what was
        # never theirs to share; the next action takes a frame anyway.
        self.acted_since_frame = True
        self.typing_frame_due = False
        self.next_window_poll = 0.0
        self.last_flush = time.monotonic()
        self.dropped_seen = 0
        self.own_presses: set[str | None] = set()  # buttons pressed on a Praxis window

    # -- segments ------------------------------------------------------------------
    def open_segment(self) -> None:
        now = time.monotonic()
        self.segment = _Segment(now)
        self.typing = TypingRuns(self.segment.next_seq, self.segment.counts, self.o.scrubber.scrub)
        screen = self.grabber.monitors if self.grabber else []
        self.o._sink.segment_opened(SegmentOpened(self.segment.id, time.time(), screen))
        if self.grabber:
            self.grabber.forget()
        if self.o.window is not None:
            self.emit_window(self.o.window, now)
        self.request_frame("segment_start", now, time.time(), force=True)

    def close_segment(self, reason: str) -> None:
        assert self.segment is not None and self.typing is not None
        self.flush_move()
        self.stage(self.typing.flush(time.monotonic()))
        self.flush_events()
        seg = self.segment
        self.o._sink.segment_closed(
            SegmentClosed(seg.id, time.time(), reason, seg.dropped_events, dict(seg.counts))
        )
        self.segment = None

    # -- emitting ------------------------------------------------------------------
    def stage(self, staged: list[Staged]) -> None:
        seg = self.segment
        assert seg is not None
        for s in staged:
            self.pending.append(
                EventRecord(
                    seg.id, s.seq, max(0.0, s.mono - seg.started_mono), s.wall, s.type, s.data
                )
            )

    def emit(self, type_: str, mono: float, wall: float, data: dict[str, Any]) -> None:
        assert self.segment is not None
        self.stage([Staged(self.segment.next_seq(), mono, wall, type_, data)])

    def flush_events(self) -> None:
        if self.pending:
            self.o._sink.events(self.pending)
            self.pending = []
        self.last_flush = time.monotonic()

    def flush_move(self) -> None:
        move, self.pending_move = self.pending_move, None
        if move is not None:
            self.emit("mouse_move", move.mono, move.wall, {"x": move.x, "y": move.y})
            self.last_move_emit = move.mono

    def emit_window(self, window: WindowInfo, mono: float) -> None:
        assert self.segment is not None
        data: dict[str, Any] = {
            "app": window.app,
            "title": "",
            "x": window.x,
            "y": window.y,
            "w": window.w,
            "h": window.h,
        }
        if self.excluded():
            data["excluded"] = True  # its title may itself be private
        else:
            title, hits = scrub_title(self.o.scrubber, window.title)
            for hit in hits:
                self.segment.counts[hit.category] += 1
            data["title"] = title
        self.emit("window", mono, time.time(), data)

    def excluded(self) -> bool:
        return self.o.excluded()

    def request_frame(self, trigger: str, mono: float, wall: float, *, force: bool = False) -> None:
        if self.grabber is None or self.segment is None or self.excluded():
            return
        now = time.monotonic()
        click = trigger == CLICK
        if click and now - self.last_click_frame < CLICK_FRAME_GAP_S:
            pixels, grabbed = None, self.last_frame  # the grab of a moment ago shows it
        else:
            if click:
                self.last_click_frame = now
            elif not force and now - self.last_frame < self.s.min_frame_gap_s:
                return
            pixels = self.grabber.grab_raw()  # made RGB on the frame thread
            self.last_frame = now
            self.acted_since_frame = False
            if pixels is None and not click:
                return  # identical to the last grab: nothing new to keep
            grabbed = time.monotonic()
        # A click on an unchanged screen still gets its frame: one that refers to the frame
        # that shows this screen (the frame thread knows whether it was kept).
        seg = self.segment
        job = FrameJob(
            seg.id,
            seg.next_seq(),
            max(0.0, mono - seg.started_mono),
            wall,
            trigger,
            round((grabbed - mono) * 1000, 2),
            pixels,
            self.o.window,
            self._visible_windows(),
            self.grabber.origin,
        )
        if not self.o._sink.frame(job):
            # The dropped frame must not make the next one look unchanged, nor stand for the
            # screen of the next click.
            self.grabber.forget()
            self.last_click_frame = -1e9

    # -- input ---------------------------------------------------------------------
    def _visible_windows(self) -> list[WindowInfo] | None:
        windows = self.platform.visible_windows()
        return None if windows is None else [w for w in map(bounded, windows) if w is not None]

    def sensitive(self, mono: float) -> bool:
        """Keep key categories only: the focus was in a password field when the key went
        down (keys wait in a queue; Tab may have moved the focus since), or it cannot be
        told and the window looks like a sign-in prompt."""
        focused = self.platform.password_field_focused(at=mono)
        if focused is not None:
            return focused
        window = self.o.window
        return window is not None and looks_like_sign_in(window.title)

    def next_wakeup(self, segment_seconds: float) -> float:
        """Sleep until the next thing that is due, so an idle recorder costs nothing."""
        now = time.monotonic()
        due = [
            self.next_window_poll,
            self.segment.started_mono + segment_seconds if self.segment else now + 1,
        ]
        # An interval frame is due only after input, and waited for only while it lies ahead:
        # one that could not be taken (no screen, an excluded app in front) is tried again at
        # the next wake-up, not every few milliseconds.
        interval_at = self.last_frame + self.s.idle_frame_interval_s
        if self.acted_since_frame and interval_at > now:
            due.append(interval_at)
        if self.typing_frame_due:
            due.append(self.last_key + self.s.typing_pause_s)
        if self.pending_move is not None:
            due.append(self.last_move_emit + 1.0 / self.s.mouse_move_hz)
        if self.pending:
            due.append(self.last_flush + FLUSH_INTERVAL_S)
        return min(1.0, max(0.005, min(due) - now))

    def handle(self, raw: RawInput) -> None:
        if raw is WAKE:
            return
        self.acted_since_frame = True
        assert self.segment is not None and self.typing is not None
        if raw.type == "mouse_move" and not self.excluded():
            if raw.mono - self.last_move_emit >= 1.0 / self.s.mouse_move_hz:
                self.pending_move = raw
                self.flush_move()
            else:
                self.pending_move = raw
            return
        if self.on_own_window(raw):
            return
        if raw.type in ("key", "mouse_button") and raw.action == "down":
            # Focus can move with this very event: know the window before keeping anything.
            self.poll_window(raw.mono)
        if self.excluded():
            self.pending_move = None
            return
        self.flush_move()
        if raw.type == "key":
            if raw.char is not None:
                raw.char = well_formed(raw.char)
            if raw.action == "down":
                self.last_key = raw.mono
                self.typing_frame_due = True
            self.stage(
                self.typing.key(raw, self.segment.next_seq(), sensitive=self.sensitive(raw.mono))
            )
            return
        self.stage(self.typing.flush(raw.mono))
        if raw.type == "mouse_button":
            if raw.action == "down":
                self.request_frame(CLICK, raw.mono, raw.wall)
            self.emit(
                "mouse_button",
                raw.mono,
                raw.wall,
                {"action": raw.action, "button": raw.button, "x": raw.x, "y": raw.y},
            )
        elif raw.type == "scroll":
            self.emit(
                "scroll", raw.mono, raw.wall, {"dx": raw.dx, "dy": raw.dy, "x": raw.x, "y": raw.y}
            )

    def on_own_window(self, raw: RawInput) -> bool:
        """A click or scroll on a Praxis window (its tray icon, menu or a dialog) is not the
        person's work: it is not kept, and takes no screenshot. The release of a button
        pressed there goes with it, even if the menu it was pressed on has closed since."""
        if raw.type == "scroll":
            return own_popups.open_at(raw.mono) or self.owner_at(raw.x, raw.y) == os.getpid()
        if raw.type != "mouse_button":
            return False
        if raw.action == "down":
            if own_popups.open_at(raw.mono) or self.owner_at(raw.x, raw.y) == os.getpid():
                self.own_presses.add(raw.button)
                return True
            self.own_presses.discard(raw.button)
            return False
        if raw.button in self.own_presses:
            self.own_presses.discard(raw.button)
            return True
        return False

    def owner_at(self, x: int | None, y: int | None) -> int | None:
        if x is None or y is None:
            return None
        return self.platform.window_owner_at(x, y)

    def poll_window(self, mono: float) -> None:
        self.next_window_poll = mono + self.s.window_poll_s
        window = bounded(self.platform.active_window())
        if window is None or window.same_window(self.o.window):
            if window is not None:
                self.o.window = window  # geometry may have moved
            return
        assert self.typing is not None
        self.stage(self.typing.flush(mono))
        self.o.window = window
        self.o._sink.window_changed(window, self.excluded())
        self.emit_window(window, mono)
        self.request_frame("window_change", mono, time.time(), force=True)

    # -- the loop ------------------------------------------------------------------
    def loop(self) -> None:
        q = self.capture.events
        self.o.window = bounded(self.platform.active_window())
        self.next_window_poll = time.monotonic() + self.s.window_poll_s
        self.open_segment()
        segment_seconds = self.s.segment_minutes * 60
        while not self.o._stop.is_set():
            try:
                raw = q.get(timeout=self.next_wakeup(segment_seconds))
            except queue.Empty:
                raw = None
            if raw is not None:
                self.handle(raw)
                while True:  # drain a burst without waking per event
                    try:
                        self.handle(q.get_nowait())
                    except queue.Empty:
                        break
            now = time.monotonic()
            assert self.segment is not None and self.typing is not None
            if self.capture.dropped != self.dropped_seen:
                self.segment.dropped_events += self.capture.dropped - self.dropped_seen
                self.dropped_seen = self.capture.dropped
            if (
                self.pending_move is not None
                and now - self.last_move_emit >= 1.0 / self.s.mouse_move_hz
            ):
                self.flush_move()
            if now >= self.next_window_poll:
                self.poll_window(now)
            if self.typing_frame_due and now - self.last_key >= self.s.typing_pause_s:
                self.typing_frame_due = False
                self.stage(self.typing.pause(now))
                self.request_frame("typing_pause", now, time.time(), force=True)
            if self.acted_since_frame and now - self.last_frame >= self.s.idle_frame_interval_s:
                self.request_frame("interval", now, time.time())
            if self.pending and (
                now - self.last_flush >= FLUSH_INTERVAL_S or len(self.pending) >= 500
            ):
                self.flush_events()
            if now - self.segment.started_mono >= segment_seconds:
                self.close_segment("segment length reached")
                self.open_segment()
        # Drain what the listeners delivered before they stopped, then seal.
        while True:
            try:
                item = q.get_nowait()
            except queue.Empty:
                break
            if item is not WAKE:
                self.handle(item)
        self.close_segment(self.o._stop_reason)
