"""Finding lines of text from their ink, joining the pieces of a row, and reading lines with
the recognition network alone, each line's reading remembered by its pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from app.core.redact.line_reader import joined_rows
from app.core.redact.lines import column_gap, find_lines
from app.core.redact.ocr import RapidOcrEngine, TextBox


def canvas(width: int = 900, height: int = 200) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (width, height), "white")
    return image, ImageDraw.Draw(image)


FONT = ImageFont.load_default(size=18)


def test_lines_are_found_between_blank_rows_and_apart_from_borders() -> None:
    image, draw = canvas()
    draw.text((20, 20), "first line of text", fill="black", font=FONT)
    draw.text((20, 60), "second line here", fill="black", font=FONT)
    draw.line((450, 0, 450, 199), fill="black", width=1)  # a window edge between panes
    draw.text((480, 20), "other pane", fill="black", font=FONT)
    draw.rectangle((10, 120, 400, 170), outline="gray")  # a field's frame around text
    draw.text((20, 135), "inside a field", fill="black", font=FONT)
    boxes = find_lines(np.asarray(image))
    assert len(boxes) == 4
    assert boxes == sorted(boxes, key=lambda b: (b[1], b[0]))  # top to bottom, left to right
    for x, _y, w, h in boxes:
        assert 8 <= h <= 24, "one line's ink, not a block"
        assert not (x <= 450 < x + w), "the border is not part of a line"


def test_columns_far_apart_are_separate_pieces() -> None:
    image, draw = canvas()
    draw.text((20, 20), "label", fill="black", font=FONT)
    draw.text((400, 20), "value", fill="black", font=FONT)
    boxes = find_lines(np.asarray(image))
    assert len(boxes) == 2


def piece(x: int, y: int, w: int, h: int, text: str) -> TextBox:
    """A piece as the reader returns it for ink at (x, y, w, h): boxed by the crop it was
    recognised in, the ink on a margin of 0.3 of its height; characters spread over the ink."""
    pad = max(2, round(h * 0.3))
    n = len(text)
    chars = tuple((x + w * i // n, x + w * (i + 1) // n - 1) for i in range(n))
    return TextBox(x - pad, y - pad, w + 2 * pad + 1, h + 2 * pad + 1, text, 0.9, chars)


def test_parts_of_a_long_line_are_joined_with_a_space_where_the_gap_was() -> None:
    # Parts cut at the spaces of one line: their crops' margins overlap.
    a = piece(10, 20, 50, 16, "total")
    b = piece(67, 20, 30, 16, "284")
    c = piece(104, 20, 40, 16, "done")
    below = piece(10, 60, 30, 16, "next")
    rows = joined_rows([c, b, below, a])
    assert [r.text for r in rows] == ["total 284 done", "next"]
    row = rows[0]
    assert row.score == 0.9 and row.x == a.x and row.x + row.w == c.x + c.w
    assert len(row.chars) == len(row.text)
    assert row.chars[5] == (a.chars[-1][1], b.chars[0][0]), "the space is the gap's columns"


def test_cells_of_a_table_row_stay_apart() -> None:
    # find_lines parts blank runs wider than lines.column_gap: the columns of a table, a label
    # and its field. A key in a "Key" column must stay a cell of its own for its heading to
    # tell what it is, and a match must not run on from one cell into the next.
    name = piece(10, 20, 120, 16, "build-staging")
    key = piece(
        10 + 120 + column_gap(16) + 2, 20, 360, 16, "90f15eb107b067c1863b8487980b476b629f837e"
    )
    rows = joined_rows([key, name])
    assert [r.text for r in rows] == ["build-staging", key.text]


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine(find_lines="ink")


def test_a_lines_background_is_the_colour_around_its_ink() -> None:
    """Bold figures cropped tight to their ink have bars along the crop's edge: the
    background is taken from the blank pixels around the box, not from its edge."""
    from app.core.redact.line_reader import _background

    image = Image.new("RGB", (120, 40), (250, 250, 240))
    draw = ImageDraw.Draw(image)
    ink = (20, 20, 20)
    for left in (10, 18, 11, 19):  # '55' in bars, drawn again a pixel to the right (bold)
        bars = [(0, 0, 5, 0), (0, 0, 0, 7), (0, 7, 5, 7), (5, 7, 5, 14), (0, 14, 5, 14)]
        for a, b, c, d in bars:
            draw.line((left + a, 10 + b, left + c, 10 + d), fill=ink)
    pixels = np.asarray(image).copy()
    (box,) = find_lines(pixels)
    x, y, w, h = box
    edge = np.concatenate((pixels[y, x : x + w], pixels[y + h - 1, x : x + w]))
    assert (edge == 20).all(axis=1).mean() > 0.5, "the box's own edge is mostly ink"
    assert _background(pixels, *box).tolist() == [250, 250, 240]
    # A box at the edge of the crop: its own edge stands in where there is nothing outside.
    assert _background(pixels[y:, x:], 0, 0, w, h).tolist() == [250, 250, 240]


def test_lines_are_read_by_the_recogniser_and_remembered_by_their_pixels(
    engine: RapidOcrEngine,
) -> None:
    image, draw = canvas(700, 120)
    draw.text((20, 20), "mail erin@example.net today", fill="black", font=FONT)
    draw.text((20, 70), "build 2291 passed", fill="black", font=FONT)
    pixels = np.asarray(image).copy()
    first = engine.read(pixels)
    assert [line.text for line in first] == ["mail erin@example.net today", "build 2291 passed"]
    recognised = engine.lines.recognised
    # The same lines elsewhere (scrolled, moved): read from memory, placed where they are now.
    moved = np.full((200, 700, 3), 255, dtype=np.uint8)
    moved[40:160, 30:680] = pixels[:, :650]
    again = engine.read(moved)
    assert engine.lines.recognised == recognised
    assert engine.lines.remembered >= 2
    assert [line.text for line in again] == [line.text for line in first]
    assert again[0].x - first[0].x == 30 and again[0].y - first[0].y == 40


def test_a_changed_line_is_read_again_and_the_others_are_not(engine: RapidOcrEngine) -> None:
    image, draw = canvas(700, 120)
    draw.text((20, 20), "load average 0.31", fill="black", font=FONT)
    draw.text((20, 70), "tasks 132 total", fill="black", font=FONT)
    engine.read(np.asarray(image).copy())
    recognised = engine.lines.recognised
    draw.rectangle((0, 0, 699, 50), fill="white")
    draw.text((20, 20), "load average 0.47", fill="black", font=FONT)
    lines = engine.read(np.asarray(image).copy())
    assert engine.lines.recognised == recognised + 1
    assert lines[0].text.endswith("0.47")


def test_new_lines_of_glyphs_already_read_are_spelled_without_the_network(
    engine: RapidOcrEngine,
) -> None:
    try:
        mono = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 16)
    except OSError:
        pytest.skip("DejaVu Sans Mono is not installed")
    # Every glyph in two lines: a line read twice with the same pixels tells nothing new.
    rows = ["server 1042 sleeping", "sleeping server 2041", "root 4021 running", "run 1024"]
    rows += ["tiny root 2410", "running 4102 late", "rules 0214 sorting", "grip 1240"]
    image, draw = canvas(700, 40 * len(rows) // 2 + 20)
    draw.fontmode = "1"  # as a terminal draws: every glyph the same pixels wherever it is
    for i, text in enumerate(rows):
        draw.text((20 + 340 * (i // 4), 20 + 40 * (i % 4)), text, "black", mono)
    first = engine.read(np.asarray(image).copy())
    assert sorted(line.text for line in first) == sorted(rows)
    recognised = engine.lines.recognised
    image, draw = canvas(700, 60)
    draw.fontmode = "1"
    draw.text((20, 20), "running root 2014", "black", mono)
    (line,) = engine.read(np.asarray(image).copy())
    assert engine.lines.recognised == recognised, "spelled from memory"
    assert line.text == "running root 2014"
    assert len(line.chars) == len(line.text)
    # A line spelled once is remembered by its pixels like a recognised one: shown again
    # (a change beside it brings it into the area read), it costs a digest, not a spelling.
    spelled, remembered = engine.lines.glyphs.spelled, engine.lines.remembered
    (again,) = engine.read(np.asarray(image).copy())
    assert engine.lines.glyphs.spelled == spelled and engine.lines.remembered == remembered + 1
    assert (again.text, again.x, again.w, again.chars) == (line.text, line.x, line.w, line.chars)


def test_lines_alike_in_one_read_are_recognised_once(engine: RapidOcrEngine) -> None:
    """Rows of a table that show the same (top's idle processes): one recognition, the same
    reading placed on every row."""
    image, draw = canvas(500, 260)
    for i in range(5):
        draw.text((30, 20 + 45 * i), "idle 0.0 kworker", fill="black", font=FONT)
    recognised = engine.lines.recognised
    lines = engine.read(np.asarray(image).copy())
    assert engine.lines.recognised == recognised + 1
    assert len({line.text for line in lines}) == 1 and len(lines) == 5
    assert [line.y - lines[0].y for line in lines] == [45 * i for i in range(5)]
    assert len({(line.x, line.w, line.chars) for line in lines}) == 1


def test_bands_of_rows_that_did_not_change_are_not_found_again(engine: RapidOcrEngine) -> None:
    """A table whose figures change (`top`): only the bands of rows that changed are cut
    into lines and read; the others come from memory, the same as a fresh reading, also in
    a crop a few blank columns wider."""
    rows = [f"{pid} root 20 0 {pid * 7} S 0.0 kworker/{pid}" for pid in (17, 23, 101, 244)]
    image, draw = canvas(700, 40 * len(rows) + 20)
    for i, text in enumerate(rows):
        draw.text((20, 20 + 40 * i), text, fill="black", font=FONT)
    engine.read(np.asarray(image).copy())
    reader = engine.lines
    found = reader.bands_found
    draw.rectangle((0, 55, 699, 95), fill="white")
    draw.text((20, 60), "23 root 20 0 999 R 7.5 kworker/23", fill="black", font=FONT)
    changed = np.asarray(image).copy()
    lines = engine.read(changed)
    assert reader.bands_found == found + 1
    fresh = RapidOcrEngine(find_lines="ink")
    assert [(b.text, b.x, b.y, b.w, b.h) for b in lines] == [
        (b.text, b.x, b.y, b.w, b.h) for b in fresh.read(changed)
    ]
    assert "999" in lines[1].text and "7.5" in lines[1].text
    wider = np.full((changed.shape[0], changed.shape[1] + 9, 3), 255, dtype=np.uint8)
    wider[:, : changed.shape[1]] = changed
    assert [(b.text, b.x, b.y) for b in engine.read(wider)] == [(b.text, b.x, b.y) for b in lines]
    assert reader.bands_found == found + 1


def test_lines_printed_one_a_frame_stay_read(engine: RapidOcrEngine) -> None:
    """Output printed a line at a time in a small terminal font: each new line is read in a
    crop widened to its whole line, whose edge falls inside the margin of the line above.
    The line above is not read again there, and must not be forgotten."""
    from app.core.redact.frames import FrameContext
    from app.core.redact.screen_text import ScreenTextRedactor
    from app.core.redact.text import TextScrubber
    from app.core.settings import Settings

    try:
        mono = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 11)
    except OSError:
        pytest.skip("DejaVu Sans Mono is not installed")
    rows = [f"line {i} of the log, with a few words in it" for i in range(8)] + [
        "deploy started by carol.white@example.org on node 7",
        "fetching layers for the build cache of the service",
        "unpacking 12 layers into the worker scratch volume",
        "the run finished with 3 warnings and no failures",
        "next deploy window opens on Monday at nine",
    ]
    frames = []
    image, draw = canvas(520, 400)
    draw.fontmode = "1"
    for i, text in enumerate(rows):
        draw.text((8, 6 + 13 * i), text, fill="black", font=mono)
        frames.append(np.asarray(image).copy())
    redactor = ScreenTextRedactor(engine, TextScrubber.from_settings(Settings()), widen_by_ink=True)
    for frame in frames:
        out = redactor(frame.copy(), FrameContext(None, []))
    assert len(redactor.lines) == len(rows), "no line is forgotten"
    assert [line.text.split()[0] for line in sorted(redactor.lines, key=lambda ln: ln.y)] == [
        text.split()[0] for text in rows
    ]
    email = find_lines(frames[-1][110:123])[1]
    assert (out[110:123][:, email[0] : email[0] + email[2]] == 0).all(), "the address stays covered"


def test_long_strokes_are_the_runs_longer_than_the_limit_along_their_axis() -> None:
    """Window edges and table rules are taken out of the ink mask as runs of set pixels
    longer than a limit, along rows or down columns: checked against counting each run."""
    from app.core.redact.lines import _long_runs

    def by_counting(mask: np.ndarray, longer_than: int) -> np.ndarray:
        out = np.zeros_like(mask)
        for r, row in enumerate(mask):
            c = 0
            while c < len(row):
                if not row[c]:
                    c += 1
                    continue
                end = c
                while end < len(row) and row[end]:
                    end += 1
                out[r, c:end] = end - c > longer_than
                c = end
        return out

    rng = np.random.default_rng(5)
    for _ in range(60):
        height, width = rng.integers(1, 90, 2)
        mask = rng.random((height, width)) < rng.random() ** 0.2
        for limit in (1, 6, 40, 80):
            assert (_long_runs(mask, limit, axis=1) == by_counting(mask, limit)).all()
            assert (_long_runs(mask, limit, axis=0) == by_counting(mask.T, limit).T).all()
