"""Keys shown in tables and forms: a cell under a column headed "API key", "Secret" or
"Token", or the value beside a row label such as "Access token", holds key material, even in
hexadecimal, which the detectors otherwise leave alone as a digest (see secrets). The label
is what says so, never the shape alone: the same 40 hex characters in a "Fingerprint" or
"Commit" column stay readable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from app.core.redact.ocr import TextBox
from app.core.redact.secrets import NOT_SECRET_KEY

# A heading or row label that names a secret: "Key", "API key", "Secret key", "Access token",
# "Client secret:", "Password". Up to two words before the noun, nothing after it but a colon.
_SECRET_LABEL = re.compile(
    r"(?i)^(?:[a-z0-9]+[ _\-]){0,2}?"
    r"(?:keys?|secrets?|tokens?|pass(?:word|wd|phrase)s?|credentials?)\s*:?$"
)
# A cell of key material: one run of the characters keys are written in, letters and digits
# both, long enough not to be a word, a count or a short id.
_KEY_MATERIAL = re.compile(r"^[A-Za-z0-9+/_\-.=]{16,512}$")
MAX_LABEL_WORDS = 4
# Rows of a column further apart than this many label heights end it (another block begins).
COLUMN_GAP_HEIGHTS = 3.0
MAX_COLUMN_ROWS = 200


def is_secret_label(text: str) -> bool:
    label = text.strip()
    return (
        len(label.split()) <= MAX_LABEL_WORDS
        and _SECRET_LABEL.match(label) is not None
        and NOT_SECRET_KEY.search(label) is None
    )


def is_key_material(text: str) -> bool:
    cell = text.strip()
    return (
        _KEY_MATERIAL.match(cell) is not None
        and any(c.isdigit() for c in cell)
        and any(c.isalpha() for c in cell)
    )


def _centre_y(line: TextBox) -> float:
    return line.y + line.h / 2


def _column_span(lines: Sequence[TextBox], head: TextBox) -> tuple[float, float]:
    """The columns a heading's cells may lie in: between the headings beside it on its row.
    A heading is centred over its column as often as not, and its short cells, aligned left,
    need not reach under it. A heading alone on its row has only its own span."""
    cy = _centre_y(head)
    left, right = float(head.x), float(head.x + head.w)
    siblings = [
        line
        for line in lines
        if line is not head and abs(_centre_y(line) - cy) < 0.5 * min(line.h, head.h)
    ]
    if not siblings:
        return left, right
    before = [ln.x + ln.w for ln in siblings if ln.x + ln.w <= head.x]
    after = [ln.x for ln in siblings if ln.x >= head.x + head.w]
    return (max(before) if before else -math.inf), (min(after) if after else math.inf)


def _in_column(line: TextBox, head: TextBox, span: tuple[float, float]) -> bool:
    if line.x <= head.x + head.w and head.x <= line.x + line.w:
        return True  # under the heading
    return span[0] <= line.x and line.x + line.w <= span[1]


def _column_cells(lines: Sequence[TextBox], order: Sequence[int], head: TextBox) -> list[int]:
    """The lines below a column heading that lie in its column, down to the first gap too
    wide for a row of the same table."""
    found: list[int] = []
    span = _column_span(lines, head)
    last_y = _centre_y(head)
    taken = 0
    for i in order:
        line = lines[i]
        cy = _centre_y(line)
        if cy <= _centre_y(head) + 0.5 * head.h:
            continue
        if not _in_column(line, head, span):
            continue
        if cy - last_y > COLUMN_GAP_HEIGHTS * max(head.h, line.h):
            break
        last_y = cy
        taken += 1
        if taken > MAX_COLUMN_ROWS:
            break
        if is_key_material(line.text):
            found.append(i)
    return found


def _row_value(lines: Sequence[TextBox], label: TextBox) -> int | None:
    """The nearest line right of a row label, on its row."""
    cy = _centre_y(label)
    best: int | None = None
    for i, line in enumerate(lines):
        if line.x < label.x + label.w or abs(_centre_y(line) - cy) >= 0.5 * min(line.h, label.h):
            continue
        if best is None or line.x < lines[best].x:
            best = i
    return best


def labelled_key_cells(lines: Sequence[TextBox]) -> list[int]:
    """The lines that hold key material under a heading or beside a label naming a secret."""
    labels = [i for i, line in enumerate(lines) if is_secret_label(line.text)]
    if not labels:
        return []
    order = sorted(range(len(lines)), key=lambda i: _centre_y(lines[i]))
    found: set[int] = set()
    for i in labels:
        found.update(_column_cells(lines, order, lines[i]))
        beside = _row_value(lines, lines[i])
        if beside is not None and is_key_material(lines[beside].text):
            found.add(beside)
    return sorted(found)
