"""Test-wide configuration. Every test gets its own keyring file and data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# A file keyring chosen on purpose: the recorder refuses such a backend unless it is selected
# explicitly, which is exactly what this does. Qt runs without a screen unless a test says so.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyring entries, settings and policy of one test never reach another."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    # An empty policy file: no managed keys. (Naming a file that does not exist is an error.)
    empty_policy = tmp_path / "empty-policy.toml"
    empty_policy.write_text("")
    monkeypatch.setenv("PRAXIS_POLICY_FILE", str(empty_policy))
    monkeypatch.delenv("PRAXIS_DATA_DIR", raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
