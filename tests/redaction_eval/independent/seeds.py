"""The two seed families. Case n of a run uses seed `base + n`; nothing else varies between
the families, so their figures compare directly."""

from __future__ import annotations

DEV_BASE = 2000  # the development family: CI, day-to-day runs, examples in reports
HELDOUT_BASE = 9000  # the held-out family: `bench/redaction_independent.py --heldout` only
FAMILIES = {"dev": DEV_BASE, "heldout": HELDOUT_BASE}


def case_seed(family: str, index: int) -> int:
    return FAMILIES[family] + index
