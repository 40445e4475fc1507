"""SIGKILL at random moments of recording, sealing and deletion (tests/support/killrig.py):
after every kill the database passes `integrity_check`, every committed segment keeps its
package hash, a segment the kill left open is sealed whole by the next start, and the next
start records again. bench/kill_torture.py runs the same rig for hundreds of kills."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from support.killrig import PHASES, KillRig, summary
from support.xsession import XServer

pytestmark = pytest.mark.x11

# Modest in CI (about 6 s a kill on two busy cores); bench/kill_torture.py runs hundreds.
KILLS = int(os.environ.get("PRAXIS_TORTURE_KILLS", "12"))


def test_random_sigkills_never_damage_what_was_committed(x: XServer, home: Path) -> None:
    seed = int(os.environ.get("PRAXIS_TORTURE_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    rig = KillRig(x, home, rng)
    try:
        rig.open_window()
        # Every phase at least a few times, in random order after the first round.
        phases = list(PHASES) + [rng.choice(PHASES) for _ in range(max(0, KILLS - len(PHASES)))]
        for phase in phases:
            rig.cycle(phase)
        exported = rig.finish(home / "packages")
    finally:
        rig.close()
    report = summary(rig.results)
    print(f"seed {seed}: {report}")
    assert report["kills"] == len(phases)
    assert all(report["per_phase"][p] >= 1 for p in PHASES)
    assert exported, "nothing was exported: the kills hit nothing worth checking"
    deleted = sum(1 for r in rig.results if "deleting" in r.detail)
    assert deleted >= 2
