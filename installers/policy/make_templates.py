"""Writes IT's policy templates from the one settings schema (`app.core.settings.schema()`):

- installers/policy/policy.toml                     commented file for /etc/praxis/policy.toml
- installers/windows/policy/Praxis.admx, en-US/Praxis.adml   Group Policy / Intune (ADMX ingestion)
- installers/macos/com.praxis.recorder.mobileconfig a configuration profile (managed preferences)
- the key table in docs/POLICY.md

Run from the repository root: `python installers/policy/make_templates.py` writes them;
`--check` exits 1 naming any file that is out of date (the tests run it). A key added to
`Settings` without a line in KEYS below fails the check, so no key ships undocumented.
"""

from __future__ import annotations

import argparse
import plistlib
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.core.policy import MACOS_DOMAIN, WINDOWS_POLICY_KEY  # noqa: E402
from app.core.settings import Settings, schema  # noqa: E402

TOML_OUT = ROOT / "installers" / "policy" / "policy.toml"
ADMX_OUT = ROOT / "installers" / "windows" / "policy" / "Praxis.admx"
ADML_OUT = ROOT / "installers" / "windows" / "policy" / "en-US" / "Praxis.adml"
PROFILE_OUT = ROOT / "installers" / "macos" / f"{MACOS_DOMAIN}.mobileconfig"
DOC = ROOT / "docs" / "POLICY.md"
DOC_START, DOC_END = "<!-- keys:start -->", "<!-- keys:end -->"

CATEGORIES = {
    "scope": "What may be recorded",
    "capture": "How much is captured",
    "redaction": "Redaction",
    "upload": "Review and upload",
    "storage": "Storage",
    "deployment": "Consent and login",
}


@dataclass(frozen=True)
class Key:
    category: str
    title: str
    explain: str
    example: Any
    choices: tuple[str, ...] = ()


