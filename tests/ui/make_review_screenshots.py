"""Screenshots of the review window for the docs, from a real recording on a throwaway X server.

    python -m tests.ui.make_review_screenshots [--out docs/screenshots]

Starts Xvfb with two terminals, records with the real `praxis record --headless` (defaults,
on-screen text redaction included) while xdotool types an e-mail address and a phone number,
clicks and switches windows; then opens the review window on that recording (Qt's xcb
platform, on the same server) and saves: the window on a screenshot with a click and typed
text, and the approval receipt.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from support.xsession import RecorderProcess, XServer, check_cli, praxis_env  # noqa: E402

LINES = [
    "Quarterly report: send the draft to alice.jones@example.com by Friday",
    "Call Bob on +1 415 555 0142 about invoice 2291, then update the tracker",
]


def record_demo(x: XServer, home: Path) -> Path:
    """A short, real recording: typing with personal data, clicks, a window switch."""
    data_dir = home / "data"
    env = praxis_env(x.display, home)
    data_dir.mkdir(mode=0o700, parents=True)
    check_cli(data_dir, "consent", "--accept", env=env)
    notes = x.xterm("Project notes", 0, 0, cols=90, rows=20)
    other = x.xterm("Build log", 980, 420, cols=70, rows=16)
    x.focus(notes)
    recorder = RecorderProcess(data_dir, env, home / "recorder.log").start(timeout=60)
    for line in LINES:
        x.type_text(line, delay_ms=15)
        x.key("Return")
        time.sleep(1.2)
    x.click(300, 200)
    time.sleep(1.0)
    x.focus(other)
    x.click(1200, 560)
    x.type_text("make release VERSION=2.4", delay_ms=15)
    x.key("Return")
    time.sleep(1.5)
    x.focus(notes)
    x.click(420, 120)
    time.sleep(1.0)
    code = recorder.stop(timeout=120)
    if code != 0:
        raise RuntimeError(f"the recorder exited with {code}:\n{recorder.output()}")
    return data_dir


def shoot(data_dir: Path, home: Path, display: str, out: Path) -> list[Path]:
    os.environ.update(praxis_env(display, home), QT_QPA_PLATFORM="xcb")
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.core.buffer.store import Buffer
    from app.core.review import receipt_items
    from app.core.settings import Settings
    from app.ui.bridge import Tasks
    from app.ui.review_window import ReviewWindow

    app = QApplication.instance() or QApplication([])

    def pump_until(condition: Callable[[], object], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            app.processEvents()
            time.sleep(0.02)

    window = ReviewWindow(Tasks(), Buffer(data_dir, create=False), Settings())
    window.resize(1440, 900)
    window.show()
    pump_until(lambda: window.loaded is not None, 60, "the recording to open")
    # The screenshot with the most actions on it: a typed line and a click, drawn.
    by_frame = window.loaded.by_frame  # type: ignore[union-attr]
    busiest = max(by_frame, key=lambda i: (len(by_frame[i]), i))
    window.show_frame(busiest)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    saved = []
    target = out / "review-window.png"
    window.grab().save(str(target))
    saved.append(target)

    receipt = window.loaded.package.receipt  # type: ignore[union-attr]
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Approve this recording for upload?",
        "This is what will be sent, exactly as you reviewed it:\n\n"
        + "\n".join(f"{label}: {text}" for label, text in receipt_items(receipt)),
    )
    box.addButton("Approve for upload", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.show()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    target = out / "review-approve.png"
    box.grab().save(str(target))
    saved.append(target)
    box.close()
    window.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="praxis-review-shots-") as tmp:
        home = Path(tmp)
        x = XServer.start(home / "x")
        try:
            data_dir = record_demo(x, home)
            for path in shoot(data_dir, home, x.display, args.out):
                print(path)
        finally:
            x.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
