"""Items on screen that span rows or that the engine read with spaces inside: private key
blocks, tokens wrapped over several rows, JWTs and URLs read with gaps. Lines are given as the
engine would return them (a fixed-pitch layout), so the logic is tested exactly."""

from __future__ import annotations

import base64
import random

import pytest

from app.core.redact.layout import hit_boxes
from app.core.redact.ocr import TextBox
from app.core.redact.ocr_text import LineHits
from app.core.redact.text import TextScrubber
from app.core.settings import Settings
from tests.unit.cpu import cpu_timer

CHAR_W, LINE_H = 8, 16


def _row(text: str, row: int, x: int = 16) -> TextBox:
    return TextBox(x, 20 + row * LINE_H, len(text) * CHAR_W, LINE_H, text, 0.9)


def _covered(lines: list[TextBox]) -> list[str]:
    """What gets covered, line by line: the union of each line's hits."""
    found = LineHits(TextScrubber.from_settings(Settings())).find(lines)
    out = []
    for line, hits in zip(lines, found):
        marks = [False] * len(line.text)
        for h in hits:
            for i in range(h.start, h.end):
                marks[i] = True
        out.append("".join(c if m else "_" for c, m in zip(line.text, marks)))
    return out


def _key_body(rows: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    raw = base64.b64encode(bytes(rng.randrange(256) for _ in range(48 * rows))).decode()
    return [raw[i : i + 64] for i in range(0, 64 * rows, 64)]


def test_every_row_of_a_private_key_block_is_covered() -> None:
    body = _key_body(5)
    texts = [
        "$ cat deploy.pem",
        "-----BEGIN RSA PRIVATE KEY-----",
        *body,
        "-----END RSA PRIVATE KEY-----",
        "$ ls -l",
    ]
    lines = [_row(t, n) for n, t in enumerate(texts)]
    covered = _covered(lines)
    assert covered[0] == "_" * len(texts[0])
    assert covered[-1] == "_" * len(texts[-1])
    for text, got in zip(texts[1:-1], covered[1:-1]):
        assert got == text  # every character of BEGIN, body and END rows


def test_a_key_block_whose_end_is_not_visible_is_covered_to_the_end_of_the_block() -> None:
    body = _key_body(4)
    texts = ["-----BEGIN OPENSSH PRIVATE KEY-----", *body]
    lines = [_row(t, n) for n, t in enumerate(texts)]
    lines.append(_row("a status line further down", len(texts) + 2))  # after a blank row
    covered = _covered(lines)
    assert covered[:-1] == texts
    assert set(covered[-1]) == {"_"}


def test_a_key_block_whose_begin_scrolled_away_is_covered_above_its_end() -> None:
    body = _key_body(3)
    texts = ["total 12 files", *body, "-----END PRIVATE KEY-----", "$"]
    lines = [_row(t, n) for n, t in enumerate(texts)]
    covered = _covered(lines)
    assert covered[1:4] == body
    assert set(covered[0]) == {"_"}


def test_a_body_row_the_engine_split_in_two_is_covered_whole() -> None:
    body = _key_body(2)
    first = _row(body[0][:30], 1)
    rest = _row(body[0][30:], 1, x=16 + 31 * CHAR_W)  # read as a second box on the row
    lines = [_row("-----BEGIN PRIVATE KEY-----", 0), first, rest, _row(body[1], 2)]
    covered = _covered(lines)
    assert covered[1] == first.text and covered[2] == rest.text and covered[3] == body[1]


def _jwt(seed: int = 3) -> str:
    rng = random.Random(seed)
    b64 = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_") for _ in range(43))
    return (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MjQyNDIiLCJpYXQiOjE3MDAwMDAwMDB9." + b64
    )


def test_a_token_wrapped_over_three_rows_is_covered_on_every_row() -> None:
    token = _jwt()
    cols = 50
    text = "Authorization: Bearer " + token + " done"
    rows = [text[i : i + cols] for i in range(0, len(text), cols)]
    filler = [_row("x" * cols, 0), _row("y" * cols, 1)]  # full rows: a character grid
    lines = filler + [_row(r, n + 2) for n, r in enumerate(rows)]
    covered = _covered(lines)[2:]
    joined = "".join(covered)
    start = text.index(token)
    assert joined[start : start + len(token)] == token
    assert joined[-4:] == "____"  # "done" stays readable


def test_a_token_wrapped_after_rows_of_words_is_covered_and_rows_of_words_are_not_chained() -> None:
    """Rows as wide as their terminal chain up as possibly wrapped (`top`, a log). An item over
    three rows covers its middle rows whole, so only rows that read as one token are read
    together with their neighbours; rows of words are not, and the token after them is."""
    cols = 50
    words = [
        f"{pid:5d} root 20 0 {pid * 7:7d} S 0.0 kworker/{pid}".ljust(cols) for pid in range(12)
    ]
    token = _jwt(5)
    text = "Authorization: Bearer " + token + " done"
    rows = words + [text[i : i + cols] for i in range(0, len(text), cols)]
    lines = [_row(r[:cols], n) for n, r in enumerate(rows)]
    joined_texts: list[str] = []

    class Counting(LineHits):
        def text_hits(self, text: str) -> list:  # type: ignore[type-arg]
            if len(text) > 2 * cols:
                joined_texts.append(text)
            return super().text_hits(text)

    found = Counting(TextScrubber.from_settings(Settings())).find(lines)
    covered = []
    for line, hits in zip(lines, found, strict=True):
        marks = [any(h.start <= i < h.end for h in hits) for i in range(len(line.text))]
        covered.append("".join(c if m else "_" for c, m in zip(line.text, marks, strict=True)))
    joined = "".join(covered[len(words) :])
    start = text.index(token)
    assert joined[start : start + len(token)] == token
    assert all(set(row) == {"_"} for row in covered[: len(words) - 1])
    assert not any(all(f"kworker/{n} " in t for n in (3, 4, 5)) for t in joined_texts)


@pytest.mark.parametrize(
    ("text", "item"),
    [
        (
            "Bearer ey JhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N until",
            "ey JhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N",
        ),
        (
            "token ghp_ab12Cd34Ef56 Gh78Ij90Kl12Mn34Op56Qr78St ok",
            "ghp_ab12Cd34Ef56 Gh78Ij90Kl12Mn34Op56Qr78St",
        ),
        ("see https: //bob :s3cret@example.com/x now", "https: //bob :s3cret@"),
        ("key AKIA IOSFODNN7EXAMPLE here", "AKIA IOSFODNN7EXAMPLE"),
        (
            "Authorization: Bearer mRDrPj .M9VuGkAtKk1dAJ1Y10Ymuyt0AnwwMI_y-4KV6AayiaQdIJ5e",
            "mRDrPj .M9VuGkAtKk1dAJ1Y10Ymuyt0AnwwMI_y-4KV6AayiaQdIJ5e",
        ),
    ],
)
def test_an_item_read_with_spaces_inside_is_covered_whole(text: str, item: str) -> None:
    [covered] = _covered([_row(text, 0)])
    start = text.index(item)
    assert covered[start : start + len(item)] == item
    # The box reaches over the whole item, past the spaces the engine put in it.
    line = _row(text, 0)
    hits = LineHits(TextScrubber.from_settings(Settings())).find([line])[0]
    boxes = [b for b in hit_boxes(line, hits) if b[0] <= line.x + start * CHAR_W]
    assert max(b[0] + b[2] for b in boxes) >= line.x + (start + len(item)) * CHAR_W


def test_an_equals_sign_read_as_a_dash_still_marks_a_value() -> None:
    [covered] = _covered([_row("SECRET_KEY - s3cr3tV4lu3x9", 0)])
    assert covered.endswith("s3cr3tV4lu3x9")


def test_words_next_to_tokens_and_ordinary_spaced_text_stay_readable() -> None:
    texts = [
        "the ghp_ prefix is used for tokens and this sentence is long enough",
        "v1.2.3 build 4111 took 12 s",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N until then",
    ]
    covered = _covered([_row(t, n * 3) for n, t in enumerate(texts)])
    assert set(covered[0]) == {"_"} and set(covered[1]) == {"_"}
    assert covered[2].endswith("_" * len(" until then"))


def test_many_full_rows_are_read_together_quickly() -> None:
    rng = random.Random(5)
    words = ["alpha", "beta", "gamma", "delta", "order", "2024-05-01", "42", "ok"]
    rows = []
    for n in range(60):
        text = ""
        while len(text) < 120:
            text += rng.choice(words) + " "
        rows.append(_row(text[:120], n))
    finder = LineHits(TextScrubber.from_settings(Settings()))
    finder.find([_row("warm up 030 12345678", 0)])
    with cpu_timer() as timer:
        finder.find(rows)
    assert timer.seconds < 1.0


def test_a_key_block_ends_at_ordinary_output_when_its_end_row_is_misread() -> None:
    body = _key_body(3)
    texts = ["-----BEGIN RSA PRIVATE KEY-----", *body, "-----EN0 RSA PR1VATE K3Y-----"]
    texts += ["2024-05-01 12:00:01 INFO sepa mandate active", "$ ls -l"]
    covered = _covered([_row(t, n) for n, t in enumerate(texts)])
    assert covered[1:4] == body
    assert set(covered[-2]) == {"_"} and set(covered[-1]) == {"_"}


def test_a_random_token_is_not_run_on_into_a_label_glued_to_it_in_a_grid() -> None:
    token = "vwK4EdG9ixdR8UTqwX8Tth5O"
    label = _row("picture-api-key", 0)
    value = _row(token, 0, x=16 + 16 * CHAR_W)
    covered = _covered([label, value])
    assert set(covered[0]) == {"_"} and covered[1] == token