KEYS: dict[str, Key] = {
    "allowed_apps": Key(
        "scope",
        "Record only these apps",
        "Process names or window classes. When set, every other app is neither recorded nor "
        "shown: its windows are painted over in screenshots.",
        ["code", "libreoffice"],
    ),
    "excluded_apps": Key(
        "scope",
        "Never record these apps",
        "Process names or window classes whose keys, clicks and pixels are never kept.",
        ["slack", "thunderbird"],
    ),
    "excluded_title_patterns": Key(
        "scope",
        "Never record windows whose title matches",
        "Regular expressions (Python syntax) matched against window titles.",
        ["(?i)payroll", "(?i)performance review"],
    ),
    "deny_password_managers": Key(
        "scope",
        "Never record password managers",
        "KeePassXC, 1Password, Bitwarden and others are excluded (on by default).",
        True,
    ),
    "deny_private_browsing": Key(
        "scope",
        "Never record private browsing windows",
        "Incognito, Private Browsing and InPrivate windows are excluded (on by default).",
        True,
    ),
    "capture_keys": Key("capture", "Record keys and typed text", "Off: no keystrokes.", True),
    "capture_mouse": Key(
        "capture", "Record mouse clicks and scrolls", "Off: no pointer events.", True
    ),
    "capture_screen": Key(
        "capture", "Record screenshots around actions", "Off: no screenshots at all.", True
    ),
    "min_frame_gap_s": Key(
        "capture",
        "Shortest gap between screenshots (seconds)",
        "At least 0.05. Larger values mean fewer screenshots. Every click still keeps a"
        " screenshot of its own moment.",
        0.5,
    ),
    "idle_frame_interval_s": Key(
        "capture",
        "A screenshot at least this often when the screen changed and there was input (seconds)",
        "At least 1.",
        30.0,
    ),
    "typing_pause_s": Key(
        "capture",
        "Typing pause that ends a typed run (seconds)",
        "Typed text is redacted as a whole run; a pause this long ends the run.",
        0.8,
    ),
    "mouse_move_hz": Key(
        "capture", "Mouse movement samples per second", "Between 1 and 120.", 20.0
    ),
    "window_poll_s": Key("capture", "How often the window in front is checked (seconds)", "", 0.5),
    "frame_codec": Key(
        "capture",
        "Screenshot encoding",
        "Lossless WebP (smaller) or PNG.",
        "webp",
        ("webp", "png"),
    ),
    "pause_hotkey": Key(
        "capture",
        "Pause/resume shortcut",
        "A pynput hotkey such as <ctrl>+<alt>+p. Pausing itself cannot be turned off.",
        "<ctrl>+<alt>+p",
    ),
    "redact_screen_text": Key(
        "redaction",
        "Read on-screen text and cover personal data",
        "OCR of screenshots; personal data and secrets get solid boxes. Off keeps screenshots "
        "as captured (excluded windows are still painted over).",
        True,
    ),
    "custom_terms": Key(
        "redaction",
        "Words always redacted",
        "Matched in any case as whole words, e.g. project code names.",
        ["Project Falcon"],
    ),
    "custom_patterns": Key(
        "redaction",
        "Patterns always redacted",
        "Regular expressions (Python syntax).",
        [r"\bACME-\d{6}\b"],
    ),
    "phone_regions": Key(
        "redaction",
        "Countries whose phone number formats are recognised",
        "Two-letter country codes (e.g. DE, FR) for numbers written without +country code; "
        "empty: a broad set of countries. Numbers with +country code or 00 are recognised for "
        "every country.",
        ["DE", "AT", "CH"],
    ),
    "upload": Key(
        "upload",
        "When recordings may leave the computer",
        "after_review: only what the person approved. auto: a recording approves itself "
        "auto_after_hours after it ended unless the person deleted it first. Review and "
        "deletion stay available either way.",
        "after_review",
        ("after_review", "auto"),
    ),
    "auto_after_hours": Key(
        "upload",
        "Hours before a recording approves itself (upload = auto)",
        "0 with upload = after_review.",
        0.0,
    ),
    "collector_url": Key(
        "upload",
        "Collector address",
        "The tus server approved recordings go to (https, except on this computer). Empty: the "
        "collector on this computer when it is installed, else uploads wait. The device token "
        "is set with `praxis enroll`, never here.",
        "https://collector.example.com/files/",
    ),
    "ca_bundle": Key(
        "upload",
        "Certificate authorities for the collector (PEM file)",
        "Trusted for the collector's certificate, e.g. a corporate CA. Empty: the system's.",
        "/etc/ssl/certs/corp-ca.pem",
    ),
    "upload_limit_kib_s": Key(
        "upload",
        "Upload bandwidth cap (KiB/s)",
        "0: no cap.",
        2048,
    ),
    "upload_on_ac_only": Key(
        "upload",
        "Upload only on AC power",
        "Uploads wait while the computer runs on battery (where the system tells).",
        True,
    ),
    "upload_on_metered": Key(
        "upload",
        "Upload on metered connections",
        "Off: uploads wait while the network connection is metered (where the system tells).",
        False,
    ),
    "keep_uploaded_hours": Key(
        "upload",
        "Hours an uploaded recording stays on the computer",
        "After the collector confirmed it; 0 removes it at once.",
        24.0,
    ),
    "segment_minutes": Key("storage", "Length of one recording part (minutes)", "Positive.", 5.0),
    "disk_budget_mb": Key(
        "storage",
        "Local buffer size limit (MB)",
        "At least 16. Recording pauses with a notice when the buffer reaches it.",
        2048,
    ),
    "start_at_login": Key(
        "deployment",
        "Start Praxis at login",
        "Enabled: Praxis starts at login and the person cannot turn that off in Settings; "
        "Disabled: it does not. Not configured: the person decides.",
        True,
    ),
    "consent_text_file": Key(
        "deployment",
        "Organisation's consent text (file path)",
        "A Markdown file with a <!-- consent-version: N --> marker, shown instead of the "
        "built-in text. A new version asks every person for consent again.",
        "/etc/praxis/consent.md",
    ),
    "consent_version": Key(
        "deployment",
        "Consent text version that must be in use",
        "Recording stays off while the text in use carries another version (0: any).",
        0,
    ),
}


def _check_keys() -> dict[str, type]:
    keys = schema()
    missing = sorted(set(keys) - set(KEYS))
    extra = sorted(set(KEYS) - set(keys))
    if missing or extra:
        raise SystemExit(
            f"KEYS in {Path(__file__).name} is out of step with Settings: "
            f"undocumented {missing}, unknown {extra}"
        )
    return keys


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value + "'" if "\\" in value else '"' + value + '"'
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


