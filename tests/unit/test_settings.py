from pathlib import Path

import pytest

from app.core.errors import PolicyError
from app.core.settings import Settings, SettingsError, load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_without_files(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "none.toml", tmp_path / "no-policy.toml") == Settings()


def test_policy_overrides_user_and_locks_its_keys(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", "capture_screen = false\nsegment_minutes = 10\n")
    policy = write(tmp_path / "policy.toml", "capture_screen = true\ndisk_budget_mb = 512\n")
    settings = load_settings(user, policy)
    assert settings.capture_screen is True
    assert settings.segment_minutes == 10.0
    assert settings.disk_budget_mb == 512
    assert settings.locked == {"capture_screen", "disk_budget_mb"}


def test_corrupt_policy_is_an_error_not_ignored(tmp_path: Path) -> None:
    policy = write(tmp_path / "policy.toml", "capture_screen = [oops\n")
    with pytest.raises(PolicyError, match="cannot be read"):
        load_settings(None, policy)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", "capture_everything = true\n")
    with pytest.raises(SettingsError, match="capture_everything"):
        load_settings(user, None)


def test_wrong_type_is_explained(tmp_path: Path) -> None:
    user = write(tmp_path / "user.toml", 'disk_budget_mb = "lots"\n')
    with pytest.raises(SettingsError, match="disk_budget_mb must be int"):
        load_settings(user, None)


def test_out_of_range_policy_value_is_a_policy_error(tmp_path: Path) -> None:
    policy = write(tmp_path / "policy.toml", "mouse_move_hz = 1000.0\n")
    with pytest.raises(PolicyError, match="mouse_move_hz"):
        load_settings(None, policy)


def test_saved_settings_load_back_without_policy_keys(tmp_path: Path) -> None:
    from dataclasses import replace

    from app.core.settings import save_user_settings

    policy = write(tmp_path / "policy.toml", "disk_budget_mb = 512\n")
    settings = replace(
        load_settings(None, policy),
        excluded_apps=("keepassxc", 'odd "name"'),
        capture_screen=False,
        pause_hotkey="<ctrl>+<shift>+p",
        disk_budget_mb=4096,  # locked: not the user's to save
    )
    save_user_settings(tmp_path / "settings.toml", settings)
    text = (tmp_path / "settings.toml").read_text()
    assert "disk_budget_mb" not in text
    loaded = load_settings(tmp_path / "settings.toml", policy)
    assert loaded.excluded_apps == ("keepassxc", 'odd "name"')
    assert loaded.capture_screen is False and loaded.pause_hotkey == "<ctrl>+<shift>+p"
    assert loaded.disk_budget_mb == 512
