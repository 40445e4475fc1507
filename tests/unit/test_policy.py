"""Managed policy: every source reads into the one schema, bad policy keeps recording off and
says where the problem is, and the shipped templates all mean the same settings."""

from __future__ import annotations

import importlib.util
import plistlib
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from app.core.consent import load_consent_text
from app.core.errors import PolicyError
from app.core.policy import (
    POLICY_ENV,
    WINDOWS_POLICY_KEY,
    FirstPolicy,
    PlistPolicyFile,
    TomlPolicyFile,
    default_policy_source,
)
from app.core.settings import Settings, SettingsError, load_settings, schema
from app.platform.win32_policy import REG_DWORD, REG_MULTI_SZ, REG_SZ, WindowsPolicy

ROOT = Path(__file__).resolve().parents[2]
NS = {"p": "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"}


def _templates() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_templates", ROOT / "installers" / "policy" / "make_templates.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class FakeRegistry:
    def __init__(self, values: dict[str, tuple[Any, int]] | None) -> None:
        self.values = values

    def machine_values(self, subkey: str) -> dict[str, tuple[Any, int]] | None:
        assert subkey == WINDOWS_POLICY_KEY
        return self.values


def _uncommented_template(tmp_path: Path) -> Path:
    text = (ROOT / "installers" / "policy" / "policy.toml").read_text()
    lines = [re.sub(r"^# (\w+ = )", r"\1", line) for line in text.splitlines()]
    path = tmp_path / "policy.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# -- the templates -----------------------------------------------------------------------
def test_templates_and_doc_table_are_generated_from_the_schema() -> None:
    assert _templates().main(["--check"]) == 0


def test_commented_template_as_shipped_sets_nothing(tmp_path: Path) -> None:
    settings = load_settings(None, ROOT / "installers" / "policy" / "policy.toml")
    assert settings == Settings() and settings.locked == frozenset()


def test_toml_template_with_every_line_in_force_sets_every_key(tmp_path: Path) -> None:
    settings = load_settings(None, _uncommented_template(tmp_path))
    assert settings.locked == frozenset(schema())
    for key, value in _templates().example_values().items():
        assert getattr(settings, key) == value, key


def test_mobileconfig_payload_reads_into_the_same_settings(tmp_path: Path) -> None:
    profile = plistlib.loads(
        (ROOT / "installers/macos/com.praxis.recorder.mobileconfig").read_bytes()
    )
    assert profile["PayloadType"] == "Configuration"
    [payload] = profile["PayloadContent"]
    assert payload["PayloadType"] == "com.praxis.recorder"
    managed = tmp_path / "Managed Preferences" / "com.praxis.recorder.plist"
    managed.parent.mkdir()
    managed.write_bytes(plistlib.dumps(payload))  # what macOS writes when the profile installs
    from_plist = load_settings(None, PlistPolicyFile((managed,)))
    from_toml = load_settings(None, _uncommented_template(tmp_path))
    assert from_plist == from_toml and from_plist.locked == from_toml.locked


def _apply_admx(values: dict[str, Any]) -> dict[str, tuple[Any, int]]:
    """What Group Policy writes to the registry when every policy in the ADMX is enabled with
    `values`: read from the ADMX itself, so a wrong value type there fails this test."""
    tree = ET.parse(ROOT / "installers/windows/policy/Praxis.admx")
    registry: dict[str, tuple[Any, int]] = {}
    for policy in tree.getroot().iterfind(".//p:policies/p:policy", NS):
        assert policy.get("key") == WINDOWS_POLICY_KEY
        name = policy.get("name")
        value = values[name]
        enabled = policy.find("p:enabledValue/p:decimal", NS)
        if enabled is not None:
            off = policy.find("p:disabledValue/p:decimal", NS)
            assert off is not None
            chosen = enabled if value else off
            registry[policy.get("valueName")] = (int(chosen.get("value")), REG_DWORD)
            continue
        [element] = list(policy.find("p:elements", NS))
        tag = element.tag.split("}")[1]
        value_name = element.get("valueName")
        if tag == "decimal":
            registry[value_name] = (int(value), REG_DWORD)
        elif tag == "multiText":
            registry[value_name] = (list(value), REG_MULTI_SZ)
        elif tag == "enum":
            choices = [s.text for s in element.iterfind(".//p:string", NS)]
            assert value in choices
            registry[value_name] = (value, REG_SZ)
        else:
            assert tag == "text"
            registry[value_name] = (str(value), REG_SZ)
    return registry


