#!/usr/bin/env python3
"""Quality of redaction on a labelled synthetic set: recall per category of personal data on
real screens (xterm, a Qt form, a Qt document, xterms in small bitmap fonts printed line by
line) and in typed text, the share of ordinary words
covered, false positives in typed text, and the OCR time per frame.

    python bench/redaction_quality.py [--screens N] [--bitmap-screens N] [--typed N] [--save DIR]

Starts its own Xvfb (1920x1080x24); needs Xvfb, xterm and xwininfo on PATH, and faker in the
environment. Everything is generated from a fixed seed; nothing is downloaded. With --save,
each screen, its redacted version and its ground truth are written to DIR for inspection.
A full read of a text-dense 1080p frame costs 10-45 s of CPU (the redactor's slow path), so
the default run (14 screens, 1,200 typed sentences) takes 6-8 minutes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.redaction_eval.report import full_report  # noqa: E402
from tests.redaction_eval.suite import Plan, run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screens", type=int, default=4, help="screens of each kind (4)")
    parser.add_argument(
        "--bitmap-screens", type=int, default=2, help="terminals in small bitmap fonts (2)"
    )
    parser.add_argument("--typed", type=int, default=540, help="typed cases with PII (540)")
    parser.add_argument("--negatives", type=int, default=600, help="typed PII-free cases (600)")
    parser.add_argument("--seed", type=int, default=Plan.seed)
    parser.add_argument("--save", type=Path, help="write screens, redactions and truth here")
    parser.add_argument("--examples", type=int, default=15, help="examples listed per cause")
    args = parser.parse_args()

    plan = Plan(
        terminal=args.screens,
        bitmap_terminal=args.bitmap_screens,
        form=args.screens,
        document=args.screens,
        typed=args.typed,
        negatives=args.negatives,
        paused=max(9, args.typed // 10),
        seed=args.seed,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="praxis-redaction-eval-") as tmp:
        results = run(
            plan,
            Path(tmp),
            save=args.save,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    print(full_report(results, args.examples))
    print(f"\n(run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
