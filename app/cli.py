"""`python -m app` / `praxis`: the tray app by default, and commands for scripts and testers."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import __version__
from app.core.errors import ConsentRequired, NotRunning, PraxisError
from app.core.paths import default_data_dir, ensure_private_dir

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$"
)


def parse_duration(text: str) -> float:
    """'15m', '1h', '90s', '1h30m'; a bare number means minutes."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text) * 60
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 15m, 1h, 90s)")
    d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
    seconds = d * 86400 + h * 3600 + m * 60 + s
    if seconds <= 0:
        raise argparse.ArgumentTypeError("the duration must be positive")
    return seconds


def _data_dir_arg(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "an empty folder name would mean the current folder; name a folder, or leave "
            "--data-dir out to use the per-user data folder"
        )
    return Path(text)


def _fmt_time(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


# -- commands ----------------------------------------------------------------------
def _settings(data_dir: Path) -> Any:
    from app.core.settings import load_effective_settings

    return load_effective_settings(data_dir)


def _ask_consent(text: Any) -> bool:
    """At a terminal, show the consent text and ask; elsewhere never assume a yes."""
    if not sys.stdin.isatty():
        return False
    print(text.body)
    try:
        answer = input(f"\nAccept and start recording? (consent version {text.version}) [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_record(args: argparse.Namespace) -> int:
    if not args.headless:
        return cmd_tray(args)
    from app.core.runtime import Runtime

    runtime = Runtime(args.data_dir)
    data_dir, recorder, stop = runtime.data_dir, runtime.recorder, runtime.stop_requested
    runtime.install_signal_handlers()
    if recorder.consent_on_record() is None and _ask_consent(recorder.consent_text):
        recorder.accept_consent()
    if recorder.consent_on_record() is None:
        runtime.lock.release()
        raise ConsentRequired(
            "nothing is recorded before you accept the consent text. Read it with "
            "`praxis consent` and accept it with `praxis consent --accept`."
        )
    recorder.add_listener(
        on_status=lambda s: print(
            f"[{_fmt_time(time.time())}] {s.state.value} {s.reason}".rstrip(), flush=True
        ),
        on_notice=lambda title, msg: print(
            f"[{_fmt_time(time.time())}] {title}: {msg}", flush=True
        ),
    )
    try:
        recorder.start()
        runtime.serve()
        runtime.start_uploads()
        print(f"Recording to {data_dir} (Ctrl-C to stop; `praxis pause` to pause)", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        runtime.close()
    summary = recorder.status()
    print(
        f"Stopped. Pending: {summary.counters['pending_segments']} segments, "
        f"{summary.counters['pending_events']} events, "
        f"{summary.counters['pending_frames']} frames.",
        flush=True,
    )
    return 0


def cmd_tray(args: argparse.Namespace) -> int:
    from app.core.errors import DisplayUnavailable
    from app.platform.display import display_problem

    problem = display_problem()
    if problem:
        raise DisplayUnavailable(problem)
    try:
        from app.ui.main import run_tray
    except ImportError as exc:
        raise PraxisError(f"the tray app is not available: {exc}", title="No tray app") from exc
    return run_tray(args.data_dir)


def _remote_or_local(
    data_dir: Path, request: dict[str, Any], local: Callable[[], Any] | None
) -> tuple[Any, bool]:
    from app.core import control

    try:
        return control.send(data_dir, request), True
    except NotRunning:
        if local is None:
            raise
        return local(), False


def _check_possible_dir(path: Path) -> None:
    """A data folder under a regular file can never exist: say so instead of "nothing yet"."""
    from app.core.errors import DataDirError

    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise DataDirError(f"{path} cannot be a folder: {parent} is a file.")
            return


def cmd_status(args: argparse.Namespace) -> int:
    from app.core.buffer.store import Buffer
    from app.core.queries import pending_summary

    def local() -> dict[str, Any]:
        _check_possible_dir(args.data_dir)
        if not (args.data_dir / "buffer.db").exists():
            return {"state": "not_running", "reason": "nothing recorded yet"}
        buffer = Buffer(args.data_dir, create=False)
        from app.core.runtime import offline_upload_counters
        from app.core.settings import Settings

        try:
            settings = _settings(args.data_dir)
        except PraxisError:  # a broken policy stops recording, never the status
            settings = Settings()
        return {
            "state": "not_running",
            "reason": "no recorder is running",
            **pending_summary(buffer),
            **offline_upload_counters(buffer, settings),
        }

    status, _ = _remote_or_local(args.data_dir, {"cmd": "status"}, local)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    line = status["state"].replace("_", " ")
    if status.get("reason"):
        line += f" ({status['reason']})"
    if status.get("paused_until"):
        line += f", resumes at {_fmt_time(status['paused_until'])}"
    print(f"State:    {line}")
    if "pending_segments" in status:
        print(
            f"Pending:  {status['pending_segments']} segments, {status['pending_events']} events, "
            f"{status['pending_frames']} frames "
            f"({status['pending_frame_bytes'] / 1e6:.1f} MB of frames)"
        )
        print(
            f"Recorded: {_fmt_time(status['pending_first'])} – {_fmt_time(status['pending_last'])}"
        )
        if status.get("review_pending"):
            line = f"{status['review_pending']} segment(s) waiting (`praxis review`)"
            if status.get("next_auto_approval"):
                line += f"; the oldest approves itself at {_fmt_time(status['next_auto_approval'])}"
            print(f"Review:   {line}")
        if status.get("upload"):
            from app.upload_cli import upload_lines

            for line in upload_lines(status["upload"]):
                print(line)
        print(f"Dropped:  {status['dropped_events']} events, {status['dropped_frames']} frames")
        print(f"Buffer:   {status['buffer_bytes'] / 1e6:.1f} MB in {args.data_dir}")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    result, _ = _remote_or_local(args.data_dir, {"cmd": "pause", "seconds": args.for_}, None)
    print(f"Paused: {result['reason']}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    result, _ = _remote_or_local(args.data_dir, {"cmd": "resume"}, None)
    print(f"Recording: {result['state']}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from app.core.buffer.store import Buffer

    if args.last is not None:
        request: dict[str, Any] = {"cmd": "delete", "last_seconds": args.last}
    elif args.session:
        request = {"cmd": "delete", "session": args.session}
    else:
        request = {"cmd": "delete", "all_pending": True}

    def local() -> dict[str, Any]:
        buffer = Buffer(args.data_dir, create=False)
        from app.core.service import delete_direct

        return delete_direct(buffer, request)

    report, _ = _remote_or_local(args.data_dir, request, local)
    print(report["description"][0].upper() + report["description"][1:] + ".")
    return 0


def cmd_consent(args: argparse.Namespace) -> int:
    from app.core.buffer.store import Buffer
    from app.core.consent import load_consent_text
    from app.core.errors import PolicyError
    from app.core.service import consent_direct

    try:
        text = load_consent_text(_settings(args.data_dir))
    except PolicyError:
        if not args.withdraw:
            raise
        # Withdrawing stops recording and deletes unsent data whatever policy says.
        text = load_consent_text()
    if not (args.accept or args.withdraw):
        print(text.body)
        print(f"\n(consent version {text.version}; accept with `praxis consent --accept`)")
        return 0
    request = {"cmd": "consent", "accept": bool(args.accept)}

    def local() -> dict[str, Any]:
        ensure_private_dir(args.data_dir)
        return consent_direct(Buffer(args.data_dir), text, accept=bool(args.accept))

    result, _ = _remote_or_local(args.data_dir, request, local)
    print(result["message"])
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from app.core.buffer.store import Buffer
    from app.core.export import export

    try:  # a running recorder seals what it has first, so the export is complete
        from app.core import control

        control.send(args.data_dir, {"cmd": "flush"})
    except NotRunning:
        pass
    buffer = Buffer(args.data_dir, create=False)
    folders = export(
        buffer,
        args.out,
        args.segment or None,
        include_open=args.include_open,
        packages=args.packages,
    )
    for folder in folders:
        print(folder)
    print(f"Exported {len(folders)} segment(s) to {args.out}", file=sys.stderr)
    return 0


def cmd_activity(args: argparse.Namespace) -> int:
    from app.core.buffer.store import Buffer
    from app.core.queries import activity

    rows = activity(Buffer(args.data_dir, create=False), args.limit)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in reversed(rows):
            print(f"{_fmt_time(row['ts'])}  {row['kind']:<10} {row['message']}")
    return 0


def cmd_redact(args: argparse.Namespace) -> int:
    """IT's dry run of the redaction in force: the recorder's own scrubber and frame steps."""
    from app.core.redact.text import TextScrubber

    settings = _settings(args.data_dir)
    if args.image is not None:
        return _redact_image(args, settings)
    scrubber = TextScrubber.from_settings(settings)
    text = args.text if args.text != "-" else sys.stdin.read()
    scrubbed, hits = scrubber.scrub(text)
    if args.json:
        found = [{"category": h.category, "start": h.start, "end": h.end} for h in hits]
        print(json.dumps({"redacted": scrubbed, "found": found}, indent=2, ensure_ascii=False))
    else:
        print(scrubbed)
        for hit in hits:
            print(f"  {hit.category} at characters {hit.start}-{hit.end}", file=sys.stderr)
        print(f"{len(hits)} item(s) redacted", file=sys.stderr)
    return 0


def _redact_image(args: argparse.Namespace, settings: Any) -> int:
    import numpy as np
    from PIL import Image

    from app.core.redact.frames import FrameContext, default_frame_redactor
    from app.core.redact.screen_text import ScreenTextRedactor

    if args.out is None:
        raise PraxisError("say where to write the redacted image with --out", title="Missing --out")
    known = Image.registered_extensions()
    if args.out.suffix.lower() not in known:
        raise PraxisError(
            f"cannot tell which image format to write from {args.out.name!r}; end --out with "
            ".png (or .jpg, .webp, …)",
            title="Unknown image type",
        )
    try:
        with Image.open(args.image) as image:
            pixels = np.array(image.convert("RGB"))
    except Image.DecompressionBombError as exc:
        raise PraxisError(
            f"{args.image} is too large to read safely ({exc}). Crop or scale it down first.",
            title="Image too large",
        ) from exc
    except (OSError, ValueError) as exc:
        raise PraxisError(
            f"{args.image} cannot be read as an image: {exc}", title="Bad image"
        ) from exc
    redactor = default_frame_redactor(settings)
    reader = next((s for s in redactor.steps if isinstance(s, ScreenTextRedactor)), None)
    # An image on disk has no windows around it: only on-screen text applies.
    out = redactor.redact(pixels.copy(), FrameContext(None, []))
    if out is None:
        raise PraxisError("redaction could not run on this image", title="Redaction failed")
    found = reader.sensitive_boxes(reader.lines, pixels) if reader else []
    try:
        Image.fromarray(out).save(args.out)
    except OSError as exc:
        raise PraxisError(
            f"cannot write {args.out} ({exc.strerror or exc}); choose another --out",
            title="Cannot write the image",
        ) from exc
    report = {
        "image": str(args.image),
        "out": str(args.out),
        "boxes": [{"category": c, "x": b[0], "y": b[1], "w": b[2], "h": b[3]} for b, c in found],
        "lines_read": len(reader.lines) if reader else 0,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for box in report["boxes"]:
            print(f"{box['category']:<16} at x={box['x']} y={box['y']} w={box['w']} h={box['h']}")
        print(f"{len(found)} box(es) drawn; wrote {args.out}", file=sys.stderr)
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from app.core.errors import PolicyError
    from app.core.settings import Settings
    from app.review_cli import cmd_review as run

    try:
        settings = _settings(args.data_dir)
    except PolicyError as exc:
        # A broken policy keeps recording off; it never takes review away from the person.
        print(f"{exc} (reviewing with default settings)", file=sys.stderr)
        settings = Settings()
    return run(args, settings)


def cmd_selftest(args: argparse.Namespace) -> int:
    from app.core.selftest import describe_build, run_selftest

    build = describe_build()
    if not args.json:
        print(build, flush=True)
    checks = []
    for name, passed, detail in run_selftest(args.data_dir):
        checks.append({"check": name, "ok": passed, "detail": detail})
        if not args.json:
            print(f"{'ok  ' if passed else 'FAIL'}  {name:<20} {detail}", flush=True)
    failed = [c["check"] for c in checks if not c["ok"]]
    if args.json:
        print(json.dumps({"build": build, "checks": checks, "ok": not failed}, indent=2))
    elif failed:
        print(
            f"{len(failed)} of {len(checks)} checks failed ({', '.join(failed)}): "
            "Praxis cannot record on this machine until they pass."
        )
    else:
        print(f"All {len(checks)} checks passed: this machine can record.")
    return 1 if failed else 0


# -- parser ------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=_data_dir_arg,
        default=argparse.SUPPRESS,
        help="where recordings are kept (default: $PRAXIS_DATA_DIR or the per-user data folder)",
    )
    parser = argparse.ArgumentParser(
        prog="praxis",
        parents=[common],
        description="Consent-first recorder of computer-use demonstrations.",
    )
    parser.add_argument("--version", action="version", version=f"praxis {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("record", parents=[common], help="record (the tray app unless --headless)")
    p.add_argument("--headless", action="store_true", help="record without any window or tray icon")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("consent", parents=[common], help="show, accept or withdraw consent")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--accept", action="store_true")
    group.add_argument(
        "--withdraw", action="store_true", help="stop and delete everything not uploaded"
    )
    p.set_defaults(func=cmd_consent)

    p = sub.add_parser(
        "status", parents=[common], help="what is being recorded and what is pending"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("pause", parents=[common], help="pause recording")
    p.add_argument(
        "--for",
        dest="for_",
        type=parse_duration,
        default=None,
        metavar="DURATION",
        help="resume automatically after e.g. 15m or 1h (default: until resumed)",
    )
    p.set_defaults(func=cmd_pause)

    p = sub.add_parser("resume", parents=[common], help="resume recording")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("delete", parents=[common], help="delete recordings that were not uploaded")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--last", type=parse_duration, metavar="DURATION", help="e.g. 5m or 1h")
    group.add_argument("--session", metavar="ID")
    group.add_argument("--all-pending", action="store_true")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("export", parents=[common], help="write sealed segments to a folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--segment", action="append", metavar="ID", help="only this segment (repeatable)"
    )
    p.add_argument("--include-open", action="store_true", help="also the segment being recorded")
    p.add_argument(
        "--packages",
        action="store_true",
        help="write each segment's upload package (a .zip, byte for byte what would be sent)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "activity", parents=[common], help="the log of recording, pauses and deletions"
    )
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_activity)

    p = sub.add_parser(
        "redact", parents=[common], help="show what redaction does to a text or an image (dry run)"
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="the text, or - to read standard input")
    what.add_argument("--image", type=Path, help="a screenshot to redact (PNG, JPEG, …)")
    p.add_argument("--out", type=Path, help="where to write the redacted image")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_redact)

    from app.review_cli import add_parser as add_review_parser

    add_review_parser(sub, common)
    sub.choices["review"].set_defaults(func=cmd_review)

    from app.upload_cli import add_parsers as add_upload_parsers

    add_upload_parsers(sub, common)

    p = sub.add_parser("selftest", parents=[common], help="check that this machine can record")
    p.add_argument("--json", action="store_true", help="the report as JSON, for scripts")
    p.set_defaults(func=cmd_selftest)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Warnings from the engine (a damaged buffer set aside, a fault) reach the terminal as
    # one line each; handlers set up by an embedding program are left alone.
    logging.basicConfig(level=logging.WARNING, format="praxis: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "data_dir"):
        args.data_dir = default_data_dir()
    args.data_dir = Path(args.data_dir).expanduser()
    func = getattr(args, "func", None)
    if func is None:
        args.headless = False
        func = cmd_tray
    try:
        return int(func(args))
    except PraxisError as exc:
        print(f"praxis: {exc.title}: {exc.message}", file=sys.stderr)
        return 3 if isinstance(exc, ConsentRequired) else 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        known = known_failure(exc)
        if known is None or os.environ.get("PRAXIS_DEBUG"):
            raise  # a bug keeps its traceback: that is what a report needs
        print(f"praxis: {known[0]}: {known[1]}", file=sys.stderr)
        return 2


def known_failure(exc: BaseException) -> tuple[str, str] | None:
    """A one-line (title, message) for failures that come from the outside world (files,
    disks, SQLite, images), not from a bug; None for anything else."""
    import sqlite3

    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        reason = exc.strerror or str(exc)
        return "Cannot read or write a file", f"{reason}{where}. Check the path and its space."
    if isinstance(exc, sqlite3.Error):
        from app.core.recorder import describe_fault

        return "Local buffer problem", describe_fault(exc)
    return None
