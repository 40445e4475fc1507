"""Qt windows for the independent evaluation, run as their own process:

    python qt_app.py SPEC.json OUT.json

SPEC names a window kind (an editor with a file open, a mail reader, a chat, a table of keys),
a theme, a font, and the text as lines of [text, key or null] spans. Once the window is shown,
OUT gets the screen rectangle of every character of every keyed span, read from the text
layout Qt drew with, and the window stays up until the process is terminated.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QApplication,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QSplitter,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

Spans = list[list[Any]]  # [[text, key or None], ...]
CELL_PAD = 8  # pixels between a table cell's left edge and its text


def cursor_x(line: Any, pos: int) -> float:
    x = line.cursorToX(pos)
    return float(x[0] if isinstance(x, tuple) else x)


def line_text(spans: Spans) -> str:
    return "".join(text for text, _ in spans)


class Highlighter(QSyntaxHighlighter):
    """Keys, strings and comments in colours of the theme, as editors colour config files."""

    def __init__(self, document: QTextDocument, theme: dict[str, str]) -> None:
        super().__init__(document)
        self.rules = []
        for pattern, colour in (
            (r"^\s*[\w.\-\"]+\s*(?=[:=])", theme["key"]),
            (r"#.*$|//.*$", theme["comment"]),
            (r"^\s*\[.*\]\s*$", theme["key"]),
        ):
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            self.rules.append((re.compile(pattern), fmt))

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt's name)
        for pattern, fmt in self.rules:
            for m in pattern.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), fmt)


def palette(theme: dict[str, str]) -> QPalette:
    pal = QPalette()
    roles = QPalette.ColorRole
    for role, key in (
        (roles.Window, "window"),
        (roles.WindowText, "fg"),
        (roles.Base, "bg"),
        (roles.AlternateBase, "alt"),
        (roles.Text, "fg"),
        (roles.Button, "window"),
        (roles.ButtonText, "fg"),
        (roles.Highlight, "alt"),
        (roles.HighlightedText, "fg"),
        (roles.PlaceholderText, "comment"),
        (roles.Light, "alt"),
        (roles.Midlight, "alt"),
        (roles.Mid, "comment"),
        (roles.Dark, "comment"),
        (roles.Shadow, "comment"),
    ):
        pal.setColor(role, QColor(theme[key]))
    return pal


def document_rects(
    widget: QPlainTextEdit | QTextEdit, lines: list[Spans]
) -> dict[str, list[list[int]]]:
    """Screen rectangles of every character of keyed spans in a plain-text or rich-text edit
    whose document holds `lines` as one block each."""
    doc = widget.document()
    viewport = widget.viewport()
    origin = viewport.mapToGlobal(QPoint(0, 0))
    out: dict[str, list[list[int]]] = {}
    for n, spans in enumerate(lines):
        block = doc.findBlockByNumber(n)
        layout = block.layout()
        if isinstance(widget, QPlainTextEdit):
            top_left = widget.blockBoundingGeometry(block).translated(widget.contentOffset())
            base = top_left.topLeft() + layout.position()
        else:
            scroll = QPointF(
                widget.horizontalScrollBar().value(), widget.verticalScrollBar().value()
            )
            base = layout.position() - scroll
        pos = 0
        for text, key in spans:
            for i in range(len(text)):
                rel = pos + i
                line = layout.lineForTextPosition(rel)
                if key is None or text[i].isspace():
                    continue
                x0 = cursor_x(line, rel)
                end = line.textStart() + line.textLength()
                x1 = (
                    cursor_x(line, rel + 1) if rel + 1 < end else line.naturalTextWidth() + line.x()
                )
                rect = QRectF(base.x() + x0, base.y() + line.y(), x1 - x0, line.height())
                out.setdefault(str(key), []).append(
                    [
                        int(rect.x()) + origin.x(),
                        int(rect.y()) + origin.y(),
                        max(1, round(rect.width())),
                        round(rect.height()),
                        i,
                    ]
                )
            pos += len(text)
    return out


def make_editor(spec: dict[str, Any]) -> tuple[QWidget, QPlainTextEdit]:
    tabs = QTabWidget()
    edit = QPlainTextEdit()
    edit.setPlainText("\n".join(line_text(s) for s in spec["lines"]))
    edit.setReadOnly(True)
    edit.setFrameShape(QPlainTextEdit.Shape.NoFrame)
    edit.setLineWrapMode(
        QPlainTextEdit.LineWrapMode.WidgetWidth
        if spec.get("wrap")
        else QPlainTextEdit.LineWrapMode.NoWrap
    )
    edit.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)
    edit.highlighter = Highlighter(edit.document(), spec["theme"])  # type: ignore[attr-defined]
    tabs.addTab(edit, spec.get("file", "untitled"))
    tabs.addTab(QWidget(), "README.md")
    return tabs, edit


def make_browser(spec: dict[str, Any]) -> tuple[QWidget, QTextBrowser]:
    browser = QTextBrowser()
    browser.setPlainText("\n".join(line_text(s) for s in spec["lines"]))
    browser.setFrameShape(QTextBrowser.Shape.NoFrame)
    browser.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    browser.document().setDocumentMargin(spec.get("margin", 14))
    splitter = QSplitter()
    side = QListWidget()
    side.addItems(spec.get("side", []))
    splitter.addWidget(side)
    right = QWidget()
    box = QVBoxLayout(right)
    box.setContentsMargins(0, 0, 0, 0)
    box.addWidget(browser)
    if spec["kind"] == "chat":
        entry = QLineEdit()
        entry.setPlaceholderText("Message")
        entry.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        box.addWidget(entry)
    splitter.addWidget(right)
    splitter.setSizes([spec.get("side_width", 200), spec["w"] - spec.get("side_width", 200)])
    return splitter, browser


class CellDelegate(QStyledItemDelegate):
    """Draws a cell's text with a QTextLayout at a known place, so every character's box is
    known exactly; the table around it (grid, header, alternating rows) is Qt's own."""

    def layout(self, text: str, font: QFont) -> QTextLayout:
        layout = QTextLayout(text, font)
        layout.beginLayout()
        line = layout.createLine()
        line.setLineWidth(1e5)
        layout.endLayout()
        return layout

    def origin(self, rect: Any, layout: QTextLayout) -> QPointF:
        line = layout.lineAt(0)
        return QPointF(rect.x() + CELL_PAD, rect.y() + (rect.height() - line.height()) / 2)

    def paint(self, painter: Any, option: Any, index: Any) -> None:
        painter.save()
        if index.row() % 2:
            painter.fillRect(option.rect, option.palette.alternateBase())
        else:
            painter.fillRect(option.rect, option.palette.base())
        painter.setPen(option.palette.text().color())
        layout = self.layout(index.data(), option.font)
        layout.draw(painter, self.origin(option.rect, layout))
        painter.restore()


