"""A whole run of the independent evaluation for one seed family, and its report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from tests.redaction_eval.independent.cases import KINDS, build_case
from tests.redaction_eval.independent.score import CaseResult, Scored, new_redactor, score_case
from tests.redaction_eval.independent.seeds import FAMILIES, case_seed
from tests.redaction_eval.independent.text import ORDINARY, SENSITIVE
from tests.redaction_eval.independent.typed import TypedCase, typed_split

TYPED_SEED_OFFSET = 500  # the typed split's seed within a family, apart from the screens'


@dataclass
class Plan:
    cases: int = 20  # screens; case n is of kind KINDS[n % 5]
    typed: int = 330  # typed cases with sensitive data
    negatives: int = 300  # typed cases without
    size: tuple[int, int] | None = None  # None: each case picks its own screen size


@dataclass
class Results:
    family: str
    plan: Plan
    cases: list[CaseResult] = field(default_factory=list)
    typed: list[TypedCase] = field(default_factory=list)

    @property
    def items(self) -> list[Scored]:
        return [i for c in self.cases for i in c.items]

    def sensitive(self) -> list[Scored]:
        return [i for i in self.items if i.sensitive]

    def ordinary(self) -> list[Scored]:
        return [i for i in self.items if not i.sensitive]

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        pii = self.sensitive()
        if pii:
            out["frames_recall"] = _share(i.redacted for i in pii)
            out["frames_recall_box"] = _share(i.redacted_box for i in pii)
            for cat in SENSITIVE:
                sub = [i for i in pii if i.category == cat]
                if sub:
                    out[f"frames_recall.{cat}"] = _share(i.redacted for i in sub)
            wrapped = [i for i in pii if i.wrapped]
            if wrapped:
                out["frames_recall_wrapped"] = _share(i.redacted for i in wrapped)
        words = self.ordinary()
        if words:
            out["words_covered"] = _share(i.covered for i in words)
            code = [i for i in words if i.category in ("code", "placeholder")]
            if code:
                out["code_covered"] = _share(i.covered for i in code)
        pos = [t for t in self.typed if t.sensitive]
        if pos:
            out["typed_recall"] = _share(t.redacted for t in pos)
        neg = [t for t in self.typed if not t.sensitive]
        if neg:
            out["typed_fp"] = _share(t.redacted for t in neg)
            code = [t for t in neg if t.category in ("code", "placeholder")]
            if code:
                out["typed_fp_code"] = _share(t.redacted for t in code)
        if self.cases:
            out["dropped_frames"] = sum(c.dropped_frame for c in self.cases)
        return out


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0


def run(
    family: str,
    plan: Plan,
    work: Path,
    save: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Results:
    if family not in FAMILIES:
        raise ValueError(f"unknown seed family {family!r}; use one of {', '.join(FAMILIES)}")
    results = Results(family, plan)
    redactor = new_redactor()
    for n in range(plan.cases):
        kind = KINDS[n % len(KINDS)]
        case = build_case(kind, case_seed(family, n), work, plan.size)
        result = score_case(case, redactor)
        progress(
            f"{case.name} {case.size[0]}x{case.size[1]} {case.detail}: {len(case.truths)} items, "
            f"{result.cpu_s:.1f} s CPU"
        )
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            Image.fromarray(case.frames[-1]).save(save / f"{case.name}.png")
        results.cases.append(result)
    results.typed = typed_split(case_seed(family, TYPED_SEED_OFFSET), plan.typed, plan.negatives)
    return results


# -- report ------------------------------------------------------------------------------------
def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [list(map(str, header))] + [
        [f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows
    ]
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


def _rate(flags: list[bool]) -> str:
    return f"{sum(flags) / len(flags):.3f}" if flags else "-"


def report(results: Results, examples: int = 8) -> str:
    out = [f"INDEPENDENT EVALUATION, {results.family} seeds ({len(results.cases)} screens)"]
    pii = results.sensitive()
    rows = []
    for cat in (*SENSITIVE, None):
        sub = [i for i in pii if cat is None or i.category == cat]
        if not sub:
            continue
        row: list[object] = [cat or "ALL SENSITIVE", len(sub), sum(i.redacted for i in sub)]
        row += [_rate([i.redacted for i in sub]), _rate([i.redacted_box for i in sub])]
        row += [_rate([i.redacted for i in sub if i.kind == k]) for k in KINDS]
        row += [
            _rate([i.redacted for i in sub if i.dark]),
            _rate([i.redacted for i in sub if i.wrapped]),
        ]
        rows.append(row)
    out.append(
        "\nSCREENS: sensitive items redacted (every character >= 95% black and >= 95% of the ink"
        " box); 'box 95%' = the first evaluation's measure alone"
    )
    out.append(
        table(["category", "n", "redacted", "recall", "box 95%", *KINDS, "dark", "wrapped"], rows)
    )

    words = results.ordinary()
    rows = []
    for kind in (*ORDINARY, None):
        sub = [i for i in words if kind is None or i.category == kind]
        if sub:
            rows.append(
                [
                    kind or "ALL ORDINARY",
                    len(sub),
                    sum(i.covered for i in sub),
                    _rate([i.covered for i in sub]),
                ]
            )
    out.append("\nSCREENS: ordinary words covered (>= 50% of the word's ink box black)")
    out.append(table(["kind", "n", "covered", "share"], rows))

    rows = []
    for kind in KINDS:
        cases = [c for c in results.cases if c.kind == kind]
        if cases:
            rows.append(
                [
                    kind,
                    len(cases),
                    sum(c.cpu_s for c in cases) / len(cases),
                    max(c.cpu_s for c in cases),
                    sum(c.dropped_frame for c in cases),
                ]
            )
    out.append("\nSCREENS: redaction CPU per case (all its frames; redactor and OCR worker)")
    out.append(table(["kind", "cases", "CPU s mean", "CPU s max", "frames dropped"], rows))

    typed = results.typed
    if typed:
        rows = []
        pos = [t for t in typed if t.sensitive]
        for cat in (*SENSITIVE, None):
            sub = [t for t in pos if cat is None or t.category == cat]
            if sub:
                rows.append(
                    [
                        cat or "ALL SENSITIVE",
                        len(sub),
                        sum(t.redacted for t in sub),
                        _rate([t.redacted for t in sub]),
                    ]
                    + [
                        _rate([t.redacted for t in sub if t.style == s])
                        for s in ("clean", "slip", "hesitant")
                    ]
                )
        out.append(
            "\nTYPED: sensitive data redacted (every key cleared, nothing left in the summary)"
        )
        out.append(
            table(["category", "n", "redacted", "recall", "clean", "slip", "hesitant"], rows)
        )
        neg = [t for t in typed if not t.sensitive]
        by_kind: dict[str, list[TypedCase]] = defaultdict(list)
        for t in neg:
            by_kind[t.category].append(t)
        rows = [
            [k, len(v), sum(t.redacted for t in v), _rate([t.redacted for t in v])]
            for k, v in sorted(by_kind.items())
        ]
        rows.append(
            ["ALL", len(neg), sum(t.redacted for t in neg), _rate([t.redacted for t in neg])]
        )
        out.append("\nTYPED: false positives on cases without sensitive data")
        out.append(table(["kind", "n", "flagged", "rate"], rows))

    if examples and results.family == "dev":
        out.append("\nMISSES (development seeds only; a held-out run never lists its items)")
        missed: dict[str, list[Scored]] = defaultdict(list)
        for i in pii:
            if not i.redacted:
                missed[f"{i.category} {i.truth.label.variant}"].append(i)
        for key, items in sorted(missed.items(), key=lambda kv: -len(kv[1])):
            out.append(f"- {key}: {len(items)}")
            for i in items[:examples]:
                out.append(
                    f"    {i.case}: {i.chars_bare} of {len(i.truth.chars)} characters bare, box {i.box_share:.0%}, {i.truth.rows} row(s)"
                )
        covered = [i for i in words if i.covered]
        if covered:
            out.append(
                "- ordinary words covered: "
                + ", ".join(
                    f"{i.truth.text!r} ({i.category}, {i.case})" for i in covered[: examples * 2]
                )
            )
        for t in typed:
            if t.sensitive and not t.redacted:
                out.append(
                    f"- typed miss {t.category} {t.variant} [{t.style}]: {t.text!r} -> {t.summary!r}"
                )
            elif not t.sensitive and t.redacted:
                out.append(f"- typed false positive [{t.category}]: {t.text!r} -> {t.summary!r}")
    out.append("\nSUMMARY (targets of the on-screen redaction issue)")
    metrics = results.metrics()
    rows = [
        [label, metrics[key], target]
        for key, label, target in (
            ("frames_recall", "screens: sensitive recall", ">= 0.99 per category"),
            ("frames_recall_wrapped", "screens: items over 2+ rows", ">= 0.99"),
            ("words_covered", "screens: ordinary words covered", "<= 0.01"),
            ("code_covered", "screens: code and placeholders covered", "(report)"),
            ("typed_recall", "typed: sensitive recall", ">= 0.995"),
            ("typed_fp_code", "typed: code-like cases flagged", "<= 0.02"),
            ("typed_fp", "typed: all cases without data flagged", "(report)"),
        )
        if key in metrics
    ]
    out.append(table(["metric", "measured", "target"], rows))
    black = sum(c.black_in_input for c in results.cases)
    out.append(
        f"\nGround truth: {len(results.items)} items; pure-black pixels in the input frames: {black}."
    )
    return "\n".join(out)
