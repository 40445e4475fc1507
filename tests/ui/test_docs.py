"""docs/PRIVACY.md and docs/DEPLOYING.md against the running app: every menu item, button and
setting they name in bold exists in the real tray menu and windows, every `praxis` command line
they show parses with its options, every installer property they pass exists, and every file
they point to is there."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractButton, QFormLayout, QLabel, QMenu, QWidget

import app
from app.cli import build_parser

REPO = Path(app.__file__).resolve().parent.parent
DOCS = [REPO / "docs" / "PRIVACY.md", REPO / "docs" / "DEPLOYING.md"]
SEPARATOR = " › "


def _clean(text: str) -> str:
    """A label as a document may quote it: without the mnemonic `&` and without the `…` that
    says an item asks something first, on each level of a menu path."""
    parts = text.replace("&", "").split(SEPARATOR)
    return SEPARATOR.join(part.strip().rstrip("…").strip() for part in parts)


def _menu_labels(menu: QMenu, prefix: str = "") -> set[str]:
    labels: set[str] = set()
    for action in menu.actions():
        if action.isSeparator() or not action.text():
            continue
        path = prefix + _clean(action.text())
        labels.add(path)
        if action.menu() is not None:
            labels |= _menu_labels(action.menu(), path + SEPARATOR)
    return labels


def _widget_labels(widget: QWidget) -> set[str]:
    labels = {_clean(b.text()) for b in widget.findChildren(QAbstractButton) if b.text()}
    for form in widget.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and isinstance(item.widget(), QLabel):
                labels.add(_clean(item.widget().text()).rstrip(":"))
    return labels


@pytest.fixture
def ui_labels(qtbot, make_recorder, make_app) -> set[str]:  # noqa: ANN001
    """What a person can see: every item of the tray menu (the menu holds all of them; the state
    only shows or hides some), and the windows the menu opens."""
    tray_app = make_app(make_recorder(consent=True))
    labels = _menu_labels(tray_app.tray.menu)
    for name in ("settings", "review"):
        tray_app.open_window(name)
        labels |= _widget_labels(tray_app.windows[name])
    return labels


def _bold(text: str) -> list[str]:
    return re.findall(r"\*\*(.+?)\*\*", text)


def test_every_label_the_documents_name_is_in_the_app(ui_labels: set[str]) -> None:
    named = {(doc.name, label) for doc in DOCS for label in _bold(doc.read_text())}
    assert len(named) > 20  # the check reads the documents, not an empty list
    missing = sorted((doc, label) for doc, label in named if _clean(label) not in ui_labels)
    assert missing == [], f"not in the app: {missing}\n\nthe app has: {sorted(ui_labels)}"


def _command_lines(text: str) -> list[str]:
    inline = re.findall(r"`(praxis [^`]+)`", text)
    blocks = [
        line.split("#")[0].strip()
        for block in re.findall(r"```(?:sh|bat|powershell)?\n(.*?)```", text, re.S)
        for line in block.splitlines()
        if line.strip().startswith("praxis ")
    ]
    return inline + blocks


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("praxis has no subcommands")


def test_every_command_the_documents_show_parses() -> None:
    commands = _subcommands(build_parser())
    lines = [line for doc in DOCS for line in _command_lines(doc.read_text())]
    assert len(lines) > 10
    for line in lines:
        words = shlex.split(line)[1:]
        assert words and words[0] in commands, f"{line!r}: no command {words[:1]}"
        known = {s for a in commands[words[0]]._actions for s in a.option_strings}
        for word in words[1:]:
            if word.startswith("--"):
                assert word in known, f"{line!r}: {words[0]} has no option {word}"


def test_every_installer_property_the_documents_pass_exists() -> None:
    wxs = (REPO / "installers" / "windows" / "praxis.wxs").read_text()
    properties = set(re.findall(r'<Property Id="([A-Z_]+)"', wxs))
    features = set(re.findall(r'<Feature Id="(\w+)"', wxs))
    text = (REPO / "docs" / "DEPLOYING.md").read_text()
    passed = re.findall(r"msiexec /[ix] \S+ /qn((?: [A-Z_]+=\S+)*)", text)
    assert passed, "DEPLOYING.md shows no msiexec line"
    for arguments in passed:
        for name, value in re.findall(r"([A-Z_]+)=(\S+)", arguments):
            if name == "ADDLOCAL":
                assert set(value.split(",")) <= features, value
            else:
                assert name in properties, name


def test_every_repository_file_the_documents_name_exists() -> None:
    for doc in DOCS:
        text = doc.read_text()
        for target in re.findall(r"\]\(([^)#]+)\)", text):
            if not target.startswith("http"):
                assert (doc.parent / target).exists(), f"{doc.name} links to {target}"
        for path in re.findall(r"`((?:installers|\.ci|\.github)/[\w./-]+)`", text):
            assert (REPO / path).exists(), f"{doc.name} names {path}"
