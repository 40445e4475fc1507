"""`praxis review`: the review window, or for scripts and headless testers the same core
operations as text: list, approve, approve all, delete."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from app.core.errors import NotRunning, PraxisError


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _span(started: float, ended: float | None) -> str:
    end = ended if ended is not None else started
    minutes = max(0.0, end - started) / 60
    return f"{_when(started)}–{time.strftime('%H:%M', time.localtime(end))} ({minutes:.0f} min)"


def _resolve(buffer: Any, wanted: str) -> str:
    """A full segment id, or a unique prefix of one."""
    from app.core.queries import segments

    ids = [s["id"] for s in segments(buffer)]
    if wanted in ids:
        return wanted
    matches = [i for i in ids if i.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise PraxisError(f"there is no segment {wanted!r}", title="Unknown segment")
    raise PraxisError(f"{wanted!r} matches {len(matches)} segments; give more of the id")


def cmd_review(args: argparse.Namespace, settings: Any) -> int:
    from app.core import review
    from app.core.buffer.store import Buffer

    if not (args.list or args.approve or args.approve_all or args.delete or args.seal_now):
        return _open_window(args)
    if args.seal_now:
        return _seal_now(args)
    buffer = Buffer(args.data_dir, create=False)
    if args.list:
        items = review.list_segments(buffer, settings)
        if args.json:
            print(json.dumps([i.as_dict() for i in items], indent=2))
            return 0
        if not items:
            print("Nothing waits for review.")
        _say_what_is_recording(buffer, settings)
        if not items:
            return 0
        for item in items:
            extra = ""
            if item.auto_approve_at is not None:
                extra = f"  approves itself at {_when(item.auto_approve_at)}"
            print(
                f"{item.id}  {item.state.label:<18} {_span(item.started_at, item.ended_at)}"
                f"  {', '.join(item.apps) or '-'}  {item.actions} actions,"
                f" {item.frames} screenshots, {review.size_text(item.bytes)}{extra}"
            )
        return 0
    if args.delete:
        segment_id = _resolve(buffer, args.delete)
        report = review.delete_segment(buffer, segment_id)
        print(f"Segment {segment_id}: {report.describe()}.")
        return 0
    if args.approve:
        packages = [review.approve(buffer, _resolve(buffer, args.approve))]
    else:
        packages = review.approve_all(buffer)
        if not packages:
            print("Nothing waits for review.")
            return 0
    for package in packages:
        print(f"Approved {package.segment_id} (sha256 {package.sha256})")
        for label, text in review.receipt_items(package.receipt):
            print(f"  {label + ':':<10} {text}")
    return 0


def _say_what_is_recording(buffer: Any, settings: Any) -> None:
    """The segment being recorded is not reviewable until it is sealed: say so, and when,
    so an empty list does not read as "nothing was recorded"."""
    from app.core.queries import open_segments

    for segment in open_segments(buffer):
        seals_at = segment["started_at"] + settings.segment_minutes * 60
        print(
            f"Recording now: {segment['id']} since {_when(segment['started_at'])} "
            f"({segment['events']} events so far). It can be reviewed once it is sealed, "
            f"at {time.strftime('%H:%M', time.localtime(seals_at))} or when recording stops; "
            "`praxis review --seal-now` seals it now."
        )


def _seal_now(args: argparse.Namespace) -> int:
    """Seal the segment being recorded so it can be reviewed; recording goes on in a new one.
    With no recorder running, seal what a crash left open."""
    from app.core import control
    from app.core.buffer.store import Buffer

    try:
        control.send(args.data_dir, {"cmd": "flush"})
        print(
            "Sealed what was recorded so far; recording goes on. `praxis review --list` shows it."
        )
        return 0
    except NotRunning:
        pass
    buffer = Buffer(args.data_dir, create=False)
    sealed = buffer.write(lambda tx: tx.recover_open_segments())
    if sealed:
        print(f"Sealed {sealed} segment(s) left open; `praxis review --list` shows them.")
    else:
        print("Nothing is being recorded; nothing to seal.")
    return 0


def _open_window(args: argparse.Namespace) -> int:
    from app.core import control

    try:  # the tray app is running: it opens its own review window
        control.send(args.data_dir, {"cmd": "review"}, timeout=5)
        print("Opened the review window of the running Praxis.")
        return 0
    except (NotRunning, PraxisError):
        pass
    from app.platform.display import display_problem

    problem = display_problem(
        hint="Review from a terminal with `praxis review --list`, `--approve ID` and `--delete ID`."
    )
    if problem:  # before Qt, which would abort the process instead
        raise PraxisError(problem, title="No usable display")
    try:
        from app.ui.review_window import run_review_window
    except ImportError as exc:
        raise PraxisError(f"the review window is not available: {exc}", title="No window") from exc
    return run_review_window(args.data_dir)


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "review",
        parents=[common],
        help="review what would be uploaded: preview, delete, approve",
        description="Without options, opens the review window. The options do the same from a "
        "terminal.",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="segments waiting for review")
    what.add_argument("--approve", metavar="ID", help="approve one segment (id or unique prefix)")
    what.add_argument("--approve-all", action="store_true", help="approve every waiting segment")
    what.add_argument("--delete", metavar="ID", help="delete one segment that was not uploaded")
    what.add_argument(
        "--seal-now",
        action="store_true",
        help="seal what is being recorded so it can be reviewed now (recording goes on)",
    )
    p.add_argument("--json", action="store_true", help="with --list: machine-readable")
