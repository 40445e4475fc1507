"""Redaction on the independent evaluation, reduced: the first five development seeds (one
screen of each kind: terminal, editor, mail, chat, key table) at 1280x800, and 210 typed
cases. The full runs are `python bench/redaction_independent.py` (development seeds) and
`--heldout`; held-out figures never go into tests.

The issue's targets are recall >= 0.99 per category on screen, typed recall >= 0.995, at
most 1% of ordinary words covered and at most 2% false positives on code-like typed text.
Each test asserts the level measured on this set as a floor (or ceiling), with the target
beside it: a ratchet, to be tightened as redaction improves, never loosened to let a
change pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.redaction_eval.independent.cases import KINDS
from tests.redaction_eval.independent.run import Plan, Results, report, run

# Its fixture reads five screens: about a minute of CPU, far more on a busy machine.
pytestmark = [pytest.mark.x11, pytest.mark.timeout(900)]

REDUCED = Plan(cases=5, typed=110, negatives=100, size=(1280, 800))

# Measured on REDUCED. Screens get one item of slack where an OCR difference between CPUs
# could flip one; typed text involves no OCR and is held exactly.
FLOORS = {
    "frames_recall": 0.985,  # target 0.99; measured 68/68 (one item of slack)
    "frames_recall_wrapped": 0.75,  # keys, wrapped tokens and URLs; measured 4/4
    "typed_recall": 0.972,  # target 0.995; measured 107/110
}
CEILINGS = {
    "words_covered": 0.013,  # target 0.01; measured 4/391 (one item of slack)
    "typed_fp_code": 0.0,  # target 0.02 (code and placeholders); measured 0/61
    "typed_fp": 0.0,  # measured 0/100
}
# Per category: (redacted, n) measured; a category may lose one item on screen, none typed.
SCREEN_BY_CATEGORY = {
    "EMAIL": (10, 10),
    "PHONE": (14, 14),
    "CARD": (2, 2),
    "IBAN": (1, 1),
    "SSN": (2, 2),
    "AWS_KEY": (3, 3),
    "GITHUB_TOKEN": (4, 4),
    "JWT": (1, 1),
    "BEARER": (1, 1),
    "PRIVATE_KEY": (1, 1),
    "URL_PASSWORD": (4, 4),
    "API_TOKEN": (21, 21),
    "SECRET": (4, 4),
}
TYPED_BY_CATEGORY = {
    "EMAIL": 10,
    "PHONE": 10,
    "CARD": 10,
    "IBAN": 10,
    "SSN": 9,
    "AWS_KEY": 10,
    "GITHUB_TOKEN": 10,
    "JWT": 10,
    "URL_PASSWORD": 10,
    "API_TOKEN": 9,
    "SECRET": 9,
}  # of 10 cases each


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    work: Path = tmp_path_factory.mktemp("independent-eval")
    measured = run("dev", REDUCED, work)
    print(report(measured, examples=3))  # shown with the first failure
    return measured


def test_ground_truth_is_sound(results: Results) -> None:
    assert {c.kind for c in results.cases} == set(KINDS)
    assert all(c.black_in_input == 0 for c in results.cases), "black must mean redaction"
    assert len(results.sensitive()) >= 50 and len(results.ordinary()) >= 300


def test_sensitive_items_on_screen_are_covered(results: Results) -> None:
    assert results.metrics()["frames_recall"] >= FLOORS["frames_recall"]


def test_items_over_several_rows_are_covered(results: Results) -> None:
    assert results.metrics()["frames_recall_wrapped"] >= FLOORS["frames_recall_wrapped"]


def test_few_ordinary_words_on_screen_are_covered(results: Results) -> None:
    assert results.metrics()["words_covered"] <= CEILINGS["words_covered"]


def test_sensitive_typed_text_is_redacted(results: Results) -> None:
    assert results.metrics()["typed_recall"] >= FLOORS["typed_recall"]


def test_typed_code_is_not_taken_for_secrets(results: Results) -> None:
    metrics = results.metrics()
    assert metrics["typed_fp_code"] <= CEILINGS["typed_fp_code"]
    assert metrics["typed_fp"] <= CEILINGS["typed_fp"]


@pytest.mark.parametrize("category", sorted(SCREEN_BY_CATEGORY))
def test_no_category_on_screen_falls_back(results: Results, category: str) -> None:
    items = [i for i in results.sensitive() if i.category == category]
    redacted, n = SCREEN_BY_CATEGORY[category]
    assert len(items) == n, "the reduced set changed: measure the floors again"
    assert sum(i.redacted for i in items) >= redacted - 1


@pytest.mark.parametrize("category", sorted(TYPED_BY_CATEGORY))
def test_no_category_typed_falls_back(results: Results, category: str) -> None:
    cases = [t for t in results.typed if t.sensitive and t.category == category]
    assert len(cases) == 10
    assert sum(t.redacted for t in cases) >= TYPED_BY_CATEGORY[category]
