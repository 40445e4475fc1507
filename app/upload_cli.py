"""`praxis enroll` and `praxis sync`: the device's collector and token, and sending now."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

from app.core.errors import NotRunning, PraxisError


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "enroll", parents=[common], help="connect this device to a collector (IT gives URL+token)"
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--server", metavar="URL", help="the collector's address (https://…)")
    what.add_argument("--status", action="store_true", help="show and check the enrollment")
    what.add_argument("--leave", action="store_true", help="forget the collector and the token")
    p.add_argument("--token", metavar="T", help="this device's token (kept in the OS keyring)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_enroll)

    p = sub.add_parser("sync", parents=[common], help="upload approved recordings now")
    p.add_argument("--once", action="store_true", required=True, help="one run, then exit")
    p.add_argument(
        "--timeout", type=float, default=600.0, metavar="S", help="give up retrying after S s"
    )
    p.set_defaults(func=cmd_sync)


def upload_lines(upload: dict[str, Any]) -> list[str]:
    """The upload part of `praxis status`."""
    waiting = upload["approved"] + upload["uploading"]
    line = f"{waiting} segment(s) to send ({upload['bytes_pending'] / 1e6:.1f} MB)"
    line += f", {upload['acknowledged'] + upload['purged']} uploaded"
    if upload.get("quarantined"):
        line += f", {upload['quarantined']} set aside"
    if upload.get("percent") is not None and upload.get("state") == "uploading":
        line += f"; uploading, {upload['percent']:.0f}%"
    lines = [f"Upload:   {line}", f"          {upload.get('collector_text') or ''}".rstrip()]
    if upload.get("waiting_reason") and upload["waiting_reason"] != upload.get("collector_text"):
        lines.append(f"          {upload['waiting_reason']}")
    if upload.get("erasures_pending"):
        lines.append(f"Erasure:  {upload['erasures_pending']} waiting for the collector")
    if upload.get("last_error"):
        lines.append(f"Error:    {upload['last_error']}")
    return [line for line in lines if line.strip()]


def _tell_running_app(data_dir: Path) -> bool:
    from app.core import control

    try:
        control.send(data_dir, {"cmd": "enrolled"}, timeout=60)
        return True
    except NotRunning:
        return False


def cmd_enroll(args: argparse.Namespace) -> int:
    from app.core.runtime import load_app_settings, settings_file
    from app.core.upload import enrollment

    data_dir = args.data_dir
    settings = load_app_settings(data_dir)
    if args.status:
        info = enrollment.status(settings)
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            print(f"Collector: {info['collector_url'] or 'none configured'}", end="")
            print(" (set by IT's policy)" if info["set_by_policy"] else "")
            print(f"Token:     {'in the OS keyring' if info['token_in_keyring'] else 'none'}")
            if info["check"] is not None:
                print(f"Check:     {'ok' if info['check_ok'] else 'FAILED'}: {info['check']}")
        return 0 if info["check_ok"] in (None, True) else 1
    if args.leave:
        had = enrollment.leave(settings_file(data_dir), settings)
        _tell_running_app(data_dir)
        print(
            "Left the collector; the token was removed from the keyring."
            if had
            else "This device was not enrolled."
        )
        return 0
    if not args.token:
        raise PraxisError("give the token IT sent with --token", title="Missing --token")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    result = enrollment.enroll(settings_file(data_dir), settings, args.server, args.token)
    running = _tell_running_app(data_dir)
    print(f"Enrolled with {args.server}: {result.message}.")
    if running:
        print("The running Praxis uploads there from now on.")
    return 0


def _progress_line(upload: dict[str, Any]) -> str:
    done = upload.get("acknowledged", 0) + upload.get("purged", 0)
    left = upload.get("approved", 0) + upload.get("uploading", 0)
    line = f"\rUploading: {left} left, {done} uploaded"
    if upload.get("percent") is not None:
        line += f", {upload['percent']:.0f}% of the bytes"
    return line + "   "


def _summary(report: dict[str, Any]) -> int:
    uploaded, failed, stopped = report["uploaded"], report["failed"], report["stopped"]
    clear = f"\r{' ' * 60}\r" if sys.stdout.isatty() else ""  # over the progress line
    print(f"{clear}Uploaded {len(uploaded)} segment(s).")
    for segment_id, error in failed.items():
        print(f"  failed: {segment_id}: {error}", file=sys.stderr)
    if stopped:
        print(f"Uploads stopped: {stopped}", file=sys.stderr)
    if failed or stopped:
        print(
            f"{len(failed)} segment(s) not uploaded; `praxis status` shows the last error.",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from app.core import control

    data_dir = args.data_dir
    done = threading.Event()
    show = sys.stdout.isatty()

    def poll(status: Any) -> None:
        while show and not done.wait(0.5):
            try:
                upload = status().get("upload") or {}
            except PraxisError:
                continue
            print(_progress_line(upload), end="", flush=True)

    try:
        control.send(data_dir, {"cmd": "status"}, timeout=10)
        running = True
    except NotRunning:
        running = False
    if running:
        watcher = threading.Thread(
            target=poll, args=(lambda: control.send(data_dir, {"cmd": "status"}, timeout=10),)
        )
        watcher.start()
        try:
            report = control.send(
                data_dir, {"cmd": "sync", "timeout": args.timeout}, timeout=args.timeout + 60
            )
        finally:
            done.set()
            watcher.join()
        return _summary(report)
    return _sync_here(data_dir, args.timeout, poll, done)


def _sync_here(data_dir: Path, timeout: float, poll: Any, done: threading.Event) -> int:
    """No app running: this process uploads, with the same parts the app uses."""
    from app.core.buffer.store import Buffer
    from app.core.control import UploadLock
    from app.core.runtime import Uploads, load_app_settings

    if not (data_dir / "buffer.db").exists():
        print("Nothing recorded yet; nothing to upload.")
        return 0
    settings = load_app_settings(data_dir)
    buffer = Buffer(data_dir, create=False)
    buffer.unlock()
    lock = UploadLock(data_dir)
    lock.acquire()
    uploads = Uploads(buffer, settings, on_change=lambda: None)
    watcher = threading.Thread(target=poll, args=(lambda: uploads.counters(),))
    try:
        uploads.resolve()
        watcher.start()
        report = uploads.uploader.sync_once(timeout)
    finally:
        done.set()
        if watcher.is_alive():
            watcher.join()
        uploads.stop()
        lock.release()
    return _summary(
        {"uploaded": report.uploaded, "failed": report.failed, "stopped": report.stopped}
    )
