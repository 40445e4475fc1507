"""Where Praxis keeps its files, and making sure only the owner can read them."""

from __future__ import annotations

import os
import stat
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
    """Create `path` readable by the owner only, or check that an existing one already is;
    fail with an actionable message.

    A folder Praxis did not create is never re-permissioned: changing the mode of a shared
    folder (/tmp, a team share) would break it for everyone else, and a folder another user
    owns could be read or swapped by them whatever its mode.
    """
    if not str(path) or str(path) == ".":
        raise DataDirError(
            f"no data folder was given. Name one with --data-dir or {DATA_DIR_ENV}, or leave "
            "both unset to use the per-user data folder."
        )
    try:
        created = not path.exists()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix":
            if created:
                os.chmod(path, 0o700)  # mkdir's mode is narrowed by the umask, never widened
            else:
                _check_private(path)
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataDirError(
            f"cannot write to {path} ({exc.strerror or exc}). Choose another folder with "
            f"--data-dir or {DATA_DIR_ENV}, or fix its permissions."
        ) from exc
    return path


def _check_private(path: Path) -> None:
    info = os.stat(path)
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.getuid():
        raise DataDirError(
            f"{path} belongs to another user (uid {info.st_uid}); recordings are kept only in "
            f"a folder of your own. Choose one with --data-dir or {DATA_DIR_ENV}, for example "
            f"{path / 'praxis'} if you may create it there."
        )
    if mode & 0o077:
        shared = (
            "is shared with other users"
            if mode & 0o022 or mode & stat.S_ISVTX
            else ("can be read by other users")
        )
        raise DataDirError(
            f"{path} {shared} (mode {mode:04o}); recordings are kept only in a folder no one "
            f"else can open. Choose a new folder with --data-dir (Praxis creates it private), "
            f"or, if the folder is yours alone, run `chmod 700 {path}`."
        )
