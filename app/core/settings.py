"""Settings: one typed object, built from defaults, the user's file and IT's managed policy.

Policy (app.core.policy: a file, the registry or managed preferences, one schema) wins over the
user and marks its keys as locked. A policy that cannot be read is an error, not a shrug:
policy may narrow what is recorded, so ignoring it would record more.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import PolicyError, PraxisError
from app.core.policy import PolicyDocument, PolicySource, TomlPolicyFile, protected_control_message

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SETTINGS_FILE = "settings.toml"


class SettingsError(PraxisError):
    title = "Settings file problem"


@dataclass(frozen=True)
class Settings:
    capture_keys: bool = True
    capture_mouse: bool = True
    capture_screen: bool = True
    # Frames: never closer than this, but for clicks (each keeps a frame of its own moment,
    # see CLICK_FRAME_GAP_S in app.core.capture.loop); at least every `idle_frame_interval_s`
    # if the screen changed and there was input since the last frame (nothing is taken while
    # nobody acts).
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
    # Where approved recordings go: a tus 1.0 server (our collector or any other). Empty: the
    # collector this app starts on loopback when it is installed, else uploads wait. Anything
    # but a loopback address must be https.
    collector_url: str = ""
    ca_bundle: str = ""  # a PEM file of corporate CAs trusted for the collector; empty: system
    upload_limit_kib_s: int = 0  # bandwidth cap in KiB/s; 0: none
    upload_on_ac_only: bool = False  # wait while on battery (where the OS tells)
    upload_on_metered: bool = True  # False: wait while the connection is metered
    # How long an uploaded recording stays on this computer after the collector confirmed it;
    # 0 removes it at once.
    keep_uploaded_hours: float = 0.0
    # Policy only. Start Praxis at login: when policy sets it, the app keeps the login entry
    # as policy says and the person cannot change it; otherwise the person's choice stands.
    start_at_login: bool = False
    # Policy only. The organisation's own consent text (Markdown with a
    # `<!-- consent-version: N -->` marker) instead of the one shipped with the app, and the
    # version that text must carry, so a rollout that pairs the wrong file fails visibly.
    consent_text_file: str = ""
    consent_version: int = 0
    locked: frozenset[str] = field(default=frozenset(), compare=False)

    def problems(self) -> list[tuple[str, str]]:
        """(key, what is wrong) for every value out of range."""
        # nan passes every comparison below and inf turns waits into errors: refuse both.
        problems: list[tuple[str, str]] = [
            (f.name, f"{f.name} must be a finite number")
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), float) and not math.isfinite(getattr(self, f.name))
        ]
        if problems:
            return problems

        def check(ok: bool, key: str, text: str) -> None:
            if not ok:
                problems.append((key, f"{key} {text}"))

        check(self.min_frame_gap_s >= 0.05, "min_frame_gap_s", "must be at least 0.05")
        check(self.idle_frame_interval_s >= 1, "idle_frame_interval_s", "must be at least 1")
        check(1 <= self.mouse_move_hz <= 120, "mouse_move_hz", "must be between 1 and 120")
        check(self.segment_minutes > 0, "segment_minutes", "must be positive")
        check(self.disk_budget_mb >= 16, "disk_budget_mb", "must be at least 16")
        check(self.frame_codec in ("png", "webp"), "frame_codec", "must be 'png' or 'webp'")
        check(self.upload in ("after_review", "auto"), "upload", "must be 'after_review' or 'auto'")
        check(self.auto_after_hours >= 0, "auto_after_hours", "must not be negative")
        check(self.consent_version >= 0, "consent_version", "must not be negative")
        check(self.upload_limit_kib_s >= 0, "upload_limit_kib_s", "must not be negative")
        check(self.keep_uploaded_hours >= 0, "keep_uploaded_hours", "must not be negative")
        if self.collector_url:
            from app.core.upload.endpoint import EndpointError, check_collector_url

            try:
                check_collector_url(self.collector_url)
            except EndpointError as exc:
                problems.append(("collector_url", f"collector_url: {exc.message}"))
        for name in ("excluded_title_patterns", "custom_patterns"):
            for pattern in getattr(self, name):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append((name, f"{name}: {pattern!r} is not a valid pattern ({exc})"))
        if self.phone_regions:
            import phonenumbers

            unknown = [
                r for r in self.phone_regions if r.upper() not in phonenumbers.SUPPORTED_REGIONS
            ]
            check(
                not unknown,
                "phone_regions",
                f"names {', '.join(map(repr, unknown))}, not a country code (use two letters "
                "such as 'DE')",
            )
        return problems

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise SettingsError("; ".join(text for _, text in problems))


_TYPES: dict[str, type] = {
    "bool": bool,
    "float": float,
    "int": int,
    "str": str,
    "tuple[str, ...]": tuple,
}
_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "locked"}
# Keys only IT may set: they change what the person agreed to or how the app is installed.
POLICY_ONLY = frozenset({"start_at_login", "consent_text_file", "consent_version"})


def schema() -> dict[str, type]:
    """Every settings key and its type: the one schema for the user's file and every policy
    source (docs/POLICY.md lists them)."""
    return {name: _TYPES[str(spec.type)] for name, spec in _FIELDS.items()}


def _read_toml(path: Path, error: type[PraxisError]) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path} cannot be read: {exc}") from exc
    return data


def _coerce(
    data: Mapping[str, Any],
    where: Callable[[str], str],
    error: type[PraxisError],
    *,
    loose_types: bool = False,
    is_policy: bool = False,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in data.items():
        spec = _FIELDS.get(key)
        if spec is None:
            protected = protected_control_message(key, where(key)) if is_policy else None
            raise error(
                protected
                or f"{where(key)}: unknown setting {key!r} (known: {', '.join(sorted(_FIELDS))})"
            )
        if key in POLICY_ONLY and not is_policy:
            raise error(f"{where(key)}: only IT policy can set {key}; remove it from this file")
        expected = _TYPES[str(spec.type)]
        if loose_types:
            value = _loosen(value, expected)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = tuple(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            kind = "a list of strings" if expected is tuple else expected.__name__
            raise error(f"{where(key)}: {key} must be {kind}, not {value!r}")
        values[key] = value
    return values


def _loosen(value: Any, expected: type) -> Any:
    """Registry values: 0/1 for a switch, text for a decimal, one string for a one-item list."""
    if expected is bool and isinstance(value, int) and value in (0, 1):
        return bool(value)
    if expected is float and isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    if expected is tuple and isinstance(value, str):
        return (value,) if value else ()
    return value


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


def load_settings(user_file: Path | None, policy: PolicySource | Path | None = None) -> Settings:
    """The settings in force: defaults, then the user's file, then policy (which locks its
    keys). A Path for `policy` is a policy.toml that may be absent."""
    user = (
        _coerce(
            _read_toml(user_file, SettingsError),
            lambda _key, p=user_file: str(p),  # type: ignore[misc]
            SettingsError,
        )
        if user_file
        else {}
    )
    source = TomlPolicyFile(policy) if isinstance(policy, Path) else policy
    document: PolicyDocument | None = source.read() if source is not None else None
    managed = (
        _coerce(
            document.values,
            document.where,
            PolicyError,
            loose_types=document.loose_types,
            is_policy=True,
        )
        if document is not None
        else {}
    )
    settings = Settings(**{**user, **managed}, locked=frozenset(managed))
    problems = settings.problems()
    if problems:
        key, _ = problems[0]
        text = "; ".join(text for _, text in problems)
        if document is not None and any(k in managed for k, _ in problems):
            bad = next(k for k, _ in problems if k in managed)
            raise PolicyError(f"{document.where(bad)}: {text}; recording stays off")
        where = f"{user_file}: " if user_file and key in user else ""
        raise SettingsError(where + text)
    return settings


def load_effective_settings(data_dir: Path, policy: PolicySource | None = None) -> Settings:
    """What every entry point uses: the user's settings.toml in the data folder under this
    machine's managed policy."""
    from app.core.policy import default_policy_source

    return load_settings(data_dir / SETTINGS_FILE, policy or default_policy_source())
