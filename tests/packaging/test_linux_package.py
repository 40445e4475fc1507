"""The frozen app and the .deb, end to end: build the PyInstaller bundle, run its selftest
headless, build the .deb with installers/linux/build-deb.sh, install it with dpkg, run the
installed selftest (headless, then on a virtual X server with a real Secret Service keyring),
launch the installed tray app until its icon shows in a tray, then remove and purge it and find
nothing left but the person's own data.

The figures (build time, sizes, launch time) are printed at the end of the pytest run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import app
from tests.packaging.conftest import FIGURES
from tests.ui.xdesktop import Desktop, count_color, wait_for

# Building the bundle takes one to three minutes of CPU; on a loaded machine much longer.
pytestmark = pytest.mark.timeout(1800)

REPO = Path(app.__file__).resolve().parent.parent
INSTALLED = Path("/usr/bin/praxis")
# Colours of the tray icons (resources/icons): the ring every state draws.
RING = (0x3C, 0x40, 0x43)


def _du_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir())
    return round(total / 1e6, 1)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one-folder bundle: PRAXIS_BUNDLE names a prebuilt one, otherwise it is built here."""
    prebuilt = os.environ.get("PRAXIS_BUNDLE")
    if prebuilt:
        return Path(prebuilt).resolve()
    out = tmp_path_factory.mktemp("pyinstaller")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
        + ["--distpath", str(out / "dist"), "--workpath", str(out / "build"), "build.spec"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    FIGURES["bundle build"] = f"{time.monotonic() - started:.0f} s"
    path = out / "dist" / "praxis"
    FIGURES["bundle size"] = f"{_du_mb(path)} MB"
    return path


def _session_env(home: Path, **extra: str) -> dict[str, str]:
    """A person's session as far as Praxis can tell: own home, data and config folders."""
    drop = ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "DBUS_SESSION_BUS_ADDRESS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.pop("PYTHON_KEYRING_BACKEND", None)  # the installed app meets the real keyring
    env.pop("PRAXIS_POLICY_FILE", None)  # and the machine policy the package installed
    env.pop("QT_QPA_PLATFORM", None)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        **extra,
    )
    return env


def _with_keyring(*command: str) -> list[str]:
    """`command` in its own D-Bus session with an unlocked GNOME keyring (a Secret Service)."""
    script = (
        'printf praxis | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@"'
    )
    return ["dbus-run-session", "--", "sh", "-c", script, "sh", *command]


