"""Screens for the redaction evaluation: real windows on Xvfb, captured whole, with a
ground-truth box for every labelled item.

- terminal: xterm (DejaVu Sans Mono 11), boxes from the character cell grid;
- bitmap terminal: xterm with its small core bitmap fonts (6x13, the "fixed" default, and
  7x13), shown as if printed line by line, so the text is read in crops of a line or two;
- form: a Qt window of records with QLineEdit/QLabel fields, boxes from Qt's text layout;
- document: a QTextBrowser with paragraphs, boxes from QTextCursor positions.

A geometric box is the text's cell or layout rectangle; the box the evaluation scores is the
ink inside it (the tight rectangle of pixels that differ from the background), which is what
must not stay readable.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.redaction_eval.corpus import (
    DOCUMENT_SENTENCES,
    TERMINAL_TEMPLATES,
    Corpus,
    Item,
    Pii,
    Text,
)
from tests.redaction_eval.xdisplay import SCREEN_H, SCREEN_W, Display, wait_for

Rect = tuple[int, int, int, int]  # x, y, w, h

TERM_FONT = ("DejaVu Sans Mono", 11)
# xterm's default core font ("fixed" is 6x13 on most systems) and its slightly wider sibling;
# 13-pixel lines are the hardest text a terminal commonly shows.
BITMAP_FONTS = ("6x13", "7x13")
TERM_BG, TERM_FG = "#fbfbf3", "#1f2d5c"
TERM_BORDER = 4  # xterm -b: pixels between the window edge and the first cell
QT_SCRIPT = Path(__file__).with_name("qt_windows.py")
INK_THRESHOLD = 90  # sum of |channel - background| above which a pixel is ink
GLYPH_OVERHANG = 2  # pixels a glyph may reach past its advance (f, j, T, w)

FORM_FONTS = (("DejaVu Sans", 10), ("DejaVu Sans", 11), ("Nimbus Sans", 11), ("DejaVu Serif", 10))
DOC_FONTS: tuple[tuple[str, int], ...] = (
    ("DejaVu Sans", 11),
    ("DejaVu Serif", 12),
    ("Nimbus Sans", 11),
    ("Nimbus Roman", 12),
    ("DejaVu Sans Mono", 10),
    ("DejaVu Sans", 10),
)


@dataclass
class Truth:
    """One labelled item on screen."""

    item: Item
    boxes: list[Rect]  # geometric, one per visual line
    ink: list[Rect]  # tight ink inside each box (same order; empty boxes dropped)
    context: str  # the true text of the line, field or paragraph the item sits in
    span: tuple[int, int]  # the item's characters in `context`
    spaced: bool  # whitespace or a line end on both sides
    # Ink edge minus layout edge, left and right (None unless spaced and on one line).
    edge_offsets: tuple[int, int] | None = None

    @property
    def wrapped(self) -> bool:
        return len(self.boxes) > 1


@dataclass
class Screen:
    name: str
    kind: str
    pixels: np.ndarray
    truths: list[Truth] = field(default_factory=list)
    dropped: int = 0  # labelled items that fell outside the visible area
    window: Rect = (0, 0, SCREEN_W, SCREEN_H)
    rects: dict[str, list[Rect]] = field(default_factory=dict)
    # Text rows to show one at a time (from an empty window) instead of the screen at once:
    # the redactor then reads each new row as a crop, as it does while output is printed.
    reveal_rows: list[Rect] = field(default_factory=list)
    reveal_bg: tuple[int, int, int] = (0, 0, 0)


def background(region: np.ndarray) -> np.ndarray:
    flat = region.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    return colours[counts.argmax()].astype(np.int32)


def ink_mask(pixels: np.ndarray, rect: Rect, bg: np.ndarray | None = None) -> np.ndarray:
    x, y, w, h = rect
    region = pixels[y : y + h, x : x + w].astype(np.int32)
    if bg is None:
        bg = background(region)
    return np.abs(region - bg).sum(axis=2) > INK_THRESHOLD


def ink_box(pixels: np.ndarray, rect: Rect, bg: np.ndarray | None = None) -> Rect | None:
    """The tight rectangle of glyph ink inside `rect`. Rules such as a line edit's frame (ink
    in nearly every row of a column, or every column of a row) are not glyphs."""
    mask = _glyph_ink(pixels, rect, bg)
    if not mask.any():
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    x, y = rect[0], rect[1]
    return (
        x + int(cols[0]),
        y + int(rows[0]),
        int(cols[-1] - cols[0] + 1),
        int(rows[-1] - rows[0] + 1),
    )


def _glyph_ink(pixels: np.ndarray, rect: Rect, bg: np.ndarray | None = None) -> np.ndarray:
    mask = ink_mask(pixels, rect, bg)
    rules_v = mask.mean(axis=0) >= 0.9 if mask.shape[0] > 4 else np.zeros(mask.shape[1], bool)
    rules_h = mask.mean(axis=1) >= 0.9 if mask.shape[1] > 4 else np.zeros(mask.shape[0], bool)
    mask[:, rules_v] = False
    mask[rules_h, :] = False
    return mask


def _clip(rect: Rect) -> Rect | None:
    x, y, w, h = rect
    x0, y0, x1, y1 = max(0, x), max(0, y), min(SCREEN_W, x + w), min(SCREEN_H, y + h)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def attach_truth(
    screen: Screen,
    text: Text,
    rects: dict[str, list[Rect]],
    visible: Rect,
) -> None:
    """Ground truth for the labelled items of `text`, from their geometric rectangles."""
    spans = text.spans()
    plain = text.plain
    vx, vy, vw, vh = visible
    for item in text.items:
        boxes = list(rects.get(item.tag, []))
        inside = [
            b
            for b in boxes
            if b[0] >= vx and b[1] >= vy and b[0] + b[2] <= vx + vw and b[1] + b[3] <= vy + vh
        ]
        if not boxes or len(inside) != len(boxes):
            screen.dropped += 1
            continue
        a, b = spans[item.tag]
        spaced = (a == 0 or plain[a - 1].isspace()) and (b == len(plain) or plain[b].isspace())
        if spaced:
            # Glyphs such as f, j, T and w reach a pixel or two past their advance.
            boxes = [(x - GLYPH_OVERHANG, y, w + 2 * GLYPH_OVERHANG, h) for x, y, w, h in boxes]
        inks = [ib for box in boxes if (ib := ink_box(screen.pixels, box)) is not None]
        if not inks:
            screen.dropped += 1
            continue
        truth = Truth(item, boxes, inks, plain, (a, b), spaced)
        if spaced and not truth.wrapped:
            # Self-check of the geometry: how far inside the layout box the ink starts and
            # ends (side bearings, 0-2 px; negative: the glyph reaches past the box).
            (x, _, w, _), (ix, _, iw, _) = boxes[0], inks[0]
            truth.edge_offsets = (ix - (x + GLYPH_OVERHANG), (x + w - GLYPH_OVERHANG) - (ix + iw))
        screen.truths.append(truth)


def black_pixels(pixels: np.ndarray) -> int:
    return int((pixels == 0).all(axis=2).sum())


# -- terminal ----------------------------------------------------------------------------
WRAP_CATEGORIES = ("EMAIL", "CARD", "IBAN", "AWS_KEY", "GITHUB_TOKEN", "JWT", "TOKEN")
PEM_KINDS = ("RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY")
MIN_ROWS_FOR_KEY = 12  # terminals at least this tall show a private key being printed


def private_key_block(corpus: Corpus, rows: int) -> list[Text]:
    """`cat key.pem`: a BEGIN row, `rows` body rows (each labelled PRIVATE_KEY) and an END
    row. The BEGIN and END rows are not labelled: covering them is right, but they are not
    the secret, and not ordinary words either."""
    kind = corpus.rng.choice(PEM_KINDS)
    lines = []
    for text in (f"$ cat ~/.ssh/{corpus.faker().word()}.pem", f"-----BEGIN {kind}-----"):
        line = Text()
        line.fragments.append((text, None))
        lines.append(line)
    for body in corpus.private_key_rows(rows):
        line = Text()
        corpus.add_pii(line, Pii("PRIVATE_KEY", body, kind))
        lines.append(line)
    end = Text()
    end.fragments.append((f"-----END {kind}-----", None))
    return [*lines, end]


def wrapped_line(corpus: Corpus, cols: int) -> Text:
    """A line longer than the terminal, with personal data exactly where xterm wraps it."""
    while True:
        pii = corpus.pii(corpus.rng.choice(WRAP_CATEGORIES))
        words: list[str] = []
        while len(" ".join(words)) + 1 < cols - len(pii.text) + 2:
            words.append(corpus.faker().word())
        prefix = " ".join(words) + " "
        if len(prefix) < cols < len(prefix) + len(pii.text) - 1:
            text = Text()
            corpus.add_plain(text, prefix, "word")
            corpus.add_pii(text, pii)
            corpus.add_plain(text, " " + corpus.sentence(4), "word")
            return text


def terminal_lines(corpus: Corpus, rows: int, cols: int, wrapped: int) -> list[Text]:
    """Lines filling `rows` terminal rows; `wrapped` of them run over into a second row."""
    lines: list[Text] = []
    wrap_at = set(corpus.rng.sample(range(rows - 2 * wrapped), wrapped)) if wrapped else set()
    key_rows = min(6, rows // 4) if rows >= MIN_ROWS_FOR_KEY else 0
    key_at = corpus.rng.randrange(rows - key_rows - 3) if key_rows else -1
    used = 0
    while used < rows:
        if len(lines) == key_at and used + key_rows + 3 <= rows:
            block = private_key_block(corpus, key_rows)
            lines += block
            used += len(block)
            continue
        if len(lines) in wrap_at and used + 2 <= rows:
            text = wrapped_line(corpus, cols)
        else:
            text = corpus.fill(corpus.rng.choice(TERMINAL_TEMPLATES))
            if len(text.plain) > cols:
                continue
        rows_used = -(-len(text.plain) // cols)
        if used + rows_used > rows:
            continue  # a long wrapped item that would not fit below
        lines.append(text)
        used += rows_used
    return lines


def terminal_screen(
    display: Display,
    corpus: Corpus,
    name: str,
    work: Path,
    rows: int = 50,
    cols: int = 200,
    wrapped: int = 3,
    font: str | None = None,
) -> Screen:
    """An xterm showing generated lines; `font` names a core bitmap font (xterm -fn), else
    TERM_FONT (xterm -fa/-fs) is used."""
    lines = terminal_lines(corpus, rows, cols, wrapped)
    font_args = ["-fn", font] if font else ["-fa", TERM_FONT[0], "-fs", str(TERM_FONT[1])]
    content = work / f"{name}.txt"
    # Hide the cursor, print the lines without a final newline (no scrolling), then wait.
    content.write_text("\n".join(t.plain for t in lines), encoding="utf-8")
    term_rows = rows + 1
    proc = display.spawn(
        [
            "xterm",
            "-T",
            name,
            *font_args,
            "-bg",
            TERM_BG,
            "-fg",
            TERM_FG,
            "-cr",
            TERM_BG,
            "-b",
            str(TERM_BORDER),
            "-bw",
            "0",
            "+sb",
            "-geometry",
            f"{cols}x{term_rows}+10+8",
            "-e",
            "sh",
            "-c",
            f"printf '\\033[?25l'; cat '{content}'; exec sleep 100000",
        ],
        f"{name}.log",
    )
    try:
        geometry = wait_for(lambda: display.window_geometry(name), 20, f"the {name} window")
        assert geometry is not None
        wx, wy, ww, wh = geometry
        cell_w, rem_w = divmod(ww - 2 * TERM_BORDER, cols)
        cell_h, rem_h = divmod(wh - 2 * TERM_BORDER, term_rows)
        if rem_w or rem_h:
            raise RuntimeError(
                f"xterm geometry {ww}x{wh} is not a whole grid of {cols}x{term_rows}"
            )
        ox, oy = wx + TERM_BORDER, wy + TERM_BORDER
        last_row = (ox, oy + (rows - 1) * cell_h, cols * cell_w, cell_h)

        def drawn(frame: np.ndarray) -> bool:
            return bool(ink_mask(frame, last_row, np.array([251, 251, 243])).any())

        pixels = display.grab_settled(ready=drawn)
    finally:
        display.close(proc)
    screen = Screen(name, "terminal", pixels)
    if font:
        screen.kind = "bitmap terminal"
        screen.reveal_rows = [(ox, oy + r * cell_h, cols * cell_w, cell_h) for r in range(rows)]
        screen.reveal_bg = (251, 251, 243)
    row = 0
    for text in lines:
        rects: dict[str, list[Rect]] = {}
        for tag, (a, b) in text.spans().items():
            # xterm wraps a long line at the last column, in the middle of a word if need be.
            rects[tag] = [
                (
                    ox + (max(a, r * cols) - r * cols) * cell_w,
                    oy + (row + r) * cell_h,
                    (min(b, (r + 1) * cols) - max(a, r * cols)) * cell_w,
                    cell_h,
                )
                for r in range(a // cols, (b - 1) // cols + 1)
            ]
        attach_truth(screen, text, rects, (wx, wy, ww, wh))
        row += -(-len(text.plain) // cols)
    return screen


# -- Qt windows ----------------------------------------------------------------------------
def run_qt_window(display: Display, spec: dict, name: str, work: Path) -> Screen:
    spec_path, out_path = work / f"{name}.spec.json", work / f"{name}.rects.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    out_path.unlink(missing_ok=True)
    proc = display.spawn(
        [sys.executable, str(QT_SCRIPT), str(spec_path), str(out_path)],
        f"{name}.log",
        QT_QPA_PLATFORM="xcb",
    )
    try:
        wait_for(lambda: out_path.exists() or proc.poll() is not None, 30, f"the {name} window")
        if proc.poll() is not None:
            raise RuntimeError(f"the {name} window exited (see {work / (name + '.log')})")
        result = json.loads(out_path.read_text(encoding="utf-8"))
        time.sleep(0.2)
        pixels = display.grab_settled()
    finally:
        display.close(proc)
    return Screen(
        name,
        spec["kind"],
        pixels,
        window=tuple(result["window"]),
        rects={k: [tuple(r) for r in v] for k, v in result["rects"].items()},
    )


def _field(corpus: Corpus, label: str, value: Text) -> dict:
    label_text = Text()
    corpus.add_plain(label_text, label, "word")
    widget = corpus.rng.choice(("lineedit", "lineedit", "label"))
    return {"label": label_text, "value": value, "widget": widget}


FORM_NOTES = (
    "{sentence}",
    "prefers {PHONE} after {time}",
    "backup contact {EMAIL}",
    "{sentence} since {date}",
    "old card {CARD} expired",
    "test key {AWS_KEY}",
    "ticket {order_id} reopened {date}",
)


def form_records(corpus: Corpus, count: int) -> list[dict]:
    records = []
    for n in range(count):
        fields = [
            _field(corpus, "Name", corpus.fill("{NAME}")),
            _field(corpus, "Email", corpus.fill("{EMAIL}")),
            _field(corpus, "Phone", corpus.fill("{PHONE}")),
            _field(corpus, "Card number", corpus.fill("{CARD}")),
            _field(corpus, "IBAN", corpus.fill("{IBAN}")),
            _field(corpus, "SSN", corpus.fill("{SSN}")),
            _field(corpus, "Order", corpus.fill("{order_id}")),
            _field(corpus, "Customer since", corpus.fill("{date}")),
            _field(corpus, "Notes", corpus.fill(corpus.rng.choice(FORM_NOTES))),
        ]
        records.append({"title": f"Customer {n + 1}", "fields": fields})
    return records


def form_screen(
    display: Display, corpus: Corpus, name: str, work: Path, records: int = 6, columns: int = 3
) -> Screen:
    font = corpus.rng.choice(FORM_FONTS)
    recs = form_records(corpus, records)
    spec = {
        "kind": "form",
        "title": name,
        "x": 16,
        "y": 12,
        "w": 1888,
        "h": 1050,
        "font": font,
        "columns": columns,
        "records": [
            {
                "title": r["title"],
                "fields": [
                    {
                        "label": f["label"].fragments,
                        "value": f["value"].fragments,
                        "widget": f["widget"],
                    }
                    for f in r["fields"]
                ],
            }
            for r in recs
        ],
    }
    screen = run_qt_window(display, spec, name, work)
    for r in recs:
        for f in r["fields"]:
            for text in (f["label"], f["value"]):
                attach_truth(screen, text, screen.rects, screen.window)
    return screen


def document_paragraphs(corpus: Corpus, count: int) -> list[tuple[Text, tuple[str, int]]]:
    paragraphs = []
    for _ in range(count):
        text = Text()
        for i in range(corpus.rng.randint(2, 5)):
            part = corpus.fill(corpus.rng.choice(DOCUMENT_SENTENCES))
            if i:
                text.fragments.append((" ", None))
            text.fragments += part.fragments
            text.items += part.items
        paragraphs.append((text, corpus.rng.choice(DOC_FONTS)))
    return paragraphs


def document_screen(
    display: Display, corpus: Corpus, name: str, work: Path, paragraphs: int = 14
) -> Screen:
    paras = document_paragraphs(corpus, paragraphs)
    spec = {
        "kind": "document",
        "title": name,
        "x": 180,
        "y": 12,
        "w": 1560,
        "h": 1056,
        "font": DOC_FONTS[0],
        "paragraphs": [{"font": font, "fragments": text.fragments} for text, font in paras],
    }
    screen = run_qt_window(display, spec, name, work)
    for text, _font in paras:
        attach_truth(screen, text, screen.rects, screen.window)
    return screen


def bitmap_terminal_screen(
    display: Display, corpus: Corpus, name: str, work: Path, rows: int = 50, index: int = 0
) -> Screen:
    """A terminal in a small bitmap font, fonts taken in turn; 13-pixel cells fit more rows."""
    font = BITMAP_FONTS[index % len(BITMAP_FONTS)]
    cols = 200 if font == "6x13" else 180
    return terminal_screen(display, corpus, name, work, rows=rows, cols=cols, font=font)


BUILDERS: dict[str, Callable[..., Screen]] = {
    "terminal": terminal_screen,
    "bitmap terminal": bitmap_terminal_screen,
    "form": form_screen,
    "document": document_screen,
}
