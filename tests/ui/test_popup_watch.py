"""Praxis's own popups are reported to the capture thread while they are on screen."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QApplication, QMenu

from app.core.capture.own_popups import OwnPopups
from app.ui.popup_watch import PopupWatch


def test_a_menu_on_screen_marks_its_time_as_own(qtbot) -> None:
    popups = OwnPopups()
    watch = PopupWatch(popups=popups)
    app = QApplication.instance()
    app.installEventFilter(watch)
    try:
        before = time.monotonic()
        menu = QMenu()
        menu.addAction("Pause")
        menu.popup(menu.pos())
        qtbot.waitUntil(menu.isVisible)
        during = time.monotonic()
        assert popups.open_at(during)
        menu.hide()
        qtbot.waitUntil(lambda: not menu.isVisible())
        after = time.monotonic() + 0.01
        assert popups.open_at(during)  # a click from then, handled late, is still ours
        assert not popups.open_at(before - 1) and not popups.open_at(after + 1)
    finally:
        app.removeEventFilter(watch)


def test_intervals_are_kept_per_popup() -> None:
    popups = OwnPopups()
    popups.shown(1, at=10.0)
    popups.shown(2, at=11.0)
    popups.hidden(2, at=12.0)
    assert popups.open_at(11.5) and popups.open_at(20.0)  # popup 1 is still open
    popups.hidden(1, at=13.0)
    assert popups.open_at(12.5) and not popups.open_at(13.5) and not popups.open_at(9.0)
