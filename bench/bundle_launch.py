"""The frozen bundle against the source checkout, in the same run: seconds from launch until the
tray icon is drawn, and the selftest's wall time, alternating the two so that the machine's load
falls on both alike.

    python bench/bundle_launch.py                       # dist/praxis, 3 rounds
    python bench/bundle_launch.py --bundle DIR --rounds 5

Needs the bundle (`pyinstaller build.spec`), Xvfb, trayer, xdotool and dbus-run-session, and a
Secret Service keyring (gnome-keyring), which the launches start in their own D-Bus sessions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ui.xdesktop import Desktop, count_color, stop_group, wait_for  # noqa: E402

RING = (0x3C, 0x40, 0x43)  # the ring every tray icon draws


def with_keyring(*command: str) -> list[str]:
    script = (
        'printf praxis | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@"'
    )
    return ["dbus-run-session", "--", "sh", "-c", script, "sh", *command]


def session_env(desktop: Desktop, home: Path) -> dict[str, str]:
    env = desktop.env(HOME=str(home), XDG_DATA_HOME=str(home / "data"))
    env["XDG_CONFIG_HOME"] = str(home / "config")
    for name in ("PYTHON_KEYRING_BACKEND", "QT_QPA_PLATFORM", "PRAXIS_DATA_DIR"):
        env.pop(name, None)
    return env


def launch_to_icon(desktop: Desktop, command: list[str], home: Path) -> float:
    home.mkdir(parents=True)
    started = time.monotonic()
    proc = desktop.launch(with_keyring(*command), session_env(desktop, home), "launch.log")
    try:

        def drawn() -> bool:
            if proc.poll() is not None:
                raise RuntimeError((desktop.log_dir / "launch.log").read_text(errors="replace"))
            icon = desktop.tray_icon()
            return bool(icon and count_color(desktop.screenshot(icon), RING) > 10)

        wait_for(drawn, 90, "the tray icon", 0.05)
        return time.monotonic() - started
    finally:
        stop_group(proc)
        desktop.procs.remove(proc)


def selftest_time(desktop: Desktop, command: list[str], home: Path) -> float:
    home.mkdir(parents=True)
    started = time.monotonic()
    subprocess.run(
        with_keyring(*command, "selftest"),
        env=session_env(desktop, home),
        capture_output=True,
        timeout=300,
    )
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("dist/praxis"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    frozen = [str((args.bundle / "praxis").resolve())]
    source = [sys.executable, "-m", "app"]
    times: dict[str, list[float]] = {k: [] for k in ("fl", "sl", "fs", "ss")}
    with tempfile.TemporaryDirectory() as tmp:
        desktop = Desktop.start(Path(tmp) / "x")
        try:
            for i in range(args.rounds):
                base = Path(tmp) / str(i)
                times["fl"].append(launch_to_icon(desktop, frozen, base / "fl"))
                times["sl"].append(launch_to_icon(desktop, source, base / "sl"))
                times["fs"].append(selftest_time(desktop, frozen, base / "fs"))
                times["ss"].append(selftest_time(desktop, source, base / "ss"))
        finally:
            desktop.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print(f"{'':<28}{'bundle':>10}{'source':>10}{'ratio':>8}")
    for label, f, s in (("launch to tray icon (s)", "fl", "sl"), ("selftest (s)", "fs", "ss")):
        print(f"{label:<28}{med[f]:>10.2f}{med[s]:>10.2f}{med[f] / med[s]:>8.2f}")
    print(f"(medians of {args.rounds} alternating rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