def example_values() -> dict[str, Any]:
    """What every template sets when all its lines are in force."""
    types = _check_keys()
    out: dict[str, Any] = {}
    for name, key in KEYS.items():
        value = key.example
        if types[name] is float:
            value = float(value)
        if types[name] is tuple:
            value = tuple(value)
        out[name] = value
    return out


def render_toml() -> str:
    defaults = Settings()
    lines = [
        "# Praxis managed policy: /etc/praxis/policy.toml (Linux), %ProgramData%\\Praxis\\",
        "# policy.toml (Windows without Group Policy), or the file PRAXIS_POLICY_FILE names.",
        "# Every key here overrides the person's own settings and is locked in Settings.",
        "# Uncomment what you want to set; docs/POLICY.md explains each key. A key that is",
        "# unknown or out of range keeps recording off and names this file and line.",
        "# Policy cannot hide the tray icon or turn off pause, delete or review.",
    ]
    current = None
    for name, key in KEYS.items():
        if key.category != current:
            current = key.category
            lines += ["", f"# --- {CATEGORIES[current]} ---"]
        text = f"{key.title}. {key.explain}".rstrip(" .")
        lines += textwrap.wrap(text, 96, initial_indent="# ", subsequent_indent="# ")
        default = getattr(defaults, name)
        if default != example_values()[name]:
            lines.append(f"#   (default: {_toml_value(default)})")
        lines.append(f"# {name} = {_toml_value(key.example)}")
    return "\n".join(lines) + "\n"


def _policy_xml(name: str, key: Key, kind: type) -> str:
    head = (
        f'    <policy name="{name}" class="Machine" displayName="$(string.{name})" '
        f'explainText="$(string.{name}_Explain)" key="{WINDOWS_POLICY_KEY}"'
    )
    tail = (
        f'      <parentCategory ref="{key.category}" />\n'
        '      <supportedOn ref="SUPPORTED_Win10" />\n'
    )
    if kind is bool:
        return (
            f'{head} valueName="{name}">\n{tail}'
            '      <enabledValue><decimal value="1" /></enabledValue>\n'
            '      <disabledValue><decimal value="0" /></disabledValue>\n'
            "    </policy>\n"
        )
    if kind is int:
        element = f'<decimal id="{name}" valueName="{name}" minValue="0" maxValue="2000000000" />'
    elif key.choices:
        items = "".join(
            f'<item displayName="$(string.{name}_{c})"><value><string>{c}</string></value></item>'
            for c in key.choices
        )
        element = f'<enum id="{name}" valueName="{name}" required="true">{items}</enum>'
    elif kind is tuple:
        element = f'<multiText id="{name}" valueName="{name}" />'
    else:
        element = f'<text id="{name}" valueName="{name}" required="true" />'
    return (
        f'{head} presentation="$(presentation.{name})">\n{tail}'
        f"      <elements>{element}</elements>\n"
        "    </policy>\n"
    )


def render_admx() -> str:
    types = _check_keys()
    categories = '    <category name="Praxis" displayName="$(string.Praxis)" />\n' + "".join(
        f'    <category name="{c}" displayName="$(string.cat_{c})">'
        '<parentCategory ref="Praxis" /></category>\n'
        for c in CATEGORIES
    )
    policies = "".join(_policy_xml(n, k, types[n]) for n, k in KEYS.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<policyDefinitions xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" '
        'schemaVersion="1.0" '
        'xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">\n'
        "  <policyNamespaces>\n"
        '    <target prefix="praxis" namespace="Praxis.Policies.Praxis" />\n'
        "  </policyNamespaces>\n"
        '  <resources minRequiredRevision="1.0" />\n'
        "  <supportedOn><definitions>\n"
        '    <definition name="SUPPORTED_Win10" displayName="$(string.SUPPORTED_Win10)" />\n'
        "  </definitions></supportedOn>\n"
        f"  <categories>\n{categories}  </categories>\n"
        f"  <policies>\n{policies}  </policies>\n"
        "</policyDefinitions>\n"
    )


