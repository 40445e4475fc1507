"""One case per seed: which kind of screen, at which size, in which app, font and theme, with
which content. Case n of a family cycles through the kinds, so any run of at least five cases
covers them all."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from tests.redaction_eval.independent import content
from tests.redaction_eval.independent.screens import (
    DARK,
    SIZES,
    TERMINAL_FONTS,
    THEMES,
    UI_FONTS,
    Case,
    Screen,
    qt_case,
    qt_lines,
    qt_theme,
    terminal_case,
)
from tests.redaction_eval.independent.text import Document
from tests.redaction_eval.independent.values import Values

KINDS = ("terminal", "editor", "mail", "chat", "table")


def build_case(kind: str, seed: int, work: Path, size: tuple[int, int] | None = None) -> Case:
    """Open the case's screen on its own Xvfb, capture it, close everything."""
    rng = random.Random(seed)
    v = Values(rng)
    size = size or rng.choice(SIZES)
    theme = rng.choice(tuple(THEMES))
    folder = work / f"{kind}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{seed}"
    scale = size[1] / 1080  # larger screens are usually read with larger text
    with Screen(folder, size) as screen:
        if kind == "terminal":
            app = rng.choice(("xterm", "urxvt"))
            px = round(rng.choice((13, 14, 15, 16)) * max(1.0, scale))
            return terminal_case(
                screen,
                name,
                lambda cols, rows: content.terminal_session(v, rows, cols),
                app,
                rng.choice(TERMINAL_FONTS),
                px,
                theme,
            )
        px = round(rng.choice((13, 14, 15)) * max(1.0, scale))
        spec: dict[str, Any] = {
            "kind": kind,
            "title": name,
            "theme": qt_theme(theme),
            "x": 10,
            "y": 10,
            "w": size[0] - 20,
            "h": size[1] - 20,
        }
        if kind == "editor":
            syntax = rng.choice(("yaml", "toml", "ini", "json", "http", "py"))
            if syntax == "http":
                doc = content.http_request_file(v)
                spec["wrap"] = True
                spec["file"] = "token.http"
            elif syntax == "py":
                doc = content.source_file(v, 14)
                doc.extend(content.config_file(v, "ini"))
                spec["file"] = "settings.py"
            else:
                doc = content.config_file(v, syntax)
                if syntax != "json":  # a second section below the first
                    doc.newline().extend(content.config_file(v, syntax))
                spec["file"] = f"config.{syntax}"
            spec["font"] = [rng.choice(("Liberation Mono", "Hack", "Noto Mono")), px]
            spec["lines"] = qt_lines(doc)
            return qt_case(screen, name, spec, [doc])
        if kind in ("mail", "chat"):
            doc = Document()
            if kind == "mail":
                for _ in range(2 + (size[1] >= 1000) + (size[1] >= 1400)):
                    doc.extend(content.mail_message(v))
                    doc.newline()
                spec["side"] = ["Inbox", "Drafts", "Sent", "Archive", "Invoices", "Travel"]
            else:
                doc = content.chat_messages(v, max(10, int(size[1] / (px * 2.2))))
                spec["side"] = ["# general", "# deploys", "# support", "Lena", "Marcus"]
            spec["font"] = [rng.choice(UI_FONTS), px]
            spec["lines"] = qt_lines(doc)
            return qt_case(screen, name, spec, [doc])
        rows = max(6, min(24, int(size[1] / 34) - 3))
        table = content.key_table(v, rows)
        docs = [cell for row in table for cell in row]
        spec["columns"] = list(content.TABLE_COLUMNS)
        spec["cells"] = [
            [qt_lines(cell, r * len(row) + c)[0] for c, cell in enumerate(row)]
            for r, row in enumerate(table)
        ]
        spec["font"] = [rng.choice(UI_FONTS), px]
        spec["row_height"] = int(px * 2.1)
        return qt_case(screen, name, spec, docs)


def is_dark(theme: str) -> bool:
    return theme in DARK
