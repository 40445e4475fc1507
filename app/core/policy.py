"""Managed policy: the settings IT fixes for every person on a machine, read from where each OS
keeps such things, in one schema (the fields of `Settings`; docs/POLICY.md).

- Linux: `/etc/praxis/policy.toml`.
- Windows: the registry key `HKLM\\Software\\Policies\\Praxis` (what the ADMX template and
  Intune write), else `%ProgramData%\\Praxis\\policy.toml`.
- macOS: managed preferences for `com.praxis.recorder` (what a configuration profile installs).
- Where the machine has none: the TOML file `PRAXIS_POLICY_FILE` names.

A policy that is there but cannot be read, or that names an unknown key or a bad value, is an
error that keeps recording off: policy may narrow what is recorded, so ignoring it would
record more. The error names where the bad value is (file and line, registry value, or
preference key). A policy file named explicitly that does not exist is such an error too.
A policy can never hide the tray indicator or take away pause, delete or review: there are no
keys for them, and a policy that tries gets an error saying so.
"""

from __future__ import annotations

import os
import plistlib
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from xml.parsers.expat import ExpatError

from app.core.errors import PolicyError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

POLICY_ENV = "PRAXIS_POLICY_FILE"
LINUX_POLICY_FILE = Path("/etc/praxis/policy.toml")
WINDOWS_POLICY_KEY = r"Software\Policies\Praxis"
MACOS_DOMAIN = "com.praxis.recorder"
MACOS_MANAGED_DIR = Path("/Library/Managed Preferences")

# Words in a key that would take away one of the person's controls. No such key exists; a
# policy naming one gets this explanation instead of the generic "unknown key".
_PROTECTED_CONTROL = re.compile(
    r"(tray|indicator|icon|notif|pause|delete|review|withdraw|consent_(skip|off|disable))", re.I
)


@dataclass(frozen=True)
class PolicyDocument:
    """Raw values as one source holds them, and how to name where each value sits."""

    origin: str
    values: Mapping[str, Any]
    locate: Callable[[str], str]
    # The registry has no booleans or decimals: a switch arrives as 0/1 and a decimal as text.
    loose_types: bool = False

    def where(self, key: str) -> str:
        return self.locate(key)


class PolicySource(Protocol):
    def read(self) -> PolicyDocument | None:
        """The policy in force, None when this machine has none, PolicyError when it has one
        that cannot be read."""
        ...


@dataclass(frozen=True)
class NoPolicy:
    def read(self) -> PolicyDocument | None:
        return None


@dataclass(frozen=True)
class TomlPolicyFile:
    """A policy.toml. `required`: the file was named explicitly, so its absence is an error."""

    path: Path
    required: bool = False

    def read(self) -> PolicyDocument | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            if self.required:
                raise PolicyError(
                    f"the policy file {self.path} does not exist; recording stays off until it "
                    f"is restored or {POLICY_ENV} is unset"
                ) from None
            return None
        except OSError as exc:
            raise PolicyError(
                f"{self.path} cannot be read ({exc.strerror or exc}); recording stays off "
                "until IT fixes its permissions"
            ) from exc
        try:
            text = raw.decode("utf-8")
            values = tomllib.loads(text)
        except UnicodeDecodeError as exc:
            raise PolicyError(f"{self.path} cannot be read: it is not UTF-8 text") from exc
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{self.path} cannot be read: {exc}") from exc
        lines = text.splitlines()
        path = self.path
        return PolicyDocument(str(path), values, lambda key: _toml_location(path, lines, key))


def _toml_location(path: Path, lines: list[str], key: str) -> str:
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
    for number, line in enumerate(lines, start=1):
        if pattern.match(line):
            return f"{path}, line {number}, key {key}"
    return f"{path}, key {key}"


@dataclass(frozen=True)
class PlistPolicyFile:
    """macOS managed preferences: the per-user file wins over the machine-wide one, as
    cfprefsd does; only the first that exists is read."""

    paths: tuple[Path, ...]

    def read(self) -> PolicyDocument | None:
        for path in self.paths:
            try:
                with path.open("rb") as fh:
                    data = plistlib.load(fh)
            except FileNotFoundError:
                continue
            except (OSError, plistlib.InvalidFileException, ValueError, ExpatError) as exc:
                raise PolicyError(f"{path} cannot be read: {exc}") from exc
            if not isinstance(data, dict):
                raise PolicyError(f"{path} cannot be read: it does not hold a dictionary")
            # Configuration profiles add bookkeeping keys of their own; they are not policy.
            values = {k: v for k, v in data.items() if not k.startswith("Payload")}
            return PolicyDocument(str(path), values, _plist_locator(path))
        return None


def _plist_locator(path: Path) -> Callable[[str], str]:
    return lambda key: f"{path}, key {key}"


def macos_managed_paths(user: str | None = None) -> tuple[Path, ...]:
    user = user or os.environ.get("USER") or ""
    per_user = (MACOS_MANAGED_DIR / user / f"{MACOS_DOMAIN}.plist",) if user else ()
    return (*per_user, MACOS_MANAGED_DIR / f"{MACOS_DOMAIN}.plist")


@dataclass(frozen=True)
class FirstPolicy:
    """The first of several sources that holds a policy."""

    sources: tuple[PolicySource, ...]

    def read(self) -> PolicyDocument | None:
        for source in self.sources:
            document = source.read()
            if document is not None:
                return document
        return None


def machine_policy_source(platform: str | None = None) -> PolicySource:
    """Where this OS keeps the machine's managed policy."""
    platform = platform or sys.platform
    if platform.startswith("linux"):
        return TomlPolicyFile(LINUX_POLICY_FILE)
    if platform == "win32":
        from app.platform.win32_policy import WindowsPolicy

        return WindowsPolicy()
    if platform == "darwin":
        return PlistPolicyFile(macos_managed_paths())
    return NoPolicy()


def default_policy_source(platform: str | None = None) -> PolicySource:
    """The machine's policy; where the machine has none, the file `PRAXIS_POLICY_FILE` names
    (which must then exist). The variable is the person's to set, so it can never replace a
    policy IT installed, only stand in where there is none (unmanaged machines, tests)."""
    machine = machine_policy_source(platform)
    explicit = os.environ.get(POLICY_ENV)
    if explicit is None:
        return machine
    if not explicit.strip():
        raise PolicyError(f"{POLICY_ENV} is set but empty; name a policy file or unset it")
    return FirstPolicy((machine, TomlPolicyFile(Path(explicit), required=True)))


def protected_control_message(key: str, where: str) -> str | None:
    if _PROTECTED_CONTROL.search(key):
        return (
            f"{where}: policy cannot hide the tray indicator or turn off pause, delete, review "
            f"or consent; remove {key!r} (recording stays off until then)"
        )
    return None