def render_adml() -> str:
    types = _check_keys()
    strings = [
        ("Praxis", "Praxis"),
        ("SUPPORTED_Win10", "Windows 10 or later"),
        *((f"cat_{c}", title) for c, title in CATEGORIES.items()),
    ]
    presentations = []
    for name, key in KEYS.items():
        strings.append((name, key.title))
        note = "Policy cannot hide the tray icon or turn off pause, delete or review."
        strings.append((f"{name}_Explain", f"{key.explain} {note}".strip()))
        for choice in key.choices:
            strings.append((f"{name}_{choice}", choice))
        kind = types[name]
        if kind is bool:
            continue
        if kind is int:
            control = f'<decimalTextBox refId="{name}">{escape(key.title)}</decimalTextBox>'
        elif key.choices:
            control = f'<dropdownList refId="{name}">{escape(key.title)}</dropdownList>'
        elif kind is tuple:
            control = f'<multiTextBox refId="{name}">{escape(key.title)}</multiTextBox>'
        else:
            control = f'<textBox refId="{name}"><label>{escape(key.title)}</label></textBox>'
        presentations.append(f'      <presentation id="{name}">{control}</presentation>\n')
    table = "".join(f"      <string id={quoteattr(i)}>{escape(t)}</string>\n" for i, t in strings)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<policyDefinitionResources xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="1.0" '
        'schemaVersion="1.0" '
        'xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">\n'
        "  <displayName>Praxis</displayName>\n"
        "  <description>Managed policy for the Praxis recorder</description>\n"
        "  <resources>\n"
        f"    <stringTable>\n{table}    </stringTable>\n"
        f"    <presentationTable>\n{''.join(presentations)}    </presentationTable>\n"
        "  </resources>\n"
        "</policyDefinitionResources>\n"
    )


def _uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.{MACOS_DOMAIN}")).upper()


def render_profile() -> bytes:
    payload: dict[str, Any] = {
        "PayloadType": MACOS_DOMAIN,
        "PayloadIdentifier": f"{MACOS_DOMAIN}.policy.settings",
        "PayloadUUID": _uuid("settings"),
        "PayloadVersion": 1,
        "PayloadDisplayName": "Praxis settings",
    }
    for name, value in example_values().items():
        payload[name] = list(value) if isinstance(value, tuple) else value
    profile = {
        "PayloadContent": [payload],
        "PayloadDescription": "Managed policy for the Praxis recorder. Edit the values in "
        "the settings payload; remove a key to leave it to the person.",
        "PayloadDisplayName": "Praxis policy",
        "PayloadIdentifier": f"{MACOS_DOMAIN}.policy",
        "PayloadScope": "System",
        "PayloadType": "Configuration",
        "PayloadUUID": _uuid("profile"),
        "PayloadVersion": 1,
    }
    return plistlib.dumps(profile, sort_keys=True)


def render_doc_table(current: str) -> str:
    types = _check_keys()
    kind_names = {bool: "switch", int: "whole number", float: "number", str: "text"}
    rows = ["| key | type | default | what it does |", "| --- | --- | --- | --- |"]
    defaults = Settings()
    for category, title in CATEGORIES.items():
        rows.append(f"| **{title}** | | | |")
        for name, key in KEYS.items():
            if key.category != category:
                continue
            kind = "list of text" if types[name] is tuple else kind_names[types[name]]
            if key.choices:
                kind = " or ".join(f"`{c}`" for c in key.choices)
            default = _toml_value(getattr(defaults, name)).replace("|", "\\|")
            text = f"{key.title}. {key.explain}".strip().replace("|", "\\|")
            rows.append(f"| `{name}` | {kind} | `{default}` | {text} |")
    start = current.index(DOC_START) + len(DOC_START)
    end = current.index(DOC_END)
    return current[:start] + "\n" + "\n".join(rows) + "\n" + current[end:]


def outputs() -> dict[Path, bytes]:
    return {
        TOML_OUT: render_toml().encode(),
        ADMX_OUT: render_admx().encode(),
        ADML_OUT: render_adml().encode(),
        PROFILE_OUT: render_profile(),
        DOC: render_doc_table(DOC.read_text(encoding="utf-8")).encode(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a template is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, data in outputs().items():
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(path.relative_to(ROOT))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if stale:
        names = ", ".join(str(p) for p in stale)
        print(f"out of date: {names}; run python installers/policy/make_templates.py")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
