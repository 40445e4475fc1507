"""Packaging tests build a wheel, the PyInstaller bundle and the .deb, install them and run
them: minutes of work. CI runs them (CI is set there); elsewhere PRAXIS_PACKAGING_TESTS=1 does."""

from __future__ import annotations

import os

import pytest

# Measured by the packaging tests, printed at the end of the run: name -> figure.
FIGURES: dict[str, str] = {}


def packaging_tests_enabled() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("PRAXIS_PACKAGING_TESTS") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if packaging_tests_enabled():
        return
    skip = pytest.mark.skip(reason="packaging test: set PRAXIS_PACKAGING_TESTS=1 (CI runs it)")
    for item in items:
        if "tests/packaging/" in item.nodeid:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("packaging figures")
        for name, figure in FIGURES.items():
            terminalreporter.write_line(f"{name:<40} {figure}")
