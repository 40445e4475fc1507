"""Qt windows for the redaction evaluation, run as their own process:

    python qt_windows.py SPEC.json OUT.json

SPEC describes a form (records of labelled QLineEdit/QLabel fields) or a document (a
QTextBrowser with paragraphs). Text comes as fragments [text, tag or null]. Once the window is
shown and laid out, OUT gets the screen rectangles of every tagged fragment, computed the way
Qt lays the text out (QTextLayout positions for line edits and labels, QTextCursor and
cursorRect for the document), and the process keeps the window up until it is terminated.

Needs only PySide6, so it can run with QT_QPA_PLATFORM=xcb on the evaluation's Xvfb.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QFontMetricsF,
    QPalette,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextLayout,
)
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QStyle,
    QStyleOptionFrame,
    QTextBrowser,
    QWidget,
)

Rect = list[int]
LINE_EDIT_MARGIN = 2  # QLineEditPrivate::horizontalMargin: text starts this far into the box

# Light backgrounds, dark blue text, nothing pure black: black on screen means redaction.
PALETTE = {
    QPalette.ColorRole.Window: "#e9edf3",
    QPalette.ColorRole.WindowText: "#22304f",
    QPalette.ColorRole.Base: "#fbfbf4",
    QPalette.ColorRole.AlternateBase: "#f1f3f7",
    QPalette.ColorRole.Text: "#1c2a5a",
    QPalette.ColorRole.Button: "#dfe4ec",
    QPalette.ColorRole.ButtonText: "#22304f",
    QPalette.ColorRole.Highlight: "#9db4d8",
    QPalette.ColorRole.HighlightedText: "#10204a",
    QPalette.ColorRole.Light: "#ffffff",
    QPalette.ColorRole.Midlight: "#f3f5f8",
    QPalette.ColorRole.Mid: "#b8bfcc",
    QPalette.ColorRole.Dark: "#8b93a6",
    QPalette.ColorRole.Shadow: "#6f7890",
    QPalette.ColorRole.PlaceholderText: "#8b93a6",
}


def text_xs(text: str, font: QFont) -> list[float]:
    """x of every cursor position 0..len(text) in one unwrapped line of `text`."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    line = layout.createLine()
    line.setLineWidth(1e6)
    layout.endLayout()
    xs = []
    for i in range(len(text) + 1):
        x = line.cursorToX(i)
        xs.append(float(x[0] if isinstance(x, tuple) else x))  # type: ignore[arg-type]
    return xs


def fragment_spans(fragments: list[list[Any]]) -> list[tuple[str, int, int]]:
    spans, pos = [], 0
    for text, tag in fragments:
        if tag is not None:
            spans.append((tag, pos, pos + len(text)))
        pos += len(text)
    return spans


def global_rect(widget: QWidget, x0: float, x1: float, y0: int, y1: int) -> Rect:
    top_left = widget.mapToGlobal(QPoint(0, 0))
    left, right = int(x0) + top_left.x(), int(x1 + 0.999) + top_left.x()
    return [left, y0 + top_left.y(), right - left, y1 - y0]


def text_line(widget: QWidget, contents: QRect) -> tuple[int, int]:
    """Top and bottom of the text line, centred in `contents` the way QLineEdit and a
    vertically centred QLabel place it, with a pixel to spare (frames stay outside)."""
    height = QFontMetrics(widget.font()).height()
    top = contents.y() + (contents.height() - height + 1) // 2
    return top - 1, top + height + 1


def line_rects(
    widget: QWidget, fragments: list[list[Any]], contents: QRect, origin: int, text: str
) -> dict[str, list[Rect]]:
    xs = text_xs(text, widget.font())
    top, bottom = text_line(widget, contents)
    return {
        tag: [global_rect(widget, origin + xs[a], origin + xs[b], top, bottom)]
        for tag, a, b in fragment_spans(fragments)
    }


class Edit(QLineEdit):
    def text_rects(self, fragments: list[list[Any]]) -> dict[str, list[Rect]]:
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        contents = self.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option, self)
        contents = contents.marginsRemoved(self.textMargins())
        origin = contents.x() + LINE_EDIT_MARGIN
        return line_rects(self, fragments, contents, origin, self.text())


class Label(QLabel):
    def text_rects(self, fragments: list[list[Any]]) -> dict[str, list[Rect]]:
        contents = self.contentsRect()
        origin = contents.x() + self.margin()
        return line_rects(self, fragments, contents, origin, self.text())


def joined(fragments: list[list[Any]]) -> str:
    return "".join(text for text, _ in fragments)


