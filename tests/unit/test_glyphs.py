"""Spelling lines of text from glyphs the recognition network has read before."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from app.core.redact.glyphs import GlyphMemory
from app.core.redact.lines import find_lines

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def line(text: str, colour: str = "black", background: str = "white") -> np.ndarray:
    """A line of text as a terminal draws it (no smoothing), cropped tight to its ink as
    find_lines crops it."""
    try:
        font = ImageFont.truetype(MONO, 15)
    except OSError:
        pytest.skip("DejaVu Sans Mono is not installed")
    image = Image.new("RGB", (20 + 10 * len(text), 40), background)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    draw.text((10, 10), text, fill=colour, font=font)
    pixels = np.asarray(image)
    boxes = find_lines(pixels)
    x0 = min(b[0] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y0 = min(b[1] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return pixels[y0:y1, x0:x1].copy()


def taught(memory: GlyphMemory, *texts: str) -> None:
    for text in texts:
        font, glyphs = memory.glyphs(line(text))
        assert memory.learn(font, glyphs, text), text


def test_the_same_character_has_the_same_glyph_wherever_it_is() -> None:
    memory = GlyphMemory()
    _, glyphs = memory.glyphs(line("abc cab"))
    assert len(glyphs) == 6
    assert glyphs[0].key == glyphs[4].key and glyphs[1].key == glyphs[5].key
    assert glyphs[0].key != glyphs[1].key
    # Another colour is another glyph: only pixels that are the same are trusted.
    _, red = memory.glyphs(line("abc", colour="red"))
    assert red[0].key != glyphs[0].key


def test_a_line_of_known_glyphs_is_spelled_with_its_spaces_and_columns() -> None:
    memory = GlyphMemory()
    taught(memory, "user alice uid 1042", "alice logged in 2041", "last seen 4012 days")
    pixels = line("alice uid 4012 seen")
    font, glyphs = memory.glyphs(pixels)
    spelled = memory.spell(font, glyphs)
    assert spelled is not None
    text, columns = spelled
    assert text == "alice uid 4012 seen"
    assert len(columns) == len(text)
    assert columns[0][0] == 0 and pixels.shape[1] - 1 <= columns[-1][1] <= pixels.shape[1]
    assert all(a < b for a, b in columns)


def test_a_glyph_read_once_or_never_sends_the_line_to_the_network() -> None:
    memory = GlyphMemory()
    taught(memory, "abc def")
    font, glyphs = memory.glyphs(line("abc"))
    assert memory.spell(font, glyphs) is None  # each glyph read once: not confirmed
    taught(memory, "fed cba")
    assert memory.spell(*memory.glyphs(line("abc"))) == (
        "abc",
        [(g.left, g.right) for g in glyphs],
    )
    assert memory.spell(*memory.glyphs(line("abz"))) is None  # 'z' was never read


def test_readings_that_do_not_match_the_glyphs_teach_nothing() -> None:
    memory = GlyphMemory()
    font, glyphs = memory.glyphs(line("token abc"))
    assert not memory.learn(font, glyphs, "tokenabcd")  # a character too many
    assert not memory.learn(font, glyphs, "to kenabc")  # a space where the pixels have none
    assert memory.learned == 0
    assert memory.unknown(glyphs) == {g.key for g in glyphs}


def test_a_glyph_the_network_reads_two_ways_is_decided_by_its_shape() -> None:
    memory = GlyphMemory()
    # A period read as a comma now and then, by the words around it.
    taught(memory, "a.b", "b.a")
    font, glyphs = memory.glyphs(line("a.b"))
    memory.learn(font, glyphs, "a,b")
    memory.learn(font, glyphs, "a,b")
    spelled = memory.spell(*memory.glyphs(line("a.b")))
    assert spelled is not None and spelled[0] == "a.b"
    # A comma reaches below the line: read two ways, it stays a comma.
    taught(memory, "a,b", "a,b")
    font, glyphs = memory.glyphs(line("a,b"))
    memory.learn(font, glyphs, "a.b")
    memory.learn(font, glyphs, "a.b")
    spelled = memory.spell(font, glyphs)
    assert spelled is not None and spelled[0] == "a,b"


def test_a_glyph_read_many_times_is_what_a_clear_majority_of_readings_say() -> None:
    """The network reads a bitmap 'l' as '1' now and then, beside figures. Until it has read
    a glyph often, three in four readings must agree; after that, two in three decide, or
    every line holding the glyph would go to the network for good."""
    memory = GlyphMemory()
    taught(memory, "all", "lal")  # 'l' read 4 times
    font, glyphs = memory.glyphs(line("la"))
    for reading in ("1a", "1a", "1a", "la"):
        memory.learn(font, glyphs, reading)
    assert memory.spell(font, glyphs) is None  # 'l' 5 times of 8
    memory.learn(font, glyphs, "la")  # 6 of 9
    spelled = memory.spell(font, glyphs)
    assert spelled is not None and spelled[0] == "la"
    for _ in range(3):
        memory.learn(font, glyphs, "1a")  # 6 of 12: no clear majority
    assert memory.spell(font, glyphs) is None


def test_gaps_of_a_width_the_readings_disagree_on_send_the_line_to_the_network() -> None:
    memory = GlyphMemory()
    taught(memory, "ab ba", "ba ab")
    font, glyphs = memory.glyphs(line("ab ba"))
    for _ in range(3):  # readings that dropped the space
        memory.learn(font, glyphs, "abba")
    assert memory.spell(*memory.glyphs(line("ba ba"))) is None


def mixed_line(text: str) -> np.ndarray:
    """A line as a terminal draws it in a bitmap font, where words in capitals stand for bold
    ones: each of their glyphs drawn again one and two pixels to the right, so that
    neighbours touch and leave no blank column between them (as top's figures do)."""
    try:
        font = ImageFont.truetype(MONO, 15)
    except OSError:
        pytest.skip("DejaVu Sans Mono is not installed")
    pitch = round(font.getlength("0"))  # a terminal's cells are whole pixels wide
    image = Image.new("RGB", (20 + 10 * len(text), 40), "white")
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    for i, char in enumerate(text):
        bold = char.isdigit() or char == "."
        for dx in (0, 1, 2) if bold else (0,):
            draw.text((10 + i * pitch + dx, 10), char, fill="black", font=font)
    pixels = np.asarray(image)
    rows = np.flatnonzero((pixels < 128).any(axis=(1, 2)))
    cols = np.flatnonzero((pixels < 128).any(axis=(0, 2)))
    return pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()


def test_touching_glyphs_of_monospaced_text_are_cut_at_its_grid() -> None:
    memory = GlyphMemory()
    _, alone = memory.glyphs(mixed_line("free 0 used 2 avail 4"))
    text = "free 22004.0 used 240"
    _, touching = memory.glyphs(mixed_line(text))
    # Each character is a glyph of its own, with the key it has standing alone.
    assert len(touching) == len(text.replace(" ", ""))
    keys = {g.key for g in alone}
    figures = touching[4:11]  # "22004.0"
    assert {figures[0].key, figures[2].key, figures[4].key} <= keys
    # So a line of touching bold figures is spelled once its figures were read.
    for taught_text in ("free 22004.0 used 240", "free 4200.2 used 042", "free 0.24 used 4022"):
        assert memory.learn(*memory.glyphs(mixed_line(taught_text)), taught_text), taught_text
    spelled = memory.spell(*memory.glyphs(mixed_line("used 402.2 free 20")))
    assert spelled is not None and spelled[0] == "used 402.2 free 20"


def test_proportional_text_is_cut_only_at_blank_columns() -> None:
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 15)
    except OSError:
        pytest.skip("DejaVu Sans is not installed")
    image = Image.new("RGB", (400, 40), "white")
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    draw.text((10, 10), "Mimwm illumination, window Wall", fill="black", font=font)
    pixels = np.asarray(image)
    _, glyphs = GlyphMemory().glyphs(pixels[5:35, 5:395].copy())
    ink = (pixels[5:35, 5:395] < 128).any(axis=(0, 2))
    edges = np.flatnonzero(np.diff(np.concatenate(([0], ink.view(np.int8), [0]))))
    assert [(g.left, g.right) for g in glyphs] == list(
        zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True)
    )


