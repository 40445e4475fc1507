"""Incremental on-screen text redaction, with an OCR stand-in that reads a known layout (so
the logic is tested exactly) and one test with the real engine on rendered text."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.redact.frames import FrameContext
from app.core.redact.layout import Join, fitted_to_ink, hit_boxes, ink_gaps, joined_lines
from app.core.redact.ocr import TextBox
from app.core.redact.ocr_text import LineHits, ocr_variants
from app.core.redact.screen_text import ScreenTextRedactor, tile_regions
from app.core.redact.text import Hit, TextScrubber
from app.core.settings import Settings
from tests.unit.cpu import cpu_timer

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
    # The fake finds each crop on its screen by its pixels: no enlarging.
    return ScreenTextRedactor(ocr, TextScrubber.from_settings(Settings()), enlarge=1), ocr


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


def test_a_line_read_again_over_the_same_pixels_keeps_its_measured_gaps(
    screen: Screen, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines a region reads again without a change (the rows of a table around those whose
    figures changed), or moved with their pixels (rows sorted anew), keep what was measured
    of them; a line whose pixels changed is measured again."""
    from app.core.redact import screen_text

    measured: list[str] = []

    def counted(pixels: np.ndarray, line: TextBox) -> TextBox:
        measured.append(line.text)
        return ink_gaps(pixels, line)

    monkeypatch.setattr(screen_text, "ink_gaps", counted)
    screen.write(16, 200, "load 0.31 tasks 12")
    screen.write(16, 216, "mail bob@example.org")
    r, _ = redactor(screen)
    run(r, screen)
    before = {ln.text: ln for ln in r.lines}
    measured.clear()
    screen.write(16, 200, "load 0.47 tasks 12")  # a change one line away: both are read
    run(r, screen)
    after = {ln.text: ln for ln in r.lines}
    assert measured == ["load 0.47 tasks 12"]
    assert after["mail bob@example.org"] == before["mail bob@example.org"]
    assert after["load 0.47 tasks 12"].gaps  # measured on the new pixels
    assert after["load 0.47 tasks 12"] == ink_gaps(screen.pixels, after["load 0.47 tasks 12"])
    # The mail line moved down the screen, its pixels the same: what was measured moves too.
    screen.write(16, 216, " " * 20)
    screen.write(16, 264, "mail bob@example.org")
    measured.clear()
    run(r, screen)
    moved = next(ln for ln in r.lines if ln.text == "mail bob@example.org")
    assert "mail bob@example.org" not in measured
    assert moved == ink_gaps(screen.pixels, moved)


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
    assert ocr_variants("user=bob@example.0rg ip")[1] == "user=bob@example.org ip"
    assert ocr_variants("key AKIATSAUC6WBGPNwCFWL")[1] == "key AKIATSAUC6WBGPNWCFWL"
    assert ocr_variants("eyjhbGciOiJI.eyJzdWIi.sig")[1] == "eyJhbGciOiJI.eyJzdWIi.sig"
    assert ocr_variants("token Pnt]JKwm9Cl5wu1v")[1] == "token PntIJKwm9Cl5wu1v"


def test_a_key_with_a_bracket_read_into_it_is_covered_whole() -> None:
    text = "ci  Pnt]JKwm9Cl5wu1vDVfFbvCTFhvZGpAss  active"
    hits = LineHits(TextScrubber.from_settings(Settings())).text_hits(text)
    assert any(text[h.start : h.end] == "Pnt]JKwm9Cl5wu1vDVfFbvCTFhvZGpAss" for h in hits)
    assert ocr_variants("if d[key]: y = x[0]") == ["if d[key]: y = x[0]"]  # code stays