class FormWindow(QWidget):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.texts: list[tuple[Edit | Label, list[list[Any]]]] = []
        grid = QGridLayout(self)
        grid.setSpacing(14)
        columns = spec["columns"]
        for i, record in enumerate(spec["records"]):
            box = QGroupBox(record["title"])
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setVerticalSpacing(10)
            for fld in record["fields"]:
                label = Label(joined(fld["label"]))
                label.setTextFormat(Qt.TextFormat.PlainText)
                self.texts.append((label, fld["label"]))
                value: Edit | Label
                if fld["widget"] == "lineedit":
                    value = Edit(joined(fld["value"]))
                    value.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no blinking cursor
                    value.setCursorPosition(0)
                else:
                    value = Label(joined(fld["value"]))
                    value.setTextFormat(Qt.TextFormat.PlainText)
                width = QFontMetricsF(value.font()).horizontalAdvance(value.text())
                value.setMinimumWidth(int(width) + 24)  # never scrolled, never elided
                self.texts.append((value, fld["value"]))
                form.addRow(label, value)
            grid.addWidget(box, i // columns, i % columns, Qt.AlignmentFlag.AlignTop)
        grid.setRowStretch(grid.rowCount(), 1)

    def rects(self) -> dict[str, list[Rect]]:
        out: dict[str, list[Rect]] = {}
        for widget, fragments in self.texts:
            out.update(widget.text_rects(fragments))
        return out


class DocumentWindow(QTextBrowser):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.setFrameShape(QTextBrowser.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.document().setDocumentMargin(24)
        self.spans: dict[str, list[int]] = {}
        self.fonts: dict[str, QFont] = {}
        cursor = QTextCursor(self.document())
        block = QTextBlockFormat()
        block.setBottomMargin(12)
        block.setLineHeight(115, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        cursor.setBlockFormat(block)
        for n, para in enumerate(spec["paragraphs"]):
            if n:
                cursor.insertBlock(block)
            fmt = QTextCharFormat()
            font = QFont(para["font"][0])
            font.setPointSizeF(para["font"][1])
            fmt.setFont(font)
            for text, tag in para["fragments"]:
                start = cursor.position()
                cursor.insertText(text, fmt)
                if tag is not None:
                    self.spans[tag] = [start, cursor.position()]
                    self.fonts[tag] = font

    def _pos_rect(self, pos: int) -> QRect:
        cursor = QTextCursor(self.document())
        cursor.setPosition(pos)
        return self.cursorRect(cursor)

    def _lines(self, tag: str) -> list[tuple[float, float, int, int]]:
        """(x0, x1, y0, y1) in viewport coordinates, one per visual line the span covers."""
        start, end = self.spans[tag]
        metrics = QFontMetricsF(self.fonts[tag])
        text = self.document().toPlainText()
        lines: list[list[float]] = []
        rects = [self._pos_rect(p) for p in range(start, end + 1)]
        for i in range(end - start):
            here, after = rects[i], rects[i + 1]
            left = float(here.x())
            if after.y() == here.y():
                right = float(after.x())
            else:
                right = left + metrics.horizontalAdvance(text[start + i])
            if lines and lines[-1][2] == here.y():
                lines[-1][1] = right
            else:
                lines.append([left, right, here.y(), here.y() + here.height()])
        return [(a, b, int(c), int(d)) for a, b, c, d in lines]

    def keep_items_on_one_line(self) -> None:
        """Start a new line before an item that the layout wrapped, as a nowrap span would:
        items split over lines are measured in the terminal, where the cut is exact."""
        for tag in sorted(self.spans, key=lambda t: self.spans[t][0]):
            if len(self._lines(tag)) == 1:
                continue
            start = self.spans[tag][0]
            cursor = QTextCursor(self.document())
            cursor.setPosition(start)
            cursor.insertText("\u2028")
            for span in self.spans.values():
                if span[0] >= start:
                    span[0] += 1
                    span[1] += 1

    def rects(self) -> dict[str, list[Rect]]:
        viewport = self.viewport()
        return {
            tag: [global_rect(viewport, x0, x1, y0, y1) for x0, x1, y0, y1 in self._lines(tag)]
            for tag in self.spans
        }


def main() -> None:
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    app = QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in PALETTE.items():
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    font = QFont(spec["font"][0])
    font.setPointSizeF(spec["font"][1])
    app.setFont(font)
    app.setCursorFlashTime(0)

    window: FormWindow | DocumentWindow
    window = FormWindow(spec) if spec["kind"] == "form" else DocumentWindow(spec)
    window.setWindowTitle(spec["title"])
    window.setGeometry(spec["x"], spec["y"], spec["w"], spec["h"])
    window.show()

    def report() -> None:
        app.processEvents()
        if isinstance(window, DocumentWindow):
            window.keep_items_on_one_line()
            app.processEvents()
        origin = window.mapToGlobal(QPoint(0, 0))
        result = {
            "window": [origin.x(), origin.y(), window.width(), window.height()],
            "rects": window.rects(),
        }
        tmp = out_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(result, f)
        os.replace(tmp, out_path)

    QTimer.singleShot(300, report)
    app.exec()


if __name__ == "__main__":
    main()
