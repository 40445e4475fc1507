#!/usr/bin/env python3
"""SIGKILL the headless recorder hundreds of times at random moments and check the buffer.

    python bench/kill_torture.py [--kills 200] [--seed N] [--phase recording ...]

Starts a private Xvfb with an xterm, and for each kill: starts `python -m app record
--headless`, types into the xterm through XTEST, and SIGKILLs the recorder while it records,
seals (flush or pause), or deletes (a review deletion in a separate process, also killed, or a
session deletion in the recorder). After every kill a copy of the database files must pass
`PRAGMA integrity_check`, every committed segment must keep its package hash, and a segment
the kill left open must be sealed whole by the next start (tests/support/killrig.py). At the
end the packages are exported with the CLI and compared with the last check.

Prints one line per kill and a summary: kills per phase, seconds per kill, and the keys each
kill cost while typing (keys the X server delivered before the kill minus key-downs committed).
Exits 1 at the first failed check. Everything it starts is stopped at exit; its data lives in a
temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.killrig import PHASES, KillRig, TortureFailure, summary  # noqa: E402
from support.xsession import XServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--phase", choices=PHASES, action="append", help="only these phases")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    phases = args.phase or list(PHASES)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what was started
    home = Path(tempfile.mkdtemp(prefix="praxis-kill-"))
    # The checks read the buffer in this process: the same keyring file as the recorder's.
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    os.environ["XDG_DATA_HOME"] = str(home / "xdg-data")
    os.environ["XDG_CONFIG_HOME"] = str(home / "xdg-config")
    print(f"seed {seed}, {args.kills} kills, data in {home}", flush=True)
    x = XServer.start(home / "xvfb")
    rig = KillRig(x, home, rng)
    started = time.monotonic()
    try:
        rig.open_window()
        for n in range(1, args.kills + 1):
            r = rig.cycle(rng.choice(phases))
            print(
                f"{n:4d} {r.phase:<17} typed {r.typed:4d} committed {r.committed:4d} "
                f"lost {r.lost:4d}  segments {r.segments:3d}  {r.seconds:5.1f} s  {r.detail}",
                flush=True,
            )
        exported = rig.finish(home / "packages")
    except TortureFailure as exc:
        print(f"FAILED after {len(rig.results)} kills (seed {seed}): {exc}", flush=True)
        return 1
    finally:
        rig.close()
        x.stop()
    report = summary(rig.results)
    report["exported_packages_checked"] = len(exported)
    report["integrity_ok"] = f"{len(rig.results)}/{len(rig.results)}"
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