@pytest.mark.parametrize(
    ("read", "item"),
    [
        ("DB_PASSWORD=fMZ1jLt LM1+fV6", "fMZ1jLt LM1+fV6"),  # a space read into a value
        ("api_key: ab12Cd34 Ef56", "ab12Cd34 Ef56"),
        ("dxk7uFbH0P6NHdsAhkcUWhHRYItx W31kZNnyGeJL", "dxk7uFbH0P6NHdsAhkcUWhHRYItx W31kZNnyGeJL"),
        ("OdRsf4dza Y8sdWHDN1SVQI9Q7gVRaTug", "OdRsf4dza Y8sdWHDN1SVQI9Q7gVRaTug"),
        ("JYdYRXtg YD5brApg0Rsc4QRWYHSsfJ1i0D1mTvE3", "JYdYRXtg YD5brApg0Rsc4QRWYHSsfJ1i0D1mTvE3"),
        # An address in angle brackets, with a letter of its domain lost.
        ("From: Camille Moreau <julien52 @mairie-lyon.f>", "julien52 @mairie-lyon.f"),
        ('"owner": "rhysbar low96@nhs.net",', "rhysbar low96@nhs.net"),
        ("UkuwCiLQn VnsRWzfeH0K9A7G177XIHxZmK0C4MA6", "UkuwCiLQn VnsRWzfeH0K9A7G177XIHxZmK0C4MA6"),
        ('password = "2DiTKsNgnb !Xan",', "2DiTKsNgnb !Xan"),
        (
            "monitor ghs_W4QSUHKRHaY43U1Gp2iK8p YcQOYjtnwgL7p review",
            "ghs_W4QSUHKRHaY43U1Gp2iK8p YcQOYjtnwgL7p",
        ),
        ("you can call my colleague on (415） 757-1957", "(415） 757-1957"),  # full-width )
    ],
)
def test_items_the_engine_read_with_a_space_or_a_wide_form_are_covered_whole(
    read: str, item: str
) -> None:
    hits = LineHits(TextScrubber.from_settings(Settings())).text_hits(read)
    assert item in [read[h.start : h.end] for h in hits]


@pytest.mark.parametrize(
    ("read", "kept"),
    [
        ("password: hunter2 today", "today"),  # a word after the value
        ("Km6mzhINHgh21SJgwlyTRWZEDflhHpJe 84147", "84147"),  # a number after a key
        ("token = get_token() or x1y2", "x1y2"),
        ("Km6mzhINHgh21SJgwlyTRWZEDflhHpJe Tomorrow", "Tomorrow"),
        ("Km6mzhINHgh21SJgwlyTRWZEDflhHpJe reviewed", "reviewed"),
        ('password: "hunter2" today', "today"),
        ("monitor ghs_W4QSUHKRHaY43U1Gp2iK8p YcQOYjtnwgL7p review", "review"),
        ("mail to dana bob@example.org", "dana"),  # unquoted: a word before the address
    ],
)
def test_what_follows_a_value_or_key_after_a_space_stays_readable(read: str, kept: str) -> None:
    hits = LineHits(TextScrubber.from_settings(Settings())).text_hits(read)
    at = read.index(kept)
    assert not any(h.start <= at < h.end for h in hits)


@pytest.mark.parametrize(
    ("read", "address"),
    [
        ('owner = "bethanashworth94@sky. com"', "bethanashworth94@sky. com"),
        ("mail dana @ example .org today", "dana @ example .org"),
        ("cc bob@mail.example. com later", "bob@mail.example. com"),
    ],
)
def test_an_address_with_spaces_read_into_its_domain_is_covered_whole(
    read: str, address: str
) -> None:
    line = TextBox(0, 0, 10 * len(read), 20, read, 0.9)
    [hits] = LineHits(TextScrubber.from_settings(Settings())).find([line])
    assert [(h.category, read[h.start : h.end]) for h in hits] == [("EMAIL", address)]


@pytest.mark.parametrize(
    ("read", "address"),
    [
        ("write to bob@example.org. then call", "bob@example.org"),  # a sentence ends there
        ("ask ann@example.org. Then", "ann@example.org"),
    ],
)
def test_a_spaced_dot_after_a_whole_address_ends_it(read: str, address: str) -> None:
    line = TextBox(0, 0, 10 * len(read), 20, read, 0.9)
    [hits] = LineHits(TextScrubber.from_settings(Settings())).find([line])
    assert [read[h.start : h.end] for h in hits] == [address]


def test_the_bars_of_a_table_read_as_ones_do_not_hide_a_number() -> None:
    row = "1 ORD-2020-414734 I Connor Brown I 0039 377 280 610 1 11370,08 1"
    assert "| Connor Brown | 0039 377 280 610 |" in ocr_variants(row)[1]
    hits = LineHits(TextScrubber.from_settings(Settings())).text_hits(row)
    assert ("PHONE", "0039 377 280 610") in [(h.category, row[h.start : h.end]) for h in hits]
    assert ocr_variants("step 1 of 3") == ["step 1 of 3"]  # a lone 1 is a count


