"""The Qt bindings must not drop references they do not own.

PySide6 6.12.0 on Python 3.11 returns None from every void method, and True from
Signal.emit, without taking a reference. Each call then steals one: after a few thousand
status updates the tray app aborts with "Fatal Python error: none_dealloc" (or bool_dealloc).
pyproject.toml keeps that release out; this test catches it, or a later one like it.
"""

from __future__ import annotations

import sys

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

CALLS = 200


class _Emitter(QObject):
    changed = Signal(object)


def _refs() -> tuple[int, int, int]:
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)


def _lost(before: tuple[int, int, int]) -> dict[str, int]:
    """References lost per object, ignoring the few that caches and allocations move either
    way: a leaking binding loses at least one for every call."""
    after = _refs()
    lost = {name: b - a for name, b, a in zip(("None", "True", "False"), before, after)}
    return {name: n for name, n in lost.items() if n >= CALLS // 2}


def test_void_methods_keep_the_reference_to_none(qtbot) -> None:
    timer = QTimer()
    label = QLabel()
    qtbot.addWidget(label)
    before = _refs()
    for _ in range(CALLS):
        timer.setInterval(5)
        label.setText("Recording")
        label.setVisible(False)
    assert _lost(before) == {}, f"PySide6 {pyside_version} drops references it does not own"


def test_signal_emit_keeps_the_reference_to_true() -> None:
    emitter = _Emitter()
    seen: list[object] = []
    emitter.changed.connect(seen.append)
    before = _refs()
    for _ in range(CALLS):
        emitter.changed.emit("status")
    assert len(seen) == CALLS
    assert _lost(before) == {}, f"PySide6 {pyside_version} drops references it does not own"
