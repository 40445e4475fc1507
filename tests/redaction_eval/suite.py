"""The whole evaluation: build the screens on a private Xvfb, run the redactor on each, type
the typed-text cases, and summarise against the quality targets."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from app.core.redact import detectors
from app.core.redact.ocr import RapidOcrEngine, line_finding
from app.core.redact.text import TextScrubber
from app.core.settings import Settings
from tests.redaction_eval.corpus import STRUCTURED, Corpus
from tests.redaction_eval.frames_eval import ItemResult, ScreenResult, evaluate_screen
from tests.redaction_eval.screens import BUILDERS, Screen
from tests.redaction_eval.typing_eval import TypingResults, evaluate_typing
from tests.redaction_eval.xdisplay import Display

TARGETS = {
    "frames_recall": 0.99,  # structured personal data on screen, at least
    "typed_recall": 0.995,  # structured personal data in typed text, at least
    "words_covered": 0.01,  # ordinary words on screen at least half covered, at most
    "typed_code_fp_rate": 0.02,  # typed lines of code without secrets with a redaction, at most
}


@dataclass
class Plan:
    terminal: int = 4  # screens of each kind
    bitmap_terminal: int = 2
    form: int = 4
    document: int = 4
    terminal_rows: int = 50
    bitmap_rows: int = 24  # each row is a frame of its own there
    form_records: int = 6
    document_paragraphs: int = 14
    typed: int = 540
    negatives: int = 600
    paused: int = 54
    code_negatives: int = 300
    seed: int = 1729


@dataclass
class Results:
    plan: Plan
    region: str
    screens: list[ScreenResult] = field(default_factory=list)
    typing: TypingResults | None = None
    ground_truth_boxes: int = 0
    edge_offsets: list[tuple[int, int]] = field(default_factory=list)  # geometry self-check
    dropped: int = 0

    @property
    def items(self) -> list[ItemResult]:
        return [i for s in self.screens for i in s.items]

    def pii(self, structured: bool = True, wrapped: bool = False) -> list[ItemResult]:
        return [
            i
            for i in self.items
            if i.truth.item.pii
            and (i.category in STRUCTURED) == structured
            and i.truth.wrapped == wrapped
        ]

    def words(self) -> list[ItemResult]:
        return [i for i in self.items if not i.truth.item.pii]

    def metrics(self) -> dict[str, float]:
        """The numbers the targets are stated in."""
        out: dict[str, float] = {}
        pii = self.pii()
        if pii:
            out["frames_recall"] = sum(i.redacted for i in pii) / len(pii)
            for category in STRUCTURED:
                cat = [i for i in pii if i.category == category]
                if cat:
                    out[f"frames_recall.{category}"] = sum(i.redacted for i in cat) / len(cat)
        wrapped = self.pii(wrapped=True)
        if wrapped:
            out["frames_recall_wrapped"] = sum(i.redacted for i in wrapped) / len(wrapped)
        words = self.words()
        if words:
            out["words_covered"] = sum(i.covered for i in words) / len(words)
        if self.screens:
            out["ocr_cpu_s"] = sum(s.cpu_s for s in self.screens) / len(self.screens)
        if self.typing is not None:
            typed = [t for t in self.typing.positives if t.item.category in STRUCTURED]
            if typed:
                out["typed_recall"] = sum(t.redacted for t in typed) / len(typed)
                for category in STRUCTURED:
                    cases = [t for t in typed if t.item.category == category]
                    if cases:
                        out[f"typed_recall.{category}"] = sum(t.redacted for t in cases) / len(
                            cases
                        )
            negatives = self.typing.negatives
            if negatives:
                out["typed_fp_rate"] = sum(bool(n.flagged) for n in negatives) / len(negatives)
            code = self.typing.code_negatives
            if code:
                out["typed_code_fp_rate"] = sum(bool(n.flagged) for n in code) / len(code)
        return out


def build_screens(
    plan: Plan, work: Path, progress: Callable[[str], None] = lambda _: None
) -> list[Screen]:
    """Capture every screen of the plan on a private Xvfb (stopped before returning)."""
    region = detectors.default_region()
    screens: list[Screen] = []
    sizes: dict[str, dict[str, Any]] = {
        "terminal": {"rows": plan.terminal_rows},
        "bitmap terminal": {"rows": plan.bitmap_rows},
        "form": {"records": plan.form_records},
        "document": {"paragraphs": plan.document_paragraphs},
    }
    with Display(work / "x") as display:
        for kind in ("terminal", "form", "document", "bitmap terminal"):
            for n in range(getattr(plan, kind.replace(" ", "_"))):
                corpus = Corpus(plan.seed * 100 + len(screens), region)
                name = f"{kind.replace(' ', '-')}-{n + 1}"
                extra = {"index": n} if kind == "bitmap terminal" else {}
                screen = BUILDERS[kind](display, corpus, name, work, **sizes[kind], **extra)
                progress(f"captured {name}: {len(screen.truths)} labelled items")
                screens.append(screen)
    return screens


def save_screen(screen: Screen, result: ScreenResult, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(screen.pixels).save(folder / f"{screen.name}.png")
    if result.output is not None:
        Image.fromarray(result.output).save(folder / f"{screen.name}.redacted.png")
    truth = [
        {
            "category": t.item.category,
            "pii": t.item.pii,
            "text": t.item.text,
            "variant": t.item.variant,
            "boxes": t.boxes,
            "ink": t.ink,
        }
        for t in screen.truths
    ]
    (folder / f"{screen.name}.truth.json").write_text(json.dumps(truth, indent=1), "utf-8")


def run(
    plan: Plan,
    work: Path,
    save: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Results:
    scrubber = TextScrubber.from_settings(Settings())
    results = Results(plan, detectors.default_region())
    screens = build_screens(plan, work, progress)
    # The configuration that ships (see frames.default_frame_redactor): lines found as the
    # worker finds them, and changed areas widened by ink where lines are found by ink.
    find_lines = line_finding()
    engine = RapidOcrEngine(find_lines=find_lines)
    widen_by_ink = find_lines != "network"
    for screen in screens:
        results.ground_truth_boxes += sum(len(t.ink) for t in screen.truths)
        results.edge_offsets += [t.edge_offsets for t in screen.truths if t.edge_offsets]
        results.dropped += screen.dropped
        result = evaluate_screen(
            screen, engine, scrubber, keep_output=save is not None, widen_by_ink=widen_by_ink
        )
        progress(
            f"redacted {screen.name}: {result.lines} lines, {result.cpu_s:.1f} s CPU, "
            f"{result.wall_s:.1f} s wall"
        )
        if save is not None:
            save_screen(screen, result, save)
            result.output = None
        results.screens.append(result)
        screen.pixels = screen.pixels[:0]  # keep memory flat on long runs
    corpus = Corpus(plan.seed * 100 + 99, results.region)
    results.typing = evaluate_typing(
        corpus, scrubber.scrub, plan.typed, plan.negatives, plan.paused, plan.code_negatives
    )
    return results
