"""The installer definitions for every OS, checked as far as this machine can: the WiX source
compiles with wixl against a stand-in bundle and its tables say what the installer promises;
the macOS property lists and distribution parse and agree with each other and with build.spec;
the CI workflow parses and runs each OS's build, package and frozen selftest; the Linux package
definition names files that exist."""

from __future__ import annotations

import configparser
import plistlib
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import app
from app.core.policy import MACOS_DOMAIN
from app.platform.autostart import DESKTOP_NAME, MACOS_LABEL, WINDOWS_VALUE

REPO = Path(app.__file__).resolve().parent.parent
INSTALLERS = REPO / "installers"


# -- Windows -----------------------------------------------------------------------------------
def _msi_table(msi: Path, table: str) -> list[list[str]]:
    out = subprocess.run(
        ["msiinfo", "export", str(msi), table], capture_output=True, text=True, check=True
    ).stdout
    return [line.split("\t") for line in out.splitlines()[3:]]  # after names, types, key


@pytest.fixture(scope="module")
def msi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("wixl") is None or shutil.which("msiinfo") is None:
        pytest.skip("wixl and msitools are not installed (apt-get install wixl msitools)")
    work = tmp_path_factory.mktemp("msi")
    payload = work / "payload"
    for name in ("praxis.exe", "praxis-tray.exe", "_internal/app/resources/consent.md"):
        (payload / name).parent.mkdir(parents=True, exist_ok=True)
        (payload / name).write_bytes(b"stand-in for " + name.encode())
    files = "\n".join(str(p.relative_to(work)) for p in sorted(payload.rglob("*")) if p.is_file())
    harvested = subprocess.run(
        ["wixl-heat", "--prefix", "payload/", "--directory-ref", "INSTALLDIR"]
        + ["--component-group", "Payload", "--var", "var.SourceDir", "--win64"],
        input=files,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (work / "payload.wxs").write_text(harvested)
    shutil.copy(INSTALLERS / "windows" / "praxis.wxs", work)  # wixl reads sources beside it
    result = subprocess.run(
        ["wixl", "-a", "x64", "-D", "SourceDir=payload", "-D", "Win64=yes"]
        + ["-D", f"Version={app.__version__}", "-o", "praxis.msi", "praxis.wxs", "payload.wxs"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and (work / "praxis.msi").exists(), result.stderr
    return work / "praxis.msi"


def test_msi_installs_per_machine_with_a_start_menu_entry(msi: Path) -> None:
    properties = dict(row[:2] for row in _msi_table(msi, "Property"))
    assert properties["ALLUSERS"] == "1"
    assert properties["ProductVersion"] == app.__version__
    assert properties["ProductName"] == "Praxis"
    shortcuts = _msi_table(msi, "Shortcut")
    assert [(s[1], s[2], s[4]) for s in shortcuts] == [
        ("ProgramMenuFolder", "Praxis", "[INSTALLDIR]praxis-tray.exe")
    ]
    directories = {row[0]: row for row in _msi_table(msi, "Directory")}
    assert directories["INSTALLDIR"][1] == "ProgramFiles64Folder"
    assert _msi_table(msi, "Upgrade"), "a newer MSI must replace an older one"


def test_msi_autostart_is_a_feature_an_admin_can_leave_out(msi: Path) -> None:
    runs = [r for r in _msi_table(msi, "Registry") if r[2].endswith(r"CurrentVersion\Run")]
    # The value the app's own login setting looks for to switch it off per person.
    assert [(r[1], r[3], r[4], r[5]) for r in runs] == [
        ("2", WINDOWS_VALUE, '"[INSTALLDIR]praxis-tray.exe"', "Autostart")
    ]
    features = {row[0] for row in _msi_table(msi, "Feature")}
    assert features == {"Main", "Autostart"}
    links = {(row[0], row[1]) for row in _msi_table(msi, "FeatureComponents")}
    assert ("Autostart", "Autostart") in links


def test_msi_writes_the_collector_url_into_policy_only_when_given(msi: Path) -> None:
    actions = {row[0]: row for row in _msi_table(msi, "CustomAction")}
    write = actions["WriteCollectorPolicy"]
    assert r"add HKLM\Software\Policies\Praxis /v collector_url" in write[3]
    assert '"[COLLECTOR_URL]"' in write[3]
    sequence = {row[0]: (row[1], int(row[2])) for row in _msi_table(msi, "InstallExecuteSequence")}
    assert sequence["WriteCollectorPolicy"][0] == "COLLECTOR_URL AND NOT REMOVE"
    # Deferred actions run inside the install script, between these two.
    start, end = sequence["InstallInitialize"][1], sequence["InstallFinalize"][1]
    for name in ("WriteCollectorPolicy", "RemoveCollectorPolicy", "RemoveUserData"):
        assert start < sequence[name][1] < end, name
        assert int(actions[name][1]) & 0x400, f"{name} must be deferred"
        assert int(actions[name][1]) & 0x800, f"{name} must run as the system, not the user"
    assert sequence["WriteCollectorPolicy"][1] > sequence["WriteRegistryValues"][1]


def test_msi_uninstall_keeps_user_data_unless_asked(msi: Path) -> None:
    actions = {row[0]: row for row in _msi_table(msi, "CustomAction")}
    sequence = {row[0]: row[1] for row in _msi_table(msi, "InstallExecuteSequence")}
    assert 'REMOVE_USER_DATA = "1"' in sequence["RemoveUserData"]
    assert 'REMOVE = "ALL"' in sequence["RemoveUserData"]
    assert "NOT UPGRADINGPRODUCTCODE" in sequence["RemoveUserData"]  # an upgrade keeps it
    assert r"AppData\Local\Praxis" in actions["RemoveUserData"][3]
    # Nothing else the MSI installs lives in a person's profile.
    registry_roots = {row[1] for row in _msi_table(msi, "Registry")}
    assert registry_roots == {"2"}  # HKLM only


# -- macOS -------------------------------------------------------------------------------------
def _plist(name: str) -> dict:
    with (INSTALLERS / "macos" / name).open("rb") as fh:
        return plistlib.load(fh)


def test_macos_app_is_a_menu_bar_app_started_by_a_launch_agent() -> None:
    info = _plist("Info.plist")
    assert info["LSUIElement"] is True
    assert info["LSMinimumSystemVersion"] == "12.0"
    # The identifiers the app uses for managed preferences and for its login setting.
    assert info["CFBundleIdentifier"] == MACOS_DOMAIN
    agent = _plist(f"{MACOS_LABEL}.plist")
    assert agent["Label"] == MACOS_LABEL
    assert agent["AssociatedBundleIdentifiers"] == info["CFBundleIdentifier"]
    assert agent["RunAtLoad"] is True
    assert agent["LimitLoadToSessionType"] == "Aqua"
    # build.spec names the executable `praxis` and the bundle Praxis.app.
    assert agent["ProgramArguments"] == ["/Applications/Praxis.app/Contents/MacOS/praxis"]
    spec = (REPO / "build.spec").read_text()
    assert 'name="Praxis.app"' in spec and 'name="praxis",' in spec
    entitlements = _plist("entitlements.plist")
    assert set(entitlements) == {"com.apple.security.cs.allow-unsigned-executable-memory"}


def test_macos_package_scripts_agree() -> None:
    distribution = ET.parse(INSTALLERS / "macos" / "distribution.xml").getroot()
    (ref,) = [r for r in distribution.iter("pkg-ref") if r.text]
    script = (INSTALLERS / "macos" / "build-pkg.sh").read_text()
    assert f'"$WORK/{ref.text}"' in script
    assert "--identifier com.praxis.recorder" in script
    assert distribution.find("options").get("customize") == "never"
    for step in ("codesign", "--options runtime", "notarytool submit", "stapler staple"):
        assert step in script
    postinstall = INSTALLERS / "macos" / "scripts" / "postinstall"
    assert postinstall.stat().st_mode & 0o111


# -- Linux -------------------------------------------------------------------------------------
def _desktop(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(INSTALLERS / "linux" / name)
    return parser["Desktop Entry"]


def test_linux_entries_start_the_installed_app() -> None:
    for name in ("praxis.desktop", "praxis-autostart.desktop"):
        entry = _desktop(name)
        assert entry["Exec"] == entry["TryExec"] == "/usr/bin/praxis"
        assert entry["Icon"] == "praxis"
    assert "Hidden" not in _desktop("praxis-autostart.desktop")


def test_nfpm_config_names_files_that_exist() -> None:
    config = yaml.safe_load((INSTALLERS / "linux" / "nfpm.yaml").read_text())
    staged = {"build/linux-package/praxis", "build/linux-package/icons"}  # build-deb.sh makes
    for item in config["contents"]:
        if item.get("type") == "symlink" or item["src"] in staged:
            continue
        assert (REPO / item["src"]).exists(), item["src"]
    autostart = [i["dst"] for i in config["contents"] if "/autostart/" in i["dst"]]
    assert autostart == [f"/etc/xdg/autostart/{DESKTOP_NAME}"]  # what the app's setting hides
    conffiles = {
        i["dst"] for i in config["contents"] if str(i.get("type", "")).startswith("config")
    }
    assert conffiles == {"/etc/praxis/policy.toml", "/etc/xdg/autostart/praxis.desktop"}
    for script in config["scripts"].values():
        assert (REPO / script).stat().st_mode & 0o111, script


@pytest.mark.parametrize(
    ("shell", "script"),
    [
        ("bash", "linux/build-deb.sh"),
        ("sh", "linux/postinst"),
        ("sh", "linux/prerm"),
        ("sh", "linux/postrm"),
        ("bash", "macos/build-pkg.sh"),
        ("sh", "macos/uninstall.sh"),
        ("sh", "macos/scripts/postinstall"),
    ],
)
def test_shell_scripts_parse(shell: str, script: str) -> None:
    result = subprocess.run([shell, "-n", str(INSTALLERS / script)], capture_output=True)
    assert result.returncode == 0, result.stderr


# -- CI ----------------------------------------------------------------------------------------
def test_workflow_builds_tests_packages_and_selftests_on_every_os() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "build.yml").read_text())
    assert set(workflow) >= {"name", "jobs"} and True in workflow  # PyYAML reads `on:` as True
    (job,) = workflow["jobs"].values()
    systems = [entry["os"] for entry in job["strategy"]["matrix"]["include"]]
    assert [s.split("-")[0] for s in systems] == ["ubuntu", "windows", "macos"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    for needed in (
        "bash .ci/run",
        "PyInstaller --noconfirm --log-level WARN build.spec",
        "python -m pytest",
        "installers/check_selftest.py ${{ matrix.binary }}",
        "installers/linux/build-deb.sh",
        r"installers\windows\build-msi.ps1",
        "installers/macos/build-pkg.sh",
    ):
        assert needed in runs, needed
    for path in ("installers/check_selftest.py", "installers/windows/build-msi.ps1"):
        assert (REPO / path).exists()
