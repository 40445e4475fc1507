"""Incremental on-screen text redaction, with an OCR stand-in that reads a known layout (so
the logic is tested exactly) and one test with the real engine on rendered text."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.redact.frames import FrameContext
from app.core.redact.ocr import TextBox
from app.core.redact.screen_text import ScreenTextRedactor, hit_boxes, ocr_variants, tile_regions
from app.core.redact.text import Hit, TextScrubber
from app.core.settings import Settings

CHAR_W, LINE_H = 8, 16


class Screen:
    """A fake screen: each text line is drawn as one gray block per character."""

    def __init__(self, h: int = 400, w: int = 800) -> None:
        self.pixels = np.full((h, w, 3), 255, dtype=np.uint8)
        self.lines: dict[int, tuple[int, str]] = {}  # y -> (x, text)

    def write(self, x: int, y: int, text: str) -> None:
        self.pixels[y : y + LINE_H, x : x + 400 * CHAR_W] = 255
        for i, ch in enumerate(text):
            shade = 40 + (ord(ch) * 7) % 180
            self.pixels[y + 3 : y + LINE_H - 3, x + i * CHAR_W + 1 : x + (i + 1) * CHAR_W - 1] = (
                shade
            )
        self.lines[y] = (x, text)


class LayoutOcr:
    """Reads the fake screen's layout: only the characters fully inside the crop, like a real
    engine that sees part of a line."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.crops: list[tuple[int, int, int, int]] = []

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        # Find where the crop came from by matching it against the full screen.
        full = self.screen.pixels
        h, w = rgb.shape[:2]
        for y0 in range(full.shape[0] - h + 1):
            row = full[y0]
            for x0 in range(full.shape[1] - w + 1):
                if np.array_equal(row[x0 : x0 + w], rgb[0]) and np.array_equal(
                    full[y0 : y0 + h, x0 : x0 + w], rgb
                ):
                    return self._read_at(x0, y0, w, h)
        raise AssertionError("crop not found on screen")

    def _read_at(self, x0: int, y0: int, w: int, h: int) -> list[TextBox]:
        self.crops.append((x0, y0, w, h))
        out = []
        for y, (x, text) in self.screen.lines.items():
            if y < y0 or y + LINE_H > y0 + h:
                continue
            first = max(0, -(-(x0 - x) // CHAR_W))
            last = min(len(text), (x0 + w - x) // CHAR_W)
            if last > first:
                out.append(
                    TextBox(
                        x + first * CHAR_W - x0,
                        y - y0,
                        (last - first) * CHAR_W,
                        LINE_H,
                        text[first:last],
                        0.99,
                    )
                )
        return out


@pytest.fixture
def screen() -> Screen:
    return Screen()


def redactor(screen: Screen) -> tuple[ScreenTextRedactor, LayoutOcr]:
    ocr = LayoutOcr(screen)
    return ScreenTextRedactor(ocr, TextScrubber.from_settings(Settings())), ocr


def run(r: ScreenTextRedactor, screen: Screen) -> np.ndarray:
    return r(screen.pixels.copy(), FrameContext(None, []))


def test_first_frame_is_read_whole_and_pii_is_boxed(screen: Screen) -> None:
    screen.write(16, 32, "contact alice@example.com today")
    screen.write(16, 64, "nothing to see here")
    r, ocr = redactor(screen)
    out = run(r, screen)
    assert ocr.crops == [(0, 0, 800, 400)]
    email_x = 16 + len("contact ") * CHAR_W
    assert (out[40, email_x : email_x + 17 * CHAR_W] == 0).all()  # covered solid
    assert (out[40, 16 : 16 + 7 * CHAR_W] != 0).any()  # "contact" kept
    assert (out[72] == screen.pixels[72]).all()  # the other line untouched


def test_unchanged_frame_reads_nothing(screen: Screen) -> None:
    screen.write(16, 32, "mail bob@example.org")
    r, ocr = redactor(screen)
    run(r, screen)
    out = run(r, screen)
    assert len(ocr.crops) == 1
    assert (out[40, 16 + 5 * CHAR_W : 16 + 20 * CHAR_W] == 0).all()  # cached lines still boxed


def test_typing_the_end_of_an_address_rereads_the_whole_line(screen: Screen) -> None:
    screen.write(16, 200, "send to carol@exam")
    r, ocr = redactor(screen)
    run(r, screen)
    screen.write(16, 200, "send to carol@example.com")
    out = run(r, screen)
    x, y, w, h = ocr.crops[-1]
    assert x <= 16 and x + w >= 16 + 25 * CHAR_W and y <= 200 <= y + h  # the whole line
    assert w * h < 800 * 400 / 4  # and not the whole screen
    start = 16 + 8 * CHAR_W
    assert (out[208, start : start + 17 * CHAR_W] == 0).all()


def test_read_failure_drops_state_and_raises(screen: Screen) -> None:
    class Broken:
        def read(self, rgb: np.ndarray) -> list[TextBox]:
            raise RuntimeError("model missing")

    r = ScreenTextRedactor(Broken(), TextScrubber.from_settings(Settings()))
    with pytest.raises(RuntimeError):
        run(r, screen)
    assert r.lines == [] and r.regions_to_read(screen.pixels) == [(0, 0, 800, 400)]


def test_tile_regions_groups_neighbours() -> None:
    grid = np.zeros((6, 10), dtype=bool)
    grid[1, 1:3] = True
    grid[2, 2] = True
    grid[4, 8] = True
    assert sorted(tile_regions(grid)) == [(1, 1, 2, 2), (4, 8, 4, 8)]


def test_ocr_variants_undo_common_confusions() -> None:
    assert ocr_variants("alice@example,com") == ["alice@example,com", "alice@example.com"]
    assert ocr_variants("card 4lll 1111 IlII 1111")[1] == "card 4111 1111 1111 1111"
    assert ocr_variants("plain words") == ["plain words"]


def test_hit_boxes_are_padded_and_stay_on_the_line() -> None:
    line = TextBox(100, 50, 200, 20, "x" * 20, 1.0)  # 10 px per character
    [(x, y, w, h)] = hit_boxes(line, [Hit("EMAIL", 5, 10)])
    assert x <= 150 and x + w >= 200 and x >= 98 and x + w <= 302
    assert y < 50 and y + h > 70


def test_real_engine_boxes_an_email_in_rendered_text() -> None:
    from PIL import Image, ImageDraw, ImageFont

    from app.core.redact.ocr import RapidOcrEngine

    image = Image.new("RGB", (640, 120), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=20)
    draw.text((10, 20), "Please write to dana.lee@example.com soon", fill="black", font=font)
    draw.text((10, 70), "Meeting notes for Tuesday", fill="black", font=font)
    pixels = np.asarray(image).copy()
    r = ScreenTextRedactor(RapidOcrEngine(), TextScrubber.from_settings(Settings()))
    out = r(pixels.copy(), FrameContext(None, []))
    assert any("example" in line.text for line in r.lines)
    left = draw.textlength("Please write to ", font=font) + 10
    right = draw.textlength("Please write to dana.lee@example.com", font=font) + 10
    band = out[25:40, int(left) + 4 : int(right) - 4]
    assert (band == 0).all(), "the e-mail address must be covered solid"
    assert (out[75:90, 10:200] != 255).any(), "ordinary text stays readable"


def test_scrolled_text_moves_its_boxes_and_only_new_lines_are_read(screen: Screen) -> None:
    lines = [f"log line {i} nothing here" for i in range(16)]
    lines[9] = "reach erin@example.net later"
    for i, text in enumerate(lines):
        screen.write(16, 40 + i * LINE_H, text)
    r, ocr = redactor(screen)
    run(r, screen)
    # Scroll up by three lines: everything moves, three new lines appear at the bottom.
    lines = lines[3:] + [f"new line {i}" for i in range(3)]
    screen.lines.clear()
    for i, text in enumerate(lines):
        screen.write(16, 40 + i * LINE_H, text)
    out = run(r, screen)
    read_area = sum(w * h for _x, _y, w, h in ocr.crops[1:])
    assert r.stats.scrolls == 1
    assert read_area < 800 * 8 * LINE_H  # a strip, not the page
    email_y = 40 + 6 * LINE_H + 8  # the address moved up three lines
    start = 16 + len("reach ") * CHAR_W
    assert (out[email_y, start : start + 16 * CHAR_W] == 0).all()
    assert (out[40 + 9 * LINE_H + 8, start : start + 16 * CHAR_W] != 0).any()  # old place free
