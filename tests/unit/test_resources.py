"""The resources folder is found inside an installed package first, beside it in a checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

import app
from app.core.consent import load_consent_text
from app.core.resources import MARKER, ResourcesMissing, find_resources, resources_dir

REPO = Path(app.__file__).resolve().parent.parent


def _resources(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / MARKER).write_text("<!-- consent-version: 1 -->\nok\n")
    return where


def test_a_checkout_uses_the_repository_folder() -> None:
    assert resources_dir() == REPO / "resources"
    assert load_consent_text().version >= 1


def test_an_installed_package_uses_its_own_copy(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "app"
    inside = _resources(package / "resources")
    _resources(tmp_path / "site-packages" / "resources")  # a stray folder beside it loses
    assert find_resources(package) == inside


def test_a_folder_without_the_consent_text_does_not_count(tmp_path: Path) -> None:
    package = tmp_path / "src" / "app"
    (package / "resources").mkdir(parents=True)  # empty: an incomplete copy
    beside = _resources(tmp_path / "src" / "resources")
    assert find_resources(package) == beside


def test_missing_resources_name_where_they_were_looked_for(tmp_path: Path) -> None:
    package = tmp_path / "app"
    package.mkdir()
    with pytest.raises(ResourcesMissing) as info:
        find_resources(package)
    assert str(package / "resources") in info.value.message
    assert "Reinstall" in info.value.message
