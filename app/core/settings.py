"""Settings: one typed object, built from defaults, the user's file and IT's managed policy.

Policy wins over the user and marks its keys as locked. A policy file that cannot be read is
an error, not a shrug: policy may narrow what is recorded, so ignoring it would record more.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import PolicyError, PraxisError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

POLICY_ENV = "PRAXIS_POLICY_FILE"
SETTINGS_FILE = "settings.toml"


class SettingsError(PraxisError):
    title = "Settings file problem"


@dataclass(frozen=True)
class Settings:
    capture_keys: bool = True
    capture_mouse: bool = True
    capture_screen: bool = True
    # Frames: never closer than this, at least every `idle_frame_interval_s` if the screen changed.
    min_frame_gap_s: float = 0.2
    idle_frame_interval_s: float = 30.0
    typing_pause_s: float = 0.8
    mouse_move_hz: float = 20.0
    window_poll_s: float = 0.5
    segment_minutes: float = 5.0
    disk_budget_mb: int = 2048
    frame_codec: str = "webp"
    # Scope: apps (process name or window class, case-insensitive) and window titles
    # (regular expressions) during which nothing is captured, and whose windows are painted
    # over wherever they show. With `allowed_apps` set, only those apps are recorded.
    excluded_apps: tuple[str, ...] = ()
    excluded_title_patterns: tuple[str, ...] = ()
    allowed_apps: tuple[str, ...] = ()
    deny_password_managers: bool = True
    deny_private_browsing: bool = True
    # Extra words and regular expressions that are always redacted, e.g. project code names.
    custom_terms: tuple[str, ...] = ()
    # Read on-screen text (OCR) and box personal data in screenshots. Turning it off keeps
    # screenshots as they are (denied windows are still painted over).
    redact_screen_text: bool = True
    custom_patterns: tuple[str, ...] = ()
    # Countries (ISO codes such as "DE", "FR") whose national phone formats are recognised in
    # numbers written without +country code; empty: a broad default set. International numbers
    # are recognised for every country whatever this says.
    phone_regions: tuple[str, ...] = ()
    pause_hotkey: str = "<ctrl>+<alt>+p"
    # "after_review": nothing leaves before the person approves it. "auto" (or any
    # auto_after_hours > 0): a segment approves itself that many hours after it ended unless
    # the person deleted it first; the tray says when the next one will.
    upload: str = "after_review"
    auto_after_hours: float = 0.0
    locked: frozenset[str] = field(default=frozenset(), compare=False)

    def validate(self) -> None:
        problems = []
        if self.min_frame_gap_s < 0.05:
            problems.append("min_frame_gap_s must be at least 0.05")
        if self.idle_frame_interval_s < 1:
            problems.append("idle_frame_interval_s must be at least 1")
        if not 1 <= self.mouse_move_hz <= 120:
            problems.append("mouse_move_hz must be between 1 and 120")
        if self.segment_minutes <= 0:
            problems.append("segment_minutes must be positive")
        if self.disk_budget_mb < 16:
            problems.append("disk_budget_mb must be at least 16")
        if self.frame_codec not in ("png", "webp"):
            problems.append("frame_codec must be 'png' or 'webp'")
        if self.upload not in ("after_review", "auto"):
            problems.append("upload must be 'after_review' or 'auto'")
        if self.auto_after_hours < 0:
            problems.append("auto_after_hours must not be negative")
        for name in ("excluded_title_patterns", "custom_patterns"):
            for pattern in getattr(self, name):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(f"{name}: {pattern!r} is not a valid pattern ({exc})")
        if self.phone_regions:
            import phonenumbers

            unknown = [
                r for r in self.phone_regions if r.upper() not in phonenumbers.SUPPORTED_REGIONS
            ]
            if unknown:
                problems.append(
                    f"phone_regions: {', '.join(map(repr, unknown))} "
                    "not a known country code (use two letters such as 'DE')"
                )
        if problems:
            raise SettingsError("; ".join(problems))


_TYPES: dict[str, type] = {
    "bool": bool,
    "float": float,
    "int": int,
    "str": str,
    "tuple[str, ...]": tuple,
}
_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "locked"}


def default_policy_path() -> Path | None:
    if os.environ.get(POLICY_ENV):
        return Path(os.environ[POLICY_ENV])
    if sys.platform.startswith("linux"):
        return Path("/etc/praxis/policy.toml")
    return None


def _read_toml(path: Path, error: type[PraxisError]) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path} cannot be read: {exc}") from exc
    return data


def _coerce(path: Path, data: dict[str, Any], error: type[PraxisError]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in data.items():
        spec = _FIELDS.get(key)
        if spec is None:
            raise error(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(_FIELDS))})")
        expected = _TYPES[str(spec.type)]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = tuple(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            kind = "a list of strings" if expected is tuple else expected.__name__
            raise error(f"{path}: {key} must be {kind}, not {value!r}")
        values[key] = value
    return values


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def save_user_settings(path: Path, settings: Settings) -> None:
    """Write the user's choices: only what differs from the defaults and is not set by policy.
    Written to a temporary file first, so a crash never leaves half a settings file."""
    settings.validate()
    defaults = Settings()
    lines = [
        f"{name} = {_toml_value(getattr(settings, name))}"
        for name in _FIELDS
        if name not in settings.locked and getattr(settings, name) != getattr(defaults, name)
    ]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(tmp, path)


def load_settings(user_file: Path | None, policy_file: Path | None = None) -> Settings:
    user = (
        _coerce(user_file, _read_toml(user_file, SettingsError), SettingsError) if user_file else {}
    )
    policy = (
        _coerce(policy_file, _read_toml(policy_file, PolicyError), PolicyError)
        if policy_file
        else {}
    )
    settings = Settings(**{**user, **policy}, locked=frozenset(policy))
    try:
        settings.validate()
    except SettingsError as exc:
        raise (PolicyError(exc.message) if set(policy) else exc) from exc
    return settings