def test_admx_policies_written_to_the_registry_read_into_the_same_settings(
    tmp_path: Path,
) -> None:
    examples = _templates().example_values()
    registry = _apply_admx(examples)
    assert set(registry) == set(schema())
    from_registry = load_settings(None, WindowsPolicy(FakeRegistry(registry)))
    assert from_registry == load_settings(None, _uncommented_template(tmp_path))
    assert from_registry.locked == frozenset(schema())


def test_every_admx_reference_has_its_text_in_the_adml() -> None:
    admx = (ROOT / "installers/windows/policy/Praxis.admx").read_text()
    adml = ET.parse(ROOT / "installers/windows/policy/en-US/Praxis.adml").getroot()
    strings = {s.get("id") for s in adml.iterfind(".//p:stringTable/p:string", NS)}
    presentations = {
        p.get("id") for p in adml.iterfind(".//p:presentationTable/p:presentation", NS)
    }
    assert set(re.findall(r"\$\(string\.([\w]+)\)", admx)) <= strings
    assert set(re.findall(r"\$\(presentation\.([\w]+)\)", admx)) <= presentations


def test_policy_doc_lists_every_key() -> None:
    doc = (ROOT / "docs" / "POLICY.md").read_text()
    for key in schema():
        assert f"| `{key}` |" in doc, key


# -- reading and failing closed -----------------------------------------------------------
def test_named_policy_file_that_is_missing_stops_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POLICY_ENV, str(tmp_path / "gone.toml"))
    source = default_policy_source("plan9")  # no machine policy there
    with pytest.raises(PolicyError, match=r"gone\.toml does not exist; recording stays off"):
        load_settings(None, source)


def test_empty_policy_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POLICY_ENV, " ")
    with pytest.raises(PolicyError, match="set but empty"):
        default_policy_source()


def test_machine_policy_wins_over_the_variable(tmp_path: Path) -> None:
    machine = tmp_path / "machine.toml"
    machine.write_text("capture_screen = false\n")
    personal = tmp_path / "personal.toml"
    personal.write_text("capture_screen = true\n")
    source = FirstPolicy((TomlPolicyFile(machine), TomlPolicyFile(personal, required=True)))
    settings = load_settings(None, source)
    assert settings.capture_screen is False and settings.locked == {"capture_screen"}


def test_absent_machine_policy_is_no_policy(tmp_path: Path) -> None:
    assert load_settings(None, TomlPolicyFile(tmp_path / "policy.toml")) == Settings()


def test_unreadable_policy_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "policy.toml"
    folder.mkdir()  # reading it fails for root too, unlike a chmod
    with pytest.raises(PolicyError, match="cannot be read"):
        load_settings(None, TomlPolicyFile(folder))


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("# managed\ncapture_screen = false\n\ncapture_everything = true\n")
    with pytest.raises(PolicyError, match=r"policy\.toml, line 4, key capture_everything"):
        load_settings(None, policy)


