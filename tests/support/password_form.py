"""A small form for the AT-SPI tests, run as its own process:

    python password_form.py qt|gtk TITLE

One plain text field ("plain") above one for a password ("password"): QLineEdit in Password
echo mode for Qt (PySide6), GtkEntry with visibility off for GTK 3 (PyGObject, usually the
system Python's). Qt's accessibility is switched on for this process
(QT_LINUX_ACCESSIBILITY_ALWAYS_ON); GTK's is on by default. Writes JSON lines to stdout:

    {"ready": {"plain": [x, y], "password": [x, y]}, "pid": PID}   once shown (and, for Qt,
                                                                    on the accessibility bus)
    {"focus": "plain" | "password" | null, "mono": T}                 on every focus change

T is time.monotonic() (CLOCK_MONOTONIC, the same clock in every process), so a test can time
how long a focus change takes to reach an AT-SPI listener. Runs until terminated.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def say(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def focus_changed(name: str | None) -> None:
    say(focus=name or None, mono=time.monotonic())


def run_qt(title: str) -> int:
    os.environ["QT_LINUX_ACCESSIBILITY_ALWAYS_ON"] = "1"
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import QApplication, QFormLayout, QLineEdit, QWidget

    app = QApplication([sys.argv[0]])
    window = QWidget()
    window.setWindowTitle(title)
    form = QFormLayout(window)
    plain = QLineEdit()
    plain.setObjectName("plain")
    password = QLineEdit()
    password.setObjectName("password")
    password.setEchoMode(QLineEdit.EchoMode.Password)
    form.addRow("User name", plain)
    form.addRow("Password", password)
    window.setGeometry(120, 120, 360, 110)
    app.focusChanged.connect(lambda _old, new: focus_changed(new.objectName() if new else None))
    window.show()

    def centre(edit: QLineEdit) -> list[int]:
        point = edit.mapToGlobal(edit.rect().center())
        return [point.x(), point.y()]

    def report_when_ready() -> None:
        # The bridge turns active once Qt has reached the accessibility bus.
        if window.isVisible() and QAccessible.isActive():
            say(ready={"plain": centre(plain), "password": centre(password)}, pid=os.getpid())
        else:
            QTimer.singleShot(50, report_when_ready)

    QTimer.singleShot(0, report_when_ready)
    return app.exec()


def run_gtk(title: str) -> int:
    import gi

    gi.require_version("Gtk", "3.0")
    from gi.repository import GLib, Gtk

    window = Gtk.Window(title=title)
    window.move(120, 120)
    window.set_default_size(360, 110)
    grid = Gtk.Grid(row_spacing=8, column_spacing=8, margin=10)
    window.add(grid)
    plain = Gtk.Entry(name="plain", hexpand=True)
    password = Gtk.Entry(name="password", hexpand=True, visibility=False)
    grid.attach(Gtk.Label(label="User name"), 0, 0, 1, 1)
    grid.attach(plain, 1, 0, 1, 1)
    grid.attach(Gtk.Label(label="Password"), 0, 1, 1, 1)
    grid.attach(password, 1, 1, 1, 1)
    window.connect("set-focus", lambda _w, widget: focus_changed(widget and widget.get_name()))
    window.connect("destroy", Gtk.main_quit)
    window.show_all()

    def centre(entry: Any) -> list[int]:
        alloc = entry.get_allocation()
        _, x, y = window.get_window().get_origin()
        return [x + alloc.x + alloc.width // 2, y + alloc.y + alloc.height // 2]

    def report_when_ready() -> bool:
        if window.get_window() is None or not window.get_mapped():
            return True  # try again
        say(ready={"plain": centre(plain), "password": centre(password)}, pid=os.getpid())
        return False

    GLib.timeout_add(50, report_when_ready)
    Gtk.main()
    return 0


if __name__ == "__main__":
    toolkit, form_title = sys.argv[1], sys.argv[2]
    sys.exit(run_qt(form_title) if toolkit == "qt" else run_gtk(form_title))