@pytest.mark.parametrize(
    "text",
    [
        "call +818079570116 or later",  # the word after a number is not read as digits
        "key AKIAbecausethisisaword",  # too many small letters for a key
        "mail bob@example.c0m2x",  # not a top-level domain either way
        "pick 1 or 2, then I am done",  # one lone 1 and a lone I: not the bars of a table
    ],
)
def test_ocr_variants_leave_words_alone(text: str) -> None:
    assert ocr_variants(text) == [text]


def test_hit_boxes_are_padded_when_the_pixels_are_unknown() -> None:
    line = TextBox(100, 50, 200, 20, "x" * 20, 1.0)  # 10 px per character
    [(x, y, w, h)] = hit_boxes(line, [Hit("EMAIL", 5, 10)])
    assert x <= 140 and x + w >= 210 and x >= 98 and x + w <= 302
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


def _rendered(text: str) -> tuple[np.ndarray, TextBox]:
    """One line of the fake screen, measured as the redactor measures what it read."""
    screen = Screen(60, 800)
    screen.write(16, 20, text)
    for i, ch in enumerate(text):
        if ch == " ":  # blank, as on a real screen
            screen.pixels[20 : 20 + LINE_H, 16 + i * CHAR_W : 16 + (i + 1) * CHAR_W] = 255
    chars = tuple((16 + i * CHAR_W, 16 + (i + 1) * CHAR_W) for i in range(len(text)))
    line = TextBox(16, 20, len(text) * CHAR_W, LINE_H, text, 0.9, chars)
    return screen.pixels, ink_gaps(screen.pixels, line)


def test_boxes_end_in_the_blank_space_next_to_the_item() -> None:
    _, line = _rendered("at bob@example.org or")
    [(x, _y, w, _h)] = hit_boxes(line, [Hit("EMAIL", 3, 18)])
    # Ink of the address: from its first block to its last; the words around stay clear.
    first, last = 16 + 3 * CHAR_W + 1, 16 + 18 * CHAR_W - 1
    assert x <= first and x + w >= last
    assert x >= 16 + 2 * CHAR_W and x + w <= 16 + 19 * CHAR_W


def test_spaces_the_engine_dropped_are_found_in_the_pixels() -> None:
    pixels, drawn = _rendered("sit amount bob@example.org ok")
    # The engine read the words glued; its character positions still show the spaces.
    keep = [i for i, c in enumerate(drawn.text) if c != " " or i == 26]
    glued = TextBox(
        drawn.x,
        drawn.y,
        drawn.w,
        drawn.h,
        "".join(drawn.text[i] for i in keep),
        0.9,
        tuple(drawn.chars[i] for i in keep),
    )
    line = ink_gaps(pixels, glued)
    assert line.text == "sitamountbob@example.org ok"
    assert [line.text[b - 1 : b + 1] for b in line.breaks] == ["ta", "tb"]
    hits = LineHits(TextScrubber.from_settings(Settings())).find([line])[0]
    assert [(h.category, line.text[h.start : h.end]) for h in hits] == [
        ("EMAIL", "bob@example.org")
    ]


def _row(text: str, row: int, x: int = 16) -> TextBox:
    return TextBox(x, 20 + row * LINE_H, len(text) * CHAR_W, LINE_H, text, 0.9)


def _found(lines: list[TextBox]) -> list[str]:
    """What gets covered, line by line (a range found twice counts once)."""
    found = LineHits(TextScrubber.from_settings(Settings())).find(lines)
    return [
        line.text[a:b]
        for line, hits in zip(lines, found)
        for a, b in sorted({(h.start, h.end) for h in hits})
    ]


def test_an_item_wrapped_at_a_full_row_is_found_on_both_rows() -> None:
    prefix = "and then run: export AWS_KEY="
    text = prefix + "AKIAIOSFODNN7EXAMPLE and restart the worker"
    cols = len(prefix) + 10  # a terminal this wide breaks the key in the middle
    lines = [_row(text[:cols], 0), _row(text[cols:], 1), _row("ok", 2)]
    assert joined_lines(lines) == [Join(0, 1, (" ", ""))]
    assert _found(lines) == ["AKIAIOSFOD", "NN7EXAMPLE"]