def terminal_row(text: str, bold: bool) -> tuple[np.ndarray, int]:
    """A row of a terminal in a bitmap font, every character in its cell; bold glyphs drawn
    again one and two pixels to the right, so that neighbours touch. Returns the crop tight
    to its ink and the column of the window where the crop begins."""
    try:
        font = ImageFont.truetype(MONO, 15)
    except OSError:
        pytest.skip("DejaVu Sans Mono is not installed")
    pitch = round(font.getlength("0"))
    image = Image.new("RGB", (20 + pitch * len(text), 40), "white")
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"
    for i, char in enumerate(text):
        for dx in (0, 1, 2) if bold else (0,):
            draw.text((10 + i * pitch + dx, 10), char, fill="black", font=font)
    pixels = np.asarray(image)
    rows = np.flatnonzero((pixels < 128).any(axis=(1, 2)))
    cols = np.flatnonzero((pixels < 128).any(axis=(0, 2)))
    return pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy(), int(cols[0])


def test_a_line_too_short_to_show_a_grid_is_cut_at_its_terminals_grid() -> None:
    """A row of bold figures alone (top's process row: few runs, each of touching glyphs)
    shows no grid of its own; it stands on the grid of the terminal it is in, which the
    terminal's other rows showed, wherever on screen the row's crop begins."""
    memory = GlyphMemory()
    plain, at = terminal_row("load 20 04 0.24 42 00", bold=False)
    memory.glyphs(plain, 100 + at)
    bold, at = terminal_row("  2004 42", bold=True)
    _, uncut = GlyphMemory().glyphs(bold, 100 + at)
    assert len(uncut) == 2, "no grid known: only blank columns cut"
    _, cut = memory.glyphs(bold, 100 + at)
    assert len(cut) == len("200442")
    # The last figure of each run keeps the columns its second stroke reaches into.
    assert cut[3].right == uncut[0].right and cut[5].right == uncut[1].right
    # Another window, off that grid: not cut.
    _, elsewhere = memory.glyphs(bold, 100 + at + 4)
    assert len(elsewhere) == 2


