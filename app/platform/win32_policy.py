"""Windows managed policy: the values under `HKLM\\Software\\Policies\\Praxis`, as the ADMX
template (installers/windows/policy), Intune or a .reg file write them.

Value types map onto the settings schema: REG_DWORD for switches and whole numbers, REG_SZ for
text and for decimals ("0.5"), REG_MULTI_SZ for lists. When the key does not exist, a
`%ProgramData%\\Praxis\\policy.toml` is read instead, for machines managed without Group
Policy. The raw registry calls live in `RegistryApi`, a thin seam; everything else is tested
anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from app.core.errors import PolicyError
from app.core.policy import WINDOWS_POLICY_KEY, PolicyDocument, TomlPolicyFile

REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_MULTI_SZ, REG_QWORD = 1, 2, 4, 7, 11


def _winreg() -> Any:
    """The standard library's registry module, which exists on Windows only."""
    import importlib

    return importlib.import_module("winreg")


class RegistryApi(Protocol):
    def machine_values(self, subkey: str) -> dict[str, tuple[Any, int]] | None:
        """Every value under HKLM\\subkey as (data, type); None when the key does not exist."""
        ...


class WinregApi:
    """The real registry, through the standard library's winreg (Windows only)."""

    def machine_values(self, subkey: str) -> dict[str, tuple[Any, int]] | None:
        winreg = _winreg()

        try:
            key = winreg.OpenKey(
                winreg.HKEY_LOCAL_MACHINE,
                subkey,
                0,
                winreg.KEY_READ | winreg.KEY_WOW64_64KEY,
            )
        except FileNotFoundError:
            return None
        values: dict[str, tuple[Any, int]] = {}
        with key:
            index = 0
            while True:
                try:
                    name, data, kind = winreg.EnumValue(key, index)
                except OSError:
                    break
                values[name] = (data, kind)
                index += 1
        return values


def _convert(name: str, data: Any, kind: int, where: str) -> Any:
    if kind in (REG_DWORD, REG_QWORD):
        return int(data)
    if kind in (REG_SZ, REG_EXPAND_SZ):
        text = str(data)
        return os.path.expandvars(text) if kind == REG_EXPAND_SZ else text
    if kind == REG_MULTI_SZ:
        return [str(item) for item in data if str(item)]
    raise PolicyError(f"{where}: registry type {kind} is not used by Praxis policy")


@dataclass
class WindowsPolicy:
    api: RegistryApi = field(default_factory=WinregApi)
    program_data: Path | None = None

    def read(self) -> PolicyDocument | None:
        try:
            raw = self.api.machine_values(WINDOWS_POLICY_KEY)
        except OSError as exc:
            raise PolicyError(
                f"HKLM\\{WINDOWS_POLICY_KEY} cannot be read ({exc}); recording stays off"
            ) from exc
        if raw is None:
            base = self.program_data or Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData"))
            return TomlPolicyFile(base / "Praxis" / "policy.toml").read()
        root = f"HKLM\\{WINDOWS_POLICY_KEY}"
        values = {
            name: _convert(name, data, kind, f"{root}\\{name}")
            for name, (data, kind) in raw.items()
            if name  # the key's unnamed default value carries nothing
        }
        return PolicyDocument(root, values, lambda key: f"{root}\\{key}", loose_types=True)