def test_a_word_wrapped_iban_is_found_on_both_rows() -> None:
    lines = [
        _row("please wire the whole deposit for a flat", 0),
        _row("by the end of the month to DE89 3704", 1),  # "0044" did not fit after it
        _row("0044 0532 0130 00 and keep the receipt", 2),
    ]
    assert _found(lines) == ["DE89 3704", "0044 0532 0130 00"]


def test_the_value_after_a_secret_word_on_the_row_above_is_found() -> None:
    lines = [_row("rotate it soon, the admin password is", 0), _row("x9y8z7w6 until then", 1)]
    assert _found(lines) == ["x9y8z7w6"]


def test_rows_that_merely_follow_each_other_are_not_read_as_one() -> None:
    lines = [
        _row("you can always write to me or by mail at", 0),
        _row("bob@example.org for the details", 1),
        _row("a row that is longer than the two before it", 2),
    ]
    assert _found(lines) == ["bob@example.org"]  # "at" stays readable
    indented = [_row("card number 4111 1111", 0), _row("1111 1111 expires soon", 1, x=40)]
    assert joined_lines(indented) == []


def test_in_a_character_grid_an_address_cut_mid_word_stays_one_address() -> None:
    text = "2024-05-01 12:00:01 notify alice.smith@example.org done"
    cols = text.index("th@")  # the next row alone would read "th@example.org"
    lines = [
        _row("a" * cols, 0),
        _row("b" * cols, 1),
        _row(text[:cols], 2),
        _row(text[cols:], 3),
    ]
    assert joined_lines(lines)[-1] == Join(2, 3, (" ", ""), grid=True)
    assert _found(lines) == ["alice.smi", "th@example.org"]
    # Without other full rows the break may be a word wrap: the head is not taken along.
    assert _found(lines[2:]) == ["th@example.org"]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_joins_kept_for_lines_of_the_same_geometry_are_those_found_afresh(data: Any) -> None:
    """LineHits keeps the joins of the lines it saw last while their geometry stays (figures
    changing in place); whatever the texts become, they are the joins found afresh."""
    words = st.text(alphabet="abc019@.", min_size=1, max_size=6)
    rows = data.draw(st.lists(st.lists(words, min_size=1, max_size=5), min_size=1, max_size=8))
    texts = [" ".join(row) for row in rows]
    hits = LineHits(TextScrubber.from_settings(Settings()))
    before = [_row(text, k) for k, text in enumerate(texts)]
    hits.joins(before)
    # The same rows, each character replaced by one drawn anew (spaces too).
    changed = ["".join(data.draw(st.sampled_from("ab9 @")) for _ in text) for text in texts]
    after = [_row(text, k) for k, text in enumerate(changed)]
    assert hits.joins(after) == joined_lines(after)


def test_the_rest_of_an_item_carried_over_to_the_next_row_is_found() -> None:
    # A terminal wraps mid-word: the head ends a full row and is found alone; the rest
    # starts the next row and is no plain word. Both are covered, with no other full rows
    # to show a character grid.
    for item, cut in (
        ("wendy.williams@corp.example.de", "examp"),
        ("ghp_8Pb4ehaAMDG7lzmO2y1DF53kQPa3UaH0QlRB", "53kQ"),
        ("vwK4EdG9ixdR8UTqwX8Tth5O", "Tth"),
    ):
        text = f"both month kid production clearly {item} Military open model"
        cols = text.index(cut) + len(cut)
        lines = [_row(text[:cols], 0), _row(text[cols:], 1)]
        rest = text[cols:].split()[0]
        assert _found(lines)[-1] == rest, item
        assert item.startswith(_found(lines)[0]) and _found(lines)[0].endswith(cut), item
    # A plain word that starts the next row stays readable.
    text = "then the key ghp_8Pb4ehaAMDG7lzmO2y1DF53kQPa3UaH0QlRB rotated"
    cols = text.index(" rotated")
    assert _found([_row(text[:cols], 0), _row(text[cols + 1 :], 1)]) == [
        "ghp_8Pb4ehaAMDG7lzmO2y1DF53kQPa3UaH0QlRB"
    ]


def test_a_label_on_the_same_row_gives_its_value_context() -> None:
    label = _row("Card number", 0)
    value = _row("676343104151", 0, x=16 + 13 * CHAR_W)
    assert _found([label, value]) == ["676343104151"]
    assert _found([value]) == []  # twelve digits alone are not a card


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("mail rowebenjamin@ zuniga.com now", "rowebenjamin@ zuniga.com"),
        ("or lori47+news @ gmail.com. Direct", "lori47+news @ gmail.com"),
    ],
)
def test_a_space_read_beside_an_at_sign_does_not_split_an_address(text: str, address: str) -> None:
    assert _found([_row(text, 0)]) == [address]