def test_bad_value_names_file_line_and_key(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('upload = "auto"\nauto_after_hours = -3\n')
    with pytest.raises(PolicyError) as caught:
        load_settings(None, policy)
    message = caught.value.message
    assert "line 2, key auto_after_hours" in message and "recording stays off" in message


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("capture_keys = true\ncapture_screen = [oops\n")
    with pytest.raises(PolicyError, match=r"line 2"):
        load_settings(None, policy)


@pytest.mark.parametrize(
    "key", ["hide_tray_icon", "show_indicator", "disable_pause", "allow_delete", "skip_review"]
)
def test_policy_cannot_take_away_the_persons_controls(tmp_path: Path, key: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(f"{key} = true\n")
    with pytest.raises(PolicyError, match="cannot hide the tray indicator or turn off pause"):
        load_settings(None, policy)


def test_policy_only_keys_are_refused_in_the_persons_file(tmp_path: Path) -> None:
    user = tmp_path / "settings.toml"
    user.write_text("start_at_login = true\n")
    with pytest.raises(SettingsError, match="only IT policy can set start_at_login"):
        load_settings(user, None)


def test_registry_types_map_onto_the_schema() -> None:
    registry = {
        "capture_screen": (0, REG_DWORD),
        "min_frame_gap_s": ("0.5", REG_SZ),
        "disk_budget_mb": (512, REG_DWORD),
        "excluded_apps": (["slack", ""], REG_MULTI_SZ),
        "custom_terms": ("Falcon", REG_SZ),
        "": ("ignored default value", REG_SZ),
    }
    settings = load_settings(None, WindowsPolicy(FakeRegistry(registry)))
    assert settings.capture_screen is False and settings.min_frame_gap_s == 0.5
    assert settings.disk_budget_mb == 512 and settings.excluded_apps == ("slack",)
    assert settings.custom_terms == ("Falcon",)


def test_bad_registry_value_names_its_path() -> None:
    registry = {"capture_screen": (7, REG_DWORD)}
    with pytest.raises(PolicyError, match=r"HKLM\\Software\\Policies\\Praxis\\capture_screen"):
        load_settings(None, WindowsPolicy(FakeRegistry(registry)))


def test_windows_without_the_key_reads_program_data(tmp_path: Path) -> None:
    (tmp_path / "Praxis").mkdir()
    (tmp_path / "Praxis" / "policy.toml").write_text("capture_keys = false\n")
    settings = load_settings(None, WindowsPolicy(FakeRegistry(None), program_data=tmp_path))
    assert settings.capture_keys is False and settings.locked == {"capture_keys"}


def test_per_user_managed_preferences_win_on_macos(tmp_path: Path) -> None:
    machine = tmp_path / "machine.plist"
    machine.write_bytes(plistlib.dumps({"capture_keys": False}))
    per_user = tmp_path / "user.plist"
    per_user.write_bytes(plistlib.dumps({"capture_mouse": False}))
    settings = load_settings(None, PlistPolicyFile((per_user, machine)))
    assert settings.locked == {"capture_mouse"}


def test_corrupt_managed_preferences_are_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.plist"
    broken.write_bytes(b"<plist><dict><key>capture_keys</key>")
    with pytest.raises(PolicyError, match="cannot be read"):
        load_settings(None, PlistPolicyFile((broken,)))


# -- consent text from policy ---------------------------------------------------------------
def test_policy_consent_text_replaces_the_built_in_one(tmp_path: Path) -> None:
    text = tmp_path / "consent.md"
    text.write_text("<!-- consent-version: 7 -->\n# Our terms\nWe record work apps only.\n")
    settings = Settings(consent_text_file=str(text), consent_version=7)
    consent = load_consent_text(settings)
    assert consent.version == 7 and consent.body.startswith("# Our terms")


def test_consent_version_mismatch_keeps_recording_off(tmp_path: Path) -> None:
    text = tmp_path / "consent.md"
    text.write_text("<!-- consent-version: 3 -->\nTerms\n")
    with pytest.raises(PolicyError, match="expects consent text version 4"):
        load_consent_text(Settings(consent_text_file=str(text), consent_version=4))


def test_missing_policy_consent_text_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot be read"):
        load_consent_text(Settings(consent_text_file=str(tmp_path / "none.md")))
