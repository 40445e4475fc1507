"""Where Praxis keeps its files, and making sure only the owner can read them."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

from app.core.errors import DataDirError

APP_NAME = "Praxis"
DATA_DIR_ENV = "PRAXIS_DATA_DIR"


def default_data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_config_dir() -> Path:
    return Path(user_config_dir(APP_NAME, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create `path` readable by the owner only; fail with an actionable message."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix":
            os.chmod(path, 0o700)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataDirError(
            f"cannot write to {path} ({exc.strerror or exc}). Choose another folder with "
            f"--data-dir or {DATA_DIR_ENV}, or fix its permissions."
        ) from exc
    return path
