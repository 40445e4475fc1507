"""Plain-text tables of an evaluation run."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from tests.redaction_eval.corpus import NEGATIVE_KINDS, STRUCTURED, TYPED_STRUCTURED
from tests.redaction_eval.frames_eval import FALSE_HIT, NEXT_TO_PII, RAN_ON, ItemResult
from tests.redaction_eval.suite import TARGETS, Results

KINDS = ("terminal", "form", "document", "bitmap terminal")


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _rate(hits: int, n: int) -> str:
    return f"{hits / n:.3f}" if n else "-"


def _recall_row(label: str, items: list[ItemResult]) -> list[object]:
    row: list[object] = [label, len(items), sum(i.redacted for i in items)]
    row.append(_rate(sum(i.redacted for i in items), len(items)))
    for kind in KINDS:
        sub = [i for i in items if i.screen_kind == kind]
        row.append(_rate(sum(i.redacted for i in sub), len(sub)))
    row.append(_rate(sum(i.exact_text for i in items), len(items)))
    return row


def _by_cause(covered: list[ItemResult]) -> list[int]:
    return [sum(i.detail == cause for i in covered) for cause in (NEXT_TO_PII, RAN_ON, FALSE_HIT)]


def frames_tables(results: Results) -> str:
    out = []
    header = ["category", "n", "redacted", "recall", *KINDS, "on true text"]
    pii = results.pii()
    rows = [_recall_row(c, [i for i in pii if i.category == c]) for c in STRUCTURED]
    rows.append(_recall_row("ALL STRUCTURED", pii))
    extra = results.pii(structured=False)
    rows.append(
        _recall_row("SECRET (value after a keyword)", [i for i in extra if i.category == "SECRET"])
    )
    rows.append(
        _recall_row("NAME (no detector exists)", [i for i in extra if i.category == "NAME"])
    )
    rows.append(_recall_row("structured, wrapped over 2 lines", results.pii(wrapped=True)))
    out.append(
        "FRAMES: personal data redacted (>= 95% of its ink box solid black); "
        "'on true text' = detectors run on the exact text, no OCR"
    )
    out.append(table(header, rows))

    words = results.words()
    rows = []
    for kind in NEGATIVE_KINDS:
        sub = [i for i in words if i.category == kind]
        if not sub:
            continue
        covered = [i for i in sub if i.covered]
        rows.append(
            [
                kind,
                len(sub),
                len(covered),
                _rate(len(covered), len(sub)),
                _rate(sum(i.black > 0 for i in sub), len(sub)),
                *_by_cause(covered),
            ]
        )
    covered = [i for i in words if i.covered]
    rows.append(
        [
            "ALL ORDINARY WORDS",
            len(words),
            len(covered),
            _rate(len(covered), len(words)),
            _rate(sum(i.black > 0 for i in words), len(words)),
            *_by_cause(covered),
        ]
    )
    out.append("")
    out.append(
        "FRAMES: ordinary words covered (>= 50% of the word's ink box black); 'touched' = any "
        "black pixel on it; covered by: padding of a box over adjacent PII, a PII match that ran "
        "on into the word (OCR dropped the space), or a false detection"
    )
    out.append(
        table(["kind", "n", "covered", "share", "touched", "padding", "run-on", "false hit"], rows)
    )

    rows = []
    for kind in KINDS:
        frames = [s for s in results.screens if s.kind == kind]
        if not frames:
            continue
        rows.append(
            [
                kind,
                len(frames),
                round(statistics.mean(s.lines for s in frames)),
                round(statistics.mean(s.chars for s in frames)),
                statistics.mean(s.cpu_s for s in frames),
                max(s.cpu_s for s in frames),
                statistics.mean(s.wall_s for s in frames),
            ]
        )
    out.append("")
    out.append("FRAMES: OCR time per 1920x1080 frame (first frame, read whole; 1 ORT thread)")
    out.append(
        table(
            ["screen", "frames", "lines", "chars", "CPU s mean", "CPU s max", "wall s mean"], rows
        )
    )
    return "\n".join(out)


def typing_tables(results: Results) -> str:
    typing = results.typing
    assert typing is not None
    out = []
    rows = []

    def row(label: str, cases: list) -> list[object]:
        clean = [t for t in cases if t.style == "clean"]
        typos = [t for t in cases if t.style == "typos"]
        return [
            label,
            len(cases),
            sum(t.redacted for t in cases),
            _rate(sum(t.redacted for t in cases), len(cases)),
            _rate(sum(t.redacted for t in clean), len(clean)),
            _rate(sum(t.redacted for t in typos), len(typos)),
        ]

    for category in (*TYPED_STRUCTURED, "SECRET"):
        rows.append(row(category, [t for t in typing.positives if t.item.category == category]))
    rows.append(
        row("ALL STRUCTURED", [t for t in typing.positives if t.item.category in STRUCTURED])
    )
    if typing.stress:
        paused = typing.stress
        rows.append(
            [
                "run split by a pause inside the data",
                len(paused),
                sum(t.redacted for t in paused),
                _rate(sum(t.redacted for t in paused), len(paused)),
                "-",
                "-",
            ]
        )
    out.append("TYPED TEXT: personal data redacted (every key cleared, not in the text summary)")
    out.append(table(["category", "n", "redacted", "recall", "clean", "with typos"], rows))

    by_kind: dict[str, list] = defaultdict(list)
    for neg in typing.negatives:
        for kind in neg.kinds:
            by_kind[kind].append(neg)
    rows = [
        [
            kind,
            len(cases),
            sum(bool(c.flagged) for c in cases),
            _rate(sum(bool(c.flagged) for c in cases), len(cases)),
        ]
        for kind, cases in sorted(by_kind.items())
    ]
    flagged = sum(bool(n.flagged) for n in typing.negatives)
    rows.append(
        ["ALL SENTENCES", len(typing.negatives), flagged, _rate(flagged, len(typing.negatives))]
    )
    out.append("")
    out.append(
        "TYPED TEXT: false positives on sentences without personal data "
        "(by what the sentence contains; a sentence can count under two kinds)"
    )
    out.append(table(["contains", "n", "flagged", "rate"], rows))
    code = typing.code_negatives
    if code:
        flagged = sum(bool(n.flagged) for n in code)
        out.append("")
        out.append(
            f"TYPED CODE without secrets (expressions, placeholders, digests): {len(code)} lines, "
            f"{flagged} flagged, rate {_rate(flagged, len(code))}"
        )
    return "\n".join(out)


def targets_table(results: Results) -> str:
    metrics = results.metrics()
    rows = []
    for key, label, target, higher in (
        ("frames_recall", "frames: structured PII recall", TARGETS["frames_recall"], True),
        ("typed_recall", "typed: structured PII recall", TARGETS["typed_recall"], True),
        ("words_covered", "frames: ordinary words covered", TARGETS["words_covered"], False),
        ("typed_code_fp_rate", "typed: code lines flagged", TARGETS["typed_code_fp_rate"], False),
    ):
        if key not in metrics:
            continue
        value = metrics[key]
        met = value >= target if higher else value <= target
        rows.append(
            [label, value, f"{'>=' if higher else '<='} {target}", "MET" if met else "NOT MET"]
        )
    if "frames_recall_wrapped" in metrics:
        rows.append(
            [
                "frames: structured PII wrapped over 2 lines",
                metrics["frames_recall_wrapped"],
                "(report)",
                "",
            ]
        )
    if "typed_fp_rate" in metrics:
        rows.append(["typed: sentences falsely flagged", metrics["typed_fp_rate"], "(report)", ""])
    return "TARGETS\n" + table(["metric", "measured", "target", ""], rows)


def ground_truth_note(results: Results) -> str:
    black = sum(s.black_in_input for s in results.screens)
    offsets = results.edge_offsets
    edges = [o for pair in offsets for o in pair]
    within = sum(-2 <= o <= 2 for o in edges) / len(edges) if edges else 0.0
    return (
        f"Ground truth: {results.ground_truth_boxes} ink boxes on {len(results.screens)} screens, "
        f"{results.dropped} items outside the visible area dropped, pure-black pixels in the "
        f"input frames: {black}. Self-check on {len(offsets)} space-delimited items: ink edges "
        f"lie {min(edges, default=0)}..{max(edges, default=0)} px inside the layout box "
        f"(side bearings), {within:.1%} of edges within 2 px. Phone region: {results.region}."
    )


def misses(results: Results, limit: int = 12) -> str:
    out = ["FRAME MISSES BY CAUSE (structured, SECRET and wrapped; names left out)"]
    missed = [
        i for i in results.items if i.truth.item.pii and i.category != "NAME" and not i.redacted
    ]
    by_cause: dict[str, list[ItemResult]] = defaultdict(list)
    for item in missed:
        by_cause[item.cause].append(item)
    for cause, items in sorted(by_cause.items(), key=lambda kv: -len(kv[1])):
        counts = Counter(i.category for i in items)
        out.append(
            f"- {cause}: {len(items)} ({', '.join(f'{c} {n}' for c, n in counts.most_common())})"
        )
        for item in items[:limit]:
            wrapped = " [wrapped]" if item.truth.wrapped else ""
            detail = f" ({item.detail})" if item.detail else ""
            out.append(
                f"    {item.screen:<11} {item.category:<12} {item.truth.item.variant:<18} "
                f"{item.truth.item.text!r} -> read {item.reading!r}, {item.black:.0%} black"
                f"{detail}{wrapped}"
            )
            out.append(f"{'':16}in line {item.line!r}")
    covered = [i for i in results.words() if i.covered]
    out.append("")
    out.append("ORDINARY WORDS COVERED, BY CAUSE")
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for item in covered:
        if item.detail == FALSE_HIT:
            groups[f"{FALSE_HIT} as {'/'.join(item.hit_categories)}"].append(item)
        else:
            groups[item.detail].append(item)
    for cause, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        counts = Counter(i.category for i in items)
        out.append(
            f"- {cause}: {len(items)} ({', '.join(f'{c} {n}' for c, n in counts.most_common())})"
        )
        for item in items[:limit]:
            out.append(
                f"    {item.screen:<11} {item.category:<9} {item.truth.item.text!r} -> read "
                f"{item.reading!r}, {item.black:.0%} black, in line {item.line!r}"
            )
    if results.typing is not None:
        typing = results.typing
        out.append("")
        out.append("TYPED MISSES")
        groups2: dict[str, list] = defaultdict(list)
        for t in typing.positives:
            if not t.redacted:
                groups2[t.item.category + " " + t.item.variant].append(t)
        for key, cases in sorted(groups2.items(), key=lambda kv: -len(kv[1])):
            out.append(f"- {key}: {len(cases)}")
            for t in cases[:limit]:
                out.append(f"    [{t.style}] {t.text!r} -> {t.summary!r}")
        out.append("")
        out.append("TYPED FALSE POSITIVES")
        groups3: dict[str, list] = defaultdict(list)
        for n in typing.negatives + typing.code_negatives:
            if n.flagged:
                groups3["/".join(sorted(set(n.flagged)))].append(n)
        for key, cases in sorted(groups3.items(), key=lambda kv: -len(kv[1])):
            out.append(f"- flagged as {key}: {len(cases)}")
            for n in cases[:limit]:
                out.append(f"    {n.text!r} -> {n.summary!r}")
    return "\n".join(out)


def full_report(results: Results, limit: int = 12) -> str:
    return "\n\n".join(
        [
            frames_tables(results),
            typing_tables(results),
            targets_table(results),
            ground_truth_note(results),
            misses(results, limit),
        ]
    )
