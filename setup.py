"""Only what pyproject.toml cannot say: the wheel carries the repository's top-level
`resources/` folder as package data at `app/resources/` (see app/core/resources.py)."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = Path(__file__).resolve().parent / "resources"


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        # An editable install reads the checkout's resources/ directly.
        if not getattr(self, "editable_mode", False):
            self.copy_tree(str(RESOURCES), str(Path(self.build_lib) / "app" / "resources"))


setup(cmdclass={"build_py": BuildWithResources})
