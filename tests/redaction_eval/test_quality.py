"""Redaction quality on a reduced labelled set (one xterm, one xterm in the 6x13 bitmap font
printed line by line, one Qt form, one Qt document, about
a hundred typed sentences); the full set is `python bench/redaction_quality.py`.

Targets: structured personal data on screen recall >= 0.99, in typed text >= 0.995; at most 1%
of ordinary words on screen covered; at most 2% of typed lines of code without secrets
redacted. A target the code meets is asserted as such. Where it
does not yet, the test asserts the level measured today as a floor, with the target beside
it: a ratchet, to be raised as fixes land, never lowered to make a change pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.redaction_eval.report import full_report
from tests.redaction_eval.suite import TARGETS, Plan, Results, run

pytestmark = pytest.mark.x11

REDUCED = Plan(
    terminal=1,
    bitmap_terminal=1,
    form=1,
    document=1,
    terminal_rows=14,
    bitmap_rows=12,
    form_records=3,
    document_paragraphs=4,
    typed=99,
    negatives=100,
    paused=9,
    code_negatives=100,
    seed=1729,
)

# Levels measured on REDUCED where the target is not met yet (or is met with no room for the
# noise of a set this small), with one item of slack for OCR differences between CPUs. Raise
# them as fixes land; the bench lists the misses by cause.
FLOORS: dict[str, float] = {
    # Target 0.99, measured 36/37 (the set holds private key rows, random tokens and the SSN,
    # card, IBAN and phone variants; the detectors before them found 26/37). At 37 items the
    # target allows no miss; the floor stays where it was (one miss allowed).
    "frames_recall": 0.96,
    # One category alone: a floor of one item of slack where it has few items.
    "frames_recall.PHONE": 0.83,  # measured 5/6 (a 00 number read glued to words; since fixed)
    # No target of its own (values split over two screen lines); measured 1/2: an address in
    # the 6x13 bitmap font wrapped at the row end is 85% covered, short of the 95% that counts.
    "frames_recall_wrapped": 0.5,
    # Target 0.01, measured 2/306 (0.007): one more word is within the target, two are not.
    "words_covered": 0.013,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    work: Path = tmp_path_factory.mktemp("redaction-eval")
    measured = run(REDUCED, work)
    print(full_report(measured, limit=5))  # shown with the first failure
    return measured


def test_ground_truth_is_sound(results: Results) -> None:
    assert all(s.black_in_input == 0 for s in results.screens), "black must mean redaction"
    edges = [e for pair in results.edge_offsets for e in pair]
    assert edges and min(edges) >= -2 and max(edges) <= 3, "boxes must match the glyphs"
    assert results.ground_truth_boxes > 300


def test_structured_pii_on_screen_is_covered(results: Results) -> None:
    recall = results.metrics()["frames_recall"]
    assert recall >= FLOORS.get("frames_recall", TARGETS["frames_recall"])


@pytest.mark.parametrize(
    "category", ["EMAIL", "PHONE", "IBAN", "SSN", "AWS_KEY", "TOKEN", "PRIVATE_KEY"]
)
def test_each_category_on_screen_is_covered(results: Results, category: str) -> None:
    recall = results.metrics().get(f"frames_recall.{category}")
    assert recall is not None, f"no {category} on the reduced screens"
    assert recall >= FLOORS.get(f"frames_recall.{category}", TARGETS["frames_recall"])


def test_structured_pii_wrapped_over_two_lines_is_covered(results: Results) -> None:
    assert results.metrics()["frames_recall_wrapped"] >= FLOORS["frames_recall_wrapped"]


def test_few_ordinary_words_on_screen_are_covered(results: Results) -> None:
    covered = results.metrics()["words_covered"]
    assert covered <= FLOORS.get("words_covered", TARGETS["words_covered"])


def test_structured_pii_in_typed_text_is_redacted(results: Results) -> None:
    recall = results.metrics()["typed_recall"]
    assert recall >= FLOORS.get("typed_recall", TARGETS["typed_recall"])


def test_typed_sentences_without_pii_are_kept(results: Results) -> None:
    rate = results.metrics()["typed_fp_rate"]
    assert rate <= FLOORS.get("typed_fp_rate", 0.02)


def test_typed_code_without_secrets_is_kept(results: Results) -> None:
    rate = results.metrics()["typed_code_fp_rate"]
    assert rate <= FLOORS.get("typed_code_fp_rate", TARGETS["typed_code_fp_rate"])