def _selftest(command: list[str], env: dict[str, str]) -> tuple[int, dict, float]:
    started = time.monotonic()
    result = subprocess.run(
        _with_keyring(*command, "selftest", "--json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"selftest printed no report:\n{result.stdout}\n{result.stderr}")
    return result.returncode, {c["check"]: c for c in report["checks"]}, elapsed


def test_bundle_holds_the_app_only(bundle: Path) -> None:
    from PyInstaller.archive.readers import CArchiveReader

    modules = set(CArchiveReader(str(bundle / "praxis")).open_embedded_archive("PYZ.pyz").toc)
    assert {"app.cli", "app.core.recorder", "app.ui.tray", "app.platform.linux"} <= modules
    unwanted = ("tests", "bench", "collector", "pytest", "_pytest", "hypothesis", "keyrings")
    assert sorted(m for m in modules if m.split(".")[0] in unwanted) == []
    qt = {p.name.split(".")[0] for p in (bundle / "_internal" / "PySide6").glob("Qt*.so")}
    assert qt == {"QtCore", "QtGui", "QtWidgets", "QtSvg"}
    models = bundle / "_internal" / "rapidocr_onnxruntime" / "models"
    assert len(list(models.glob("*.onnx"))) >= 2  # detection and recognition at least


def test_frozen_selftest_reports_headless(bundle: Path, tmp_path: Path) -> None:
    code, checks, _ = _selftest([str(bundle / "praxis")], _session_env(tmp_path))
    assert code == 1, checks
    assert "DISPLAY is empty" in checks["display"]["detail"]
    failed = {name for name, c in checks.items() if not c["ok"]}
    assert failed == {"display", "screenshot", "input"}, checks
    assert str(bundle / "_internal" / "app" / "resources") in checks["resources"]["detail"]
    assert "models load and run" in checks["OCR models"]["detail"]
    assert "SecretService" in checks["keyring"]["detail"]

    text = subprocess.run(
        [str(bundle / "praxis"), "selftest"],
        env=_session_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert text.startswith(f"Praxis {app.__version__} (bundle in {bundle})")
    assert "Praxis cannot record on this machine until they pass." in text


def _dpkg(*args: str) -> str:
    """dpkg, waiting for its lock if another package operation holds it."""
    deadline = time.monotonic() + 300
    while True:
        result = subprocess.run(["dpkg", *args], capture_output=True, text=True, timeout=300)
        if result.returncode == 0:
            return result.stdout
        if "lock" not in result.stderr or time.monotonic() > deadline:
            raise AssertionError(f"dpkg {' '.join(args)}: {result.stdout}{result.stderr}")
        time.sleep(2)


def _owned_files() -> list[Path]:
    return [Path(line) for line in _dpkg("-L", "praxis").splitlines() if line.startswith("/")]


@pytest.fixture
def deb(bundle: Path, tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("installing a .deb needs root (CI runs as root)")
    if shutil.which("dpkg") is None:
        pytest.skip("not a Debian system")
    if subprocess.run(["dpkg", "-s", "praxis"], capture_output=True).returncode == 0:
        pytest.fail("a praxis package is already installed here; remove it first", pytrace=False)
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "installers/linux/build-deb.sh", "--bundle", str(bundle), "--deb-only"]
        + ["--out", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    FIGURES[".deb build (nfpm, zstd)"] = f"{time.monotonic() - started:.0f} s"
    (package,) = (tmp_path / "out").glob("praxis_*_amd64.deb")
    FIGURES[".deb size"] = f"{package.stat().st_size / 1e6:.1f} MB"
    try:
        yield package
    finally:  # never leave the package behind on this machine, whatever failed
        subprocess.run(["dpkg", "--purge", "praxis"], capture_output=True, timeout=300)


def test_deb_installs_runs_and_leaves_only_user_data(deb: Path, tmp_path: Path) -> None:
    _dpkg("-i", str(deb))
    owned = _owned_files()
    for path in (
        INSTALLED,
        Path("/opt/praxis/praxis"),
        Path("/usr/share/applications/praxis.desktop"),
        Path("/etc/xdg/autostart/praxis.desktop"),
        Path("/etc/praxis/policy.toml"),
        Path("/usr/share/icons/hicolor/48x48/apps/praxis.png"),
    ):
        assert path.exists() and path in owned, path
    conffiles = _dpkg("-s", "praxis")
    assert "/etc/praxis/policy.toml" in conffiles

    home = tmp_path / "home"
    home.mkdir()
    # Headless: a readable report that fails on the display only.
    code, checks, _ = _selftest([str(INSTALLED)], _session_env(home))
    assert code == 1 and not checks["display"]["ok"]
    assert "/opt/praxis/_internal/app/resources" in checks["resources"]["detail"]
    # The package's example policy is in force and, all comments, sets nothing.
    assert checks["policy"]["ok"], checks["policy"]
    assert checks["policy"]["detail"] == "/etc/praxis/policy.toml sets no keys"

    desktop = Desktop.start(tmp_path / "x")
    try:
        env = _session_env(home, DISPLAY=desktop.display)
        # On an X display with a keyring, every check passes.
        code, checks, installed_s = _selftest([str(INSTALLED)], env)
        assert code == 0, checks
        _code, _checks, source_s = _selftest(
            [sys.executable, "-m", "app"], {**env, "PYTHONPATH": str(REPO)}
        )
        FIGURES["selftest, installed"] = (
            f"{installed_s:.1f} s ({installed_s / source_s:.2f}x the source checkout's)"
        )

        # The installed tray app, started the way the menu entry starts it, docks its icon.
        started = time.monotonic()
        proc = desktop.launch(_with_keyring(str(INSTALLED)), env, "installed-tray.log")

        def icon_drawn() -> object:
            if proc.poll() is not None:
                log = (desktop.log_dir / "installed-tray.log").read_text(errors="replace")
                pytest.fail(f"the installed tray app exited ({proc.returncode}):\n{log}")
            icon = desktop.tray_icon()
            return icon and count_color(desktop.screenshot(icon), RING) > 10 and icon

        icon = wait_for(icon_drawn, 60, "the installed app's icon in the tray", 0.1)
        launch_s = time.monotonic() - started
        desktop.screenshot(icon).save(desktop.log_dir / "installed-icon.png")
        FIGURES["installed app: launch to tray icon"] = f"{launch_s:.1f} s"

        # Installed and started at login, it records for nobody: it waits for consent.
        def state() -> str | None:
            out = subprocess.run(
                [str(INSTALLED), "status", "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            return json.loads(out.stdout)["state"] if out.returncode == 0 else None

        settled = wait_for(
            lambda: (s := state()) not in (None, "not_running") and s, 30, "the tray's status"
        )
        assert settled == "needs_consent"
    finally:
        desktop.stop()
    user_data = home / ".local" / "share" / "Praxis"
    assert user_data.is_dir()

    # Removal: every file of the package goes except its configuration files (the machine
    # policy, and the autostart entry, inert now through its TryExec).
    _dpkg("-r", "praxis")
    left = sorted(p for p in owned if p.exists() and not p.is_dir())
    assert left == [Path("/etc/praxis/policy.toml"), Path("/etc/xdg/autostart/praxis.desktop")]
    assert not Path("/opt/praxis").exists()
    # Purge: the policy goes too. The person's data is theirs: it stays.
    _dpkg("--purge", "praxis")
    assert not Path("/etc/praxis").exists()
    assert not Path("/etc/xdg/autostart/praxis.desktop").exists()
    assert [p for p in owned if p.exists() and not p.is_dir()] == []
    assert user_data.is_dir()