# The time limit below is CPU time of the test's own thread; one reading first loads the
# detectors' lazy tables (phone metadata, compiled patterns), which is not per-input cost.
LineHits(TextScrubber.from_settings(Settings())).find(
    [TextBox(0, 0, 400, LINE_H, "mail a@b.io +1 415 555 0142 DE89 3704 0044 0532 0130 00", 0.9)]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="aeyjJAKIS0158 @.-_+:=lO|", max_size=120),
            st.integers(0, 3),
            st.integers(0, 30),
        ),
        max_size=12,
    )
)
def test_reading_lines_together_never_crashes_and_stays_fast(
    rows: list[tuple[str, int, int]],
) -> None:
    lines = [
        TextBox(
            16 + indent,
            20 + (n + skip) * LINE_H,
            max(1, len(text)) * CHAR_W,
            LINE_H,
            text,
            0.9,
            tuple(
                (16 + indent + i * CHAR_W, 16 + indent + (i + 1) * CHAR_W) for i in range(len(text))
            ),
            tuple((16 + indent + k * 20, 16 + indent + k * 20 + 5) for k in range(len(text) // 2)),
            tuple(range(1, len(text), 7)),
        )
        for n, (text, skip, indent) in enumerate(rows)
    ]
    finder = LineHits(TextScrubber.from_settings(Settings()))
    with cpu_timer() as timer:
        found = finder.find(lines)
        boxes = [hit_boxes(line, hits) for line, hits in zip(lines, found)]
    assert timer.seconds < 0.1
    for line, hits in zip(lines, found):
        assert all(0 <= h.start < h.end <= len(line.text) for h in hits)
    assert len(boxes) == len(lines)


def test_a_whole_screen_read_can_be_cancelled_from_another_thread() -> None:
    import threading

    from PIL import Image, ImageDraw

    from app.core.redact.ocr import OcrCancelled, RapidOcrEngine

    image = Image.new("RGB", (1920, 1080), "white")
    draw = ImageDraw.Draw(image)
    for row in range(50):
        draw.text((10, 10 + row * 21), f"log line {row} for bob@example.org " * 5, fill="black")
    pixels = np.asarray(image).copy()
    engine = RapidOcrEngine()
    engine.read(pixels[:40, :300])  # load the models first
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            engine.read(pixels)  # seconds of work
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)
    cancelled_at = time.monotonic()
    engine.cancel()
    reader.join(10)
    assert time.monotonic() - cancelled_at < 2
    assert len(outcome) == 1 and isinstance(outcome[0], OcrCancelled)
    with pytest.raises(OcrCancelled):
        engine.read(pixels[:40, :300])


class MisreadingOcr(LayoutOcr):
    """Reads the layout exactly the first time, then garbles `@` as `l`: what a real engine
    does now and then on small text when a line is read a second time."""

    def _read_at(self, x0: int, y0: int, w: int, h: int) -> list[TextBox]:
        found = super()._read_at(x0, y0, w, h)
        if len(self.crops) == 1:
            return found
        return [
            TextBox(b.x, b.y, b.w, b.h, b.text.replace("@", "l"), b.score, b.chars) for b in found
        ]


def test_a_worse_second_reading_does_not_uncover_an_item_still_on_screen(screen: Screen) -> None:
    screen.write(16, 32, "mail alice@example.com now")
    screen.write(16, 48, "the line below")
    r = ScreenTextRedactor(MisreadingOcr(screen), TextScrubber.from_settings(Settings()), enlarge=1)
    email = slice(16 + 5 * CHAR_W + 2, 16 + 22 * CHAR_W - 2)
    assert (run(r, screen)[40, email] == 0).all()
    screen.write(16, 32, "mail alice@example.com now!")  # the line is read again, badly
    screen.write(16, 48, "the line below changed too")
    out = run(r, screen)
    assert len(r.engine.crops) == 2  # type: ignore[attr-defined]
    assert (out[40, email] == 0).all()
    out = run(r, screen)  # and on the frames after, while it stays
    assert (out[40, email] == 0).all()


def test_a_box_goes_when_the_item_under_it_changes(screen: Screen) -> None:
    screen.write(16, 32, "mail alice@example.com now")
    r, _ocr = redactor(screen)
    run(r, screen)
    screen.write(16, 32, "mail alice at the office now")
    out = run(r, screen)
    assert (out[40, 16 : 16 + 28 * CHAR_W] != 0).any(axis=-1).sum() > 20 * CHAR_W // 2
    assert r._boxes == []


BITMAP_FONT = Path("/usr/share/fonts/X11/misc/6x13-ISO8859-1.pcf.gz")  # xterm's "fixed"


def _bitmap_font(tmp_path: Path) -> Any:
    if not BITMAP_FONT.exists():
        pytest.fail("the 6x13 bitmap font is missing: install xfonts-base (.ci/setup does)")
    from PIL import ImageFont, PcfFontFile

    with gzip.open(BITMAP_FONT) as fp:
        PcfFontFile.PcfFontFile(fp).save(str(tmp_path / "6x13"))
    return ImageFont.load(str(tmp_path / "6x13.pil"))


@pytest.mark.parametrize(
    "typed",
    [
        "mail alice.jones@example.com if the build breaks",
        "$ git config user.email robert.quinn@example.org",
        "cc: maria.lopez@example.net, ops on call",
    ],
)
def test_real_engine_boxes_an_email_in_a_small_bitmap_font_read_as_a_crop(
    tmp_path: Path, typed: str
) -> None:
    """xterm's default font: 6x13 cells, lines 13 pixels apart. The line appears on a screen
    already read, so only a crop around it is read, at a size where the engine loses "@"."""
    from PIL import Image, ImageDraw

    from app.core.redact.ocr import RapidOcrEngine

    font = _bitmap_font(tmp_path)
    image = Image.new("RGB", (1280, 120), (0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.text((2, 2), "user@host:~$ ls", fill=(229, 229, 229), font=font)
    before = np.asarray(image).copy()
    draw.text((2, 15), typed, fill=(229, 229, 229), font=font)
    after = np.asarray(image).copy()
    r = ScreenTextRedactor(RapidOcrEngine(), TextScrubber.from_settings(Settings()))
    r(before, FrameContext(None, []))
    out = r(after.copy(), FrameContext(None, []))
    assert 0 < r.stats.pixels_read - before.shape[0] * before.shape[1] < after.size // 6
    start = typed.index("@") - typed[: typed.index("@")][::-1].index(" ")
    end = typed.index(".", typed.index("@")) + 4
    band = out[18:26, 2 + 6 * start + 1 : 2 + 6 * end - 1]
    assert (band == 0).all(), "the e-mail address must be covered solid"


def test_real_engine_boxes_stop_short_of_the_lines_above_and_below() -> None:
    from PIL import Image, ImageDraw, ImageFont

    from app.core.redact.ocr import RapidOcrEngine

    font = ImageFont.load_default(size=15)
    texts = ["Quarterly figures by region", "reach dana_lee@example.com today", "Thanks, see you"]
    pitch = 17  # tight: a line's box (its ink and a margin) reaches into its neighbours

    def drawn(lines: list[int]) -> np.ndarray:
        image = Image.new("RGB", (520, 90), (30, 30, 36))
        draw = ImageDraw.Draw(image)
        for i in lines:
            draw.text((10, 15 + i * pitch), texts[i], fill=(230, 230, 230), font=font)
        return np.asarray(image).copy()

    def ink(pixels: np.ndarray) -> np.ndarray:
        return np.abs(pixels.astype(int) - (30, 30, 36)).sum(axis=2) > 90

    pixels = drawn([0, 1, 2])
    r = ScreenTextRedactor(RapidOcrEngine(), TextScrubber.from_settings(Settings()))
    black = (r(pixels.copy(), FrameContext(None, [])) == 0).all(axis=2)
    left = int(font.getlength("reach ")) + 10
    right = int(font.getlength("reach dana_lee@example.com")) + 10
    address = ink(drawn([1]))
    address[:, :left] = address[:, right:] = False
    assert black[address].all(), "every ink pixel of the address is covered"
    for i in (0, 2):  # the lines above and below, over the address's columns
        theirs = ink(drawn([i]))
        theirs[:, :left] = theirs[:, right:] = False
        # (A box over the line's whole box, ink and margin, hides 7-12 % of their ink.)
        assert (theirs & ~black).sum() >= 0.99 * theirs.sum(), "their words stay readable"


def _line_of_blocks(
    rows: list[tuple[int, int]], box: tuple[int, int]
) -> tuple[np.ndarray, TextBox]:
    """A 100 px wide line whose ink fills the given row ranges; its box spans `box` rows."""
    pixels = np.full((80, 140, 3), 250, dtype=np.uint8)
    for top, bottom in rows:
        pixels[top:bottom, 30:110] = 20
    y0, y1 = box
    return pixels, TextBox(20, y0, 100, y1 - y0, "x" * 10, 0.9)


def test_a_box_reaches_an_underscore_below_the_baseline_but_not_the_next_line() -> None:
    # Glyphs on rows 30-42, an underscore on 44-45 (a blank row between), the next line's
    # ink from 50; the line's box (ink and margin) runs from 26 to 52.
    pixels, line = _line_of_blocks([(30, 42), (44, 46), (50, 62)], (26, 52))
    x, y, w, h = fitted_to_ink(pixels, line, (20, 24, 100, 30))
    assert (x, w) == (20, 100)
    assert y <= 30 - 2 and y >= 26 - 2
    assert y + h >= 46 + 2, "the underscore and a margin below it"
    assert y + h <= 50, "the next line's ink stays clear"


def test_a_box_does_not_cross_into_a_line_only_two_blank_rows_away() -> None:
    # Dense chat: this line's ink on rows 24-36, the next line's from 39, the box 18-41.
    pixels, line = _line_of_blocks([(10, 22), (24, 37), (39, 52)], (18, 41))
    x, y, w, h = fitted_to_ink(pixels, line, (20, 16, 100, 27))
    assert 22 <= y <= 24 - 2 and 37 + 2 <= y + h <= 39


def test_a_box_whose_ink_runs_on_to_the_edge_of_its_line_keeps_that_side() -> None:
    # No blank row between this line and the next: what belongs to which is unknown.
    pixels, line = _line_of_blocks([(30, 60)], (26, 52))
    x, y, w, h = fitted_to_ink(pixels, line, (20, 24, 100, 30))
    assert 24 < y <= 30 - 2, "above, the blank rows part it from the line before"
    assert y + h == 54
    # Nothing inked in the middle of the line: the box is left as it is.
    blank = np.full_like(pixels, 250)
    assert fitted_to_ink(blank, line, (20, 24, 100, 30)) == (20, 24, 100, 30)


def _placed_line(text: str, x: int, pitch: int, pad: int) -> TextBox:
    """A line as the ink reader boxes it: its characters at `pitch`, a margin around them."""
    chars = tuple((x + i * pitch, x + (i + 1) * pitch) for i in range(len(text)))
    return TextBox(x - pad, 100, len(text) * pitch + 2 * pad, 28, text, 0.9, chars)


def test_the_next_cell_of_a_table_row_is_not_read_into_a_token_before_it() -> None:
    token = "xoxb-13397739541-533838587432-bD6mlm5K99ChL13H7tf56KP2"
    key = _placed_line(token, 190, 10, 5)
    # The next cell's box starts 13 px after the key's: less than its own box's share per
    # character (a short text in a wide margin), over three characters of blank between inks.
    amount = _placed_line("2056,25", key.x + key.w + 13 + 11, 10, 11)
    [on_key, on_amount] = LineHits(TextScrubber.from_settings(Settings())).find([key, amount])
    assert [token[h.start : h.end] for h in on_key] == [token]
    assert on_amount == []


def test_a_token_does_not_run_on_over_the_cells_of_its_row() -> None:
    # A token that takes pieces joined over the engine's spaces ("xoxb-" starts one) next to
    # cells of dates and a digest: cells apart are not pieces of it.
    token = "xoxb-93510730781-053753432880-a7cizVNdOuw9H8a2yRFlqFoa"
    cells = [token, "2021-01-23", "2022-01-10", "390586f2a5e6d1e99d130f4134490916213040b2"]
    lines, x = [], 170
    for text in cells:
        lines.append(_placed_line(text, x, 8, 4))
        x += len(text) * 8 + 40
    found = LineHits(TextScrubber.from_settings(Settings())).find(lines)
    assert [token[h.start : h.end] for h in found[0]] == [token]
    assert found[1:] == [[], [], []]
