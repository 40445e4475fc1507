"""praxis-collector: serve uploads, manage device tokens, list, verify and export packages."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

from praxis_collector import __version__, catalog, ops, tokens
from praxis_collector.errors import CollectorError
from praxis_collector.storage import StorageSettings, Store, open_store

MiB = 1 << 20


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line, not the whole usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _env(name: str) -> str | None:
    return os.environ.get(f"PRAXIS_COLLECTOR_{name}") or None


def _common() -> _Parser:
    parent = _Parser(add_help=False)
    where = parent.add_argument_group("data")
    where.add_argument(
        "--data-dir",
        type=Path,
        default=_env("DATA_DIR"),
        help="folder for uploads in progress and, with fs storage, the packages"
        " (env PRAXIS_COLLECTOR_DATA_DIR)",
    )
    where.add_argument("--storage", choices=["fs", "s3"], default=_env("STORAGE") or "fs")
    where.add_argument("--bucket", default=_env("BUCKET"), help="S3 bucket")
    where.add_argument("--prefix", default=_env("PREFIX") or "", help="key prefix in the bucket")
    where.add_argument("--endpoint-url", default=_env("ENDPOINT_URL"), help="S3-compatible URL")
    where.add_argument("--region", default=_env("REGION"), help="S3 region")
    return parent


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError("a port is a number from 0 to 65535")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="praxis-collector", description="Receives Praxis recordings over tus.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="accept uploads")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8080, help="0 picks a free port")
    serve.add_argument("--ready-file", type=Path, help="written with the URL once listening")
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate (chain) to serve https")
    serve.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    serve.add_argument("--max-upload-mb", type=_positive, default=4096)
    serve.add_argument("--device-quota-mb", type=_positive, default=51200)
    serve.add_argument(
        "--upload-expiry", type=_positive, default=86400, help="seconds an idle upload is kept"
    )
    serve.add_argument(
        "--body-timeout", type=_positive, default=60, help="seconds to wait for body bytes"
    )
    serve.add_argument(
        "--max-connections", type=_positive, default=1000, help="more are answered 503"
    )

    token = sub.add_parser("token", help="device tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", parents=[common], help="issue a token")
    create.add_argument("--name", required=True, help="whose device, e.g. alice-laptop")
    create.add_argument("--quota-mb", type=_positive, help="this device's quota")
    revoke = token_sub.add_parser("revoke", parents=[common], help="revoke a token")
    revoke.add_argument("id")
    listing = token_sub.add_parser("list", parents=[common], help="list tokens")
    listing.add_argument("--json", action="store_true")

    ls = sub.add_parser("ls", parents=[common], help="list stored packages")
    ls.add_argument("--json", action="store_true")
    sub.add_parser("verify", parents=[common], help="check every stored package's hash")
    export = sub.add_parser("export", parents=[common], help="write a training-ready index")
    export.add_argument("--out", type=Path, required=True)
    return parser


def _settings(args: argparse.Namespace) -> StorageSettings:
    return StorageSettings(args.storage, args.bucket, args.prefix, args.endpoint_url, args.region)


def _store(args: argparse.Namespace) -> Store:
    return open_store(args.data_dir, _settings(args))


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _serve(args: argparse.Namespace) -> int:
    # Imported here so token, ls, verify and export start without the web stack.
    from praxis_collector.app import ServerConfig
    from praxis_collector.server import serve

    config = ServerConfig(
        data_dir=args.data_dir,
        storage=_settings(args),
        max_upload_bytes=int(args.max_upload_mb * MiB),
        device_quota_bytes=int(args.device_quota_mb * MiB),
        upload_expiry_s=args.upload_expiry,
        body_timeout_s=args.body_timeout,
        max_connections=int(args.max_connections),
    )
    serve(config, args.host, args.port, args.ready_file, args.tls_cert, args.tls_key)
    return 0


def _token(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.token_command == "create":
        quota = None if args.quota_mb is None else int(args.quota_mb * MiB)
        secret, record = tokens.create(store, args.name, quota)
        print(secret)
        print(f"token {record.id} for {record.name}: it is shown only now", file=sys.stderr)
    elif args.token_command == "revoke":
        record = tokens.revoke(store, args.id)
        print(f"token {record.id} ({record.name}) revoked")
    else:
        records = tokens.list_all(store)
        for r in records:
            if args.json:
                row = {k: v for k, v in r.__dict__.items() if k != "sha256"}
                print(json.dumps(row))
            else:
                state = f"revoked {_when(r.revoked_at)}" if r.revoked_at else "active"
                device = r.device_id or "(no upload yet)"
                print(f"{r.id}  {r.name:<24} {device:<20} {_when(r.created_at)}  {state}")
    return 0


def _ls(args: argparse.Namespace) -> int:
    records = sorted(catalog.records(_store(args)), key=lambda r: (r.stored_at, r.segment_id))
    for r in records:
        if args.json:
            print(json.dumps({k: v for k, v in r.__dict__.items() if k != "manifest"}))
        else:
            print(f"{r.stored_at}  {r.device_id}  {r.segment_id}  {r.size:>12}  {r.sha256[:16]}")
    if not args.json:
        print(f"{len(records)} packages, {sum(r.size for r in records)} bytes", file=sys.stderr)
    return 0


def _report(good: int, problems: list[ops.Problem], what: str) -> int:
    for problem in problems:
        print(f"BAD {problem.key}: {problem.message}")
    print(f"{good} packages {what}, {len(problems)} problems")
    return 1 if problems else 0


def _verify(args: argparse.Namespace) -> int:
    good, problems = ops.verify(_store(args))
    return _report(good, problems, "whole")


def _export(args: argparse.Namespace) -> int:
    good, problems = ops.export(_store(args), args.out)
    code = _report(good, problems, f"exported to {args.out}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.data_dir is None:
        parser.error("--data-dir is required (or set PRAXIS_COLLECTOR_DATA_DIR)")
    handlers = {"serve": _serve, "token": _token, "ls": _ls, "verify": _verify, "export": _export}
    try:
        return handlers[args.command](args)
    except CollectorError as exc:
        print(f"praxis-collector: {exc.title}: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