def make_table(spec: dict[str, Any]) -> tuple[QWidget, QTableWidget]:
    cells = spec["cells"]
    table = QTableWidget(len(cells), len(spec["columns"]))
    table.setHorizontalHeaderLabels(spec["columns"])
    table.setItemDelegate(CellDelegate(table))
    table.verticalHeader().setVisible(False)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
    for r, row in enumerate(cells):
        for c, spans in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(line_text(spans)))
    table.verticalHeader().setDefaultSectionSize(spec.get("row_height", 30))
    table.resizeColumnsToContents()
    for c in range(len(spec["columns"])):
        table.setColumnWidth(c, table.columnWidth(c) + 2 * CELL_PAD)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    return table, table


def table_rects(table: QTableWidget, spec: dict[str, Any]) -> dict[str, list[list[int]]]:
    delegate = table.itemDelegate()
    assert isinstance(delegate, CellDelegate)
    origin = table.viewport().mapToGlobal(QPoint(0, 0))
    out: dict[str, list[list[int]]] = {}
    for r, row in enumerate(spec["cells"]):
        for c, spans in enumerate(row):
            item = table.item(r, c)
            rect = table.visualItemRect(item)
            layout = delegate.layout(item.text(), table.font())
            at = delegate.origin(rect, layout)
            line = layout.lineAt(0)
            pos = 0
            for text, key in spans:
                for i, ch in enumerate(text):
                    if key is not None and not ch.isspace():
                        x0 = cursor_x(line, pos + i)
                        x1 = cursor_x(line, pos + i + 1)
                        out.setdefault(str(key), []).append(
                            [
                                int(at.x() + x0) + origin.x(),
                                int(at.y()) + origin.y(),
                                max(1, round(x1 - x0)),
                                round(line.height()),
                                i,
                            ]
                        )
                pos += len(text)
    return out


def main() -> None:
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    app = QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    app.setPalette(palette(spec["theme"]))
    font = QFont(spec["font"][0])
    font.setPixelSize(spec["font"][1])
    font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    app.setFont(font)
    app.setCursorFlashTime(0)

    kind = spec["kind"]
    if kind == "editor":
        window, view = make_editor(spec)
    elif kind == "table":
        window, view = make_table(spec)
    else:
        window, view = make_browser(spec)
    window.setWindowTitle(spec["title"])
    window.setGeometry(spec["x"], spec["y"], spec["w"], spec["h"])
    window.show()

    def report() -> None:
        app.processEvents()
        if isinstance(view, QTableWidget):
            rects = table_rects(view, spec)
        else:
            rects = document_rects(view, spec["lines"])
        viewport = view.viewport()
        corner = viewport.mapToGlobal(QPoint(0, 0))
        visible = [corner.x(), corner.y(), viewport.width(), viewport.height()]
        tmp = out_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"chars": rects, "visible": visible}, f)
        os.replace(tmp, out_path)

    QTimer.singleShot(400, report)
    app.exec()


if __name__ == "__main__":
    main()
