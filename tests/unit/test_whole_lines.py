"""Widening a changed area of the screen to the whole lines of text it touches."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from app.core.redact.whole_lines import whole_lines

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


@pytest.fixture()
def screen() -> np.ndarray:
    try:
        font = ImageFont.truetype(MONO, 14)
    except OSError:
        pytest.skip("DejaVu Sans Mono is not installed")
    image = Image.new("RGB", (900, 120), (30, 30, 30))
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), "password: hunter2 and some more words", fill="white", font=font)
    draw.text((10, 40), "the next line stays out of it", fill="white", font=font)
    # A second column, far from the first line's end: another pane.
    draw.text((700, 10), "other pane", fill="white", font=font)
    draw.rectangle((0, 70, 899, 71), fill="white")  # a rule under the text
    return np.asarray(image).copy()


def ink_box(pixels: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> tuple[int, ...]:
    ink = (pixels[y0:y1, x0:x1] > 128).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return x0 + cols[0], y0 + rows[0], x0 + cols[-1] + 1, y0 + rows[-1] + 1


def test_a_change_inside_a_word_is_widened_to_its_whole_line(screen: np.ndarray) -> None:
    # Four rows through the middle of "hunter2", as a tile cuts a line.
    x, y, w, h = whole_lines(screen, (120, 16, 20, 4))
    left, top, right, bottom = ink_box(screen, 0, 650, 0, 35)
    assert x <= left and y <= top and x + w >= right and y + h >= bottom
    assert y + h < 40  # not the next line: a blank row lies between
    assert x + w < 700  # not the pane beyond a wide gutter


def test_an_area_on_blank_rows_stays_as_it_is(screen: np.ndarray) -> None:
    assert whole_lines(screen, (300, 80, 40, 20), margin=0) == (300, 80, 40, 20)


def test_a_rule_or_a_frame_side_does_not_widen_an_area(screen: np.ndarray) -> None:
    framed = screen.copy()
    framed[:, 5] = 255  # a window's side, inked on every row
    x, y, w, h = whole_lines(framed, (300, 60, 40, 20), margin=0)
    assert (y, h) == (60, 20)  # the rule's rows have no edge across them
    assert x + w <= 700


def test_a_redactor_reading_by_ink_reads_whole_lines_of_a_change(screen: np.ndarray) -> None:
    from app.core.redact.screen_text import ScreenTextRedactor
    from app.core.redact.text import TextScrubber
    from app.core.settings import Settings

    class Blind:
        def read(self, rgb: np.ndarray) -> list:
            return []

    scrubber = TextScrubber.from_settings(Settings())
    for widen, whole in ((True, True), (False, False)):
        redactor = ScreenTextRedactor(Blind(), scrubber, widen_by_ink=widen)
        redactor.read(screen)
        changed = screen.copy()
        changed[16:20, 120:124] = 255  # a few pixels inside "hunter2"
        regions = redactor.regions_to_read(changed)
        left, _, right, _ = ink_box(screen, 0, 650, 0, 35)
        covers = any(x <= left and x + w >= right for x, _, w, _ in regions)
        assert covers == whole
