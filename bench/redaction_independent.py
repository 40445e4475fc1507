#!/usr/bin/env python3
"""Redaction quality on the independent evaluation (tests/redaction_eval/independent): screens
and typed text from a generator that detector and OCR work is not tuned on.

    python bench/redaction_independent.py              # development seeds, 20 screens
    python bench/redaction_independent.py --heldout    # held-out seeds: run before resolving

Each screen is a real window (xterm, urxvt, Qt editor, mail, chat, key table) on its own Xvfb
of the case's size (1280x800 to 2560x1440), redacted by the recorder's frame redactor; then
typed cases go through the recorder's typing runs. Reported: recall per category (every
character covered), ordinary words and code covered, typed recall and typed false positives
on code-like text. A held-out run prints figures only, never the items it missed. Needs
Xvfb, xterm, urxvt and xwininfo on PATH.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.redaction_eval.independent.run import Plan, report, run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--heldout", action="store_true", help="the held-out seed family (before resolving)"
    )
    parser.add_argument("--cases", type=int, default=Plan.cases, help="screens (20)")
    parser.add_argument("--typed", type=int, default=Plan.typed, help="typed sensitive cases")
    parser.add_argument("--negatives", type=int, default=Plan.negatives, help="typed others")
    parser.add_argument("--save", type=Path, help="write the screens here (development only)")
    parser.add_argument("--examples", type=int, default=8, help="misses listed per category")
    args = parser.parse_args()
    family = "heldout" if args.heldout else "dev"
    if args.heldout and args.save:
        parser.error("--save shows the held-out screens; it is for development seeds only")
    plan = Plan(cases=args.cases, typed=args.typed, negatives=args.negatives)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="praxis-independent-eval-") as tmp:
        results = run(
            family,
            plan,
            Path(tmp),
            save=args.save,
            progress=(lambda _: None)
            if args.heldout
            else (lambda line: print(line, file=sys.stderr, flush=True)),
        )
    print(report(results, 0 if args.heldout else args.examples))
    print(f"\n(run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