def test_a_single_run_of_touching_bold_figures_is_cut_at_its_terminals_grid() -> None:
    """One bold number alone in its column (top's figures for the process it highlights,
    which change every second): a single run of touching glyphs."""
    memory = GlyphMemory()
    plain, at = terminal_row("load 20 04 0.24 42 00", bold=False)
    memory.glyphs(plain, 100 + at)
    bold, at = terminal_row("  2004", bold=True)
    _, uncut = GlyphMemory().glyphs(bold, 100 + at)
    assert len(uncut) == 1
    _, cut = memory.glyphs(bold, 100 + at)
    assert len(cut) == 4 and cut[-1].right == uncut[0].right


def test_the_commonest_colour_is_that_of_most_pixels_and_ties_go_to_the_lowest() -> None:
    from app.core.redact.glyphs import commonest_colour

    pixels = np.array([[9, 9, 9], [1, 2, 3], [1, 2, 3], [255, 0, 0], [255, 0, 0]], np.uint8)
    assert commonest_colour(pixels).tolist() == [1, 2, 3]
    assert commonest_colour(pixels[:1]).tolist() == [9, 9, 9]
    assert commonest_colour(pixels).dtype == np.uint8


def test_a_text_cursor_is_no_glyph() -> None:
    """The line being typed ends in the terminal's cursor, a block as tall as the line (or
    its outline, without focus). The network reads the line without it; counted as a glyph
    it would keep the line from ever teaching its glyphs or being spelled."""
    memory = GlyphMemory()
    text_line = line("review ll I")
    height, width = text_line.shape[:2]
    _, without = memory.glyphs(text_line)
    for hollow in (False, True):
        with_cursor = np.full((height, width + 12, 3), 255, np.uint8)
        with_cursor[:, :width] = text_line
        with_cursor[:, width + 3 : width + 11] = 0  # a block a cell after the text
        if hollow:
            with_cursor[1:-1, width + 4 : width + 10] = 255
        _, glyphs = memory.glyphs(with_cursor)
        assert [g.key for g in glyphs] == [g.key for g in without]


def test_a_solid_bar_as_narrow_as_a_stem_stays_a_glyph() -> None:
    text_line = line("a b")
    height, width = text_line.shape[:2]
    barred = np.full((height, width + 8, 3), 255, np.uint8)
    barred[:, :width] = text_line
    barred[:, width + 4 : width + 6] = 0  # '|' in a bitmap font: two columns, full height
    _, glyphs = GlyphMemory().glyphs(barred)
    assert len(glyphs) == 3
