#!/usr/bin/env python3
"""The uploader under hundreds of injected faults, against the collector as a real process.

    python bench/upload_faults.py [--faults 500] [--rate 0.3] [--seed 1]

Approved segments go through a fault-injecting proxy that breaks a share of the requests at
random (resets mid-body, lost answers, stalls, 500, 503 and 429 with Retry-After, 460, and
410 on resumption). After every round the invariant is checked: every approved segment
stored exactly once with the right hash, nothing unapproved stored, nothing acknowledged
lost. Prints the faults injected by kind, the requests seen, and any violation.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")

from support import faultproxy as fp  # noqa: E402
from support.seed import seed_approved, seed_segment  # noqa: E402
from support.servers import UploadServer  # noqa: E402
from support.uploadcheck import check_invariant  # noqa: E402

from app.core.buffer import uploads  # noqa: E402
from app.core.settings import Settings  # noqa: E402
from app.core.upload.backoff import Backoff  # noqa: E402
from app.core.upload.target import Target  # noqa: E402
from app.core.upload.worker import Uploader  # noqa: E402

FAULTS = [
    fp.RESET_BODY,
    fp.Fault("reset_body", fraction=0.05),
    fp.LOSE_ANSWER,
    fp.stall(0.8),
    fp.status(500),
    fp.status(503, retry_after=0),
    fp.status(429, retry_after=0),
    fp.status(460),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faults", type=int, default=500)
    parser.add_argument("--rate", type=float, default=0.3, help="share of requests broken")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="praxis-upload-faults-") as tmp:
        home = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(home / "xdg")
        server = UploadServer("collector", home / "collector").start()
        proxy = fp.FaultProxy(server.port)
        buffer, _ = seed_approved(home / "data", 0)
        seed_segment(buffer, seed=999)  # never approved: must never arrive
        uploader = Uploader(
            buffer,
            Settings(keep_uploaded_hours=1000),  # keep content: the check reads the hashes
            lambda: Target(proxy.url, server.token),
            backoff=Backoff(base_s=0.01, cap_s=0.1),
            read_timeout=0.5,
            chunk_bytes=48 * 1024,
        )
        started = time.monotonic()
        rounds = violations = 0
        try:
            while sum(proxy.injected.values()) < args.faults:
                rounds += 1
                _, ids = seed_approved(home / "data", 3, frames=1, seed=rounds * 10)
                proxy.random_faults(FAULTS, args.rate, rng)
                if rounds % 4 == 0:  # an upload that expired while the device was away
                    proxy.queue(fp.Fault("reset_body"), method="PATCH")
                    uploader.run_pass()
                    proxy.queue(fp.status(410), method="HEAD")
                report = uploader.sync_once(120)
                proxy.plan = lambda m, p: None
                problems = check_invariant(buffer, server.stored(buffer.device_id))
                if problems or not report.ok:
                    violations += 1
                    print(f"round {rounds}: {report} {problems}", file=sys.stderr)
        finally:
            proxy.close()
            server.stop()
        took = time.monotonic() - started
        with buffer.reader() as db:
            delivered = uploads.summary(db)["acknowledged"]
    total = sum(proxy.injected.values())
    print(f"faults injected: {total} in {rounds} rounds, {took:.1f} s")
    for name, count in sorted(proxy.injected.items()):
        print(f"  {name:<14} {count}")
    print("requests seen:  " + ", ".join(f"{m} {n}" for m, n in sorted(proxy.requests.items())))
    print(f"segments delivered: {delivered}; rounds with the invariant broken: {violations}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
