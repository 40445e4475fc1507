"""Where the shipped resources (consent text, icons) are, however Praxis was installed.

There is one rule with one fallback:

- An installed package (a wheel, a `.deb` or any other bundle built from this source) carries
  them inside the package as `app/resources/`: the wheel build copies the repository's
  `resources/` folder there (setup.py), and build.spec puts it at the same place in the
  PyInstaller bundle, next to the frozen `app` package.
- A source checkout (including an editable install) has no `app/resources/`: the folder is the
  repository's own `resources/`, beside the `app` package.

A folder only counts when it holds the consent text, so a stray empty folder is never taken.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import app
from app.core.errors import PraxisError

# The file every complete copy of the resources has; without it nothing may be recorded.
MARKER = "consent.md"


class ResourcesMissing(PraxisError):
    title = "Installation incomplete"


def candidate_dirs(package_dir: Path) -> tuple[Path, Path]:
    """Inside the package (installed, frozen), then beside it (source checkout)."""
    return package_dir / "resources", package_dir.parent / "resources"


def find_resources(package_dir: Path) -> Path:
    for candidate in candidate_dirs(package_dir):
        if (candidate / MARKER).is_file():
            return candidate
    searched = " and ".join(str(c) for c in candidate_dirs(package_dir))
    raise ResourcesMissing(
        f"the consent text and icons were not found (looked in {searched}). "
        "Reinstall Praxis from its package."
    )


@cache
def resources_dir() -> Path:
    return find_resources(Path(app.__file__).resolve().parent)


def resource(*parts: str) -> Path:
    """A path below the resources folder, e.g. resource("icons", "paused-light.svg")."""
    return resources_dir().joinpath(*parts)
