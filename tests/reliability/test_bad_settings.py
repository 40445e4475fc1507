"""Settings and policy files as a careless or hostile author writes them: generated TOML (and
bytes that are not TOML at all) either gives sane, validated settings or one clear error
naming the file, never another exception; and a policy that cannot be used keeps recording
off, with one line saying why."""

from __future__ import annotations

import dataclasses
import math
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import PolicyError, PraxisError
from app.core.settings import Settings, SettingsError, load_settings

FIELDS = [f.name for f in dataclasses.fields(Settings) if f.name != "locked"]
REPO_ROOT = Path(__file__).resolve().parents[2]


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(value)


scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["png", "webp", "jpeg", "after_review", "auto", "(", "[a-", "(a+)+$", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.one_of(
    st.sampled_from(FIELDS), st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=12)
)
documents = st.dictionaries(keys, values, max_size=6).map(
    lambda d: "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in d.items())
)
raw_bytes = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    documents.map(lambda doc: doc.encode("utf-8")[: len(doc) // 2]),  # cut off mid-way
)


def assert_sane(s: Settings) -> None:
    s.validate()
    for f in dataclasses.fields(Settings):
        value = getattr(s, f.name)
        if isinstance(value, float):
            assert math.isfinite(value), f"{f.name} = {value} was accepted"
        if isinstance(value, tuple):
            assert all(isinstance(v, str) for v in value)


def load_or_explain(user: Path | None, policy: Path | None) -> Settings | PraxisError:
    try:
        return load_settings(user, policy)
    except PraxisError as exc:  # the only way out besides sane settings
        assert exc.message and "\n" not in exc.message.strip()
        # Says which file is at fault: by its path, or (for a value out of range) by the
        # title, which tells the user's settings from IT's policy.
        assert any(str(p) in exc.message for p in (user, policy) if p is not None) or exc.title in (
            SettingsError.title,
            PolicyError.title,
        ), exc
        return exc


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=documents, policy=documents)
def test_generated_settings_and_policy_give_sane_settings_or_a_clear_error(
    tmp_path: Path, user: str, policy: str
) -> None:
    user_file, policy_file = tmp_path / "settings.toml", tmp_path / "policy.toml"
    user_file.write_text(user, encoding="utf-8")
    policy_file.write_text(policy, encoding="utf-8")
    result = load_or_explain(user_file, policy_file)
    if isinstance(result, Settings):
        assert_sane(result)
        assert result.locked == frozenset(k for k in result.locked if k in FIELDS)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=raw_bytes, as_policy=st.booleans())
def test_bytes_that_are_not_toml_are_refused_clearly(
    tmp_path: Path, data: bytes, as_policy: bool
) -> None:
    path = tmp_path / ("policy.toml" if as_policy else "settings.toml")
    path.write_bytes(data)
    result = load_or_explain(None, path) if as_policy else load_or_explain(path, None)
    if isinstance(result, Settings):
        assert_sane(result)


@pytest.mark.parametrize(
    "number", ["nan", "inf", "-inf", "1e400"], ids=["nan", "inf", "minus-inf", "overflow"]
)
@pytest.mark.parametrize(
    "key", ["min_frame_gap_s", "idle_frame_interval_s", "segment_minutes", "typing_pause_s"]
)
def test_numbers_that_are_not_finite_are_refused(tmp_path: Path, key: str, number: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(f"{key} = {number}\n", encoding="utf-8")
    result = load_or_explain(path, None)
    assert isinstance(result, PraxisError), f"{key} = {number} was accepted"
    assert key in result.message


POLICIES = {
    "not-toml": b"upload = \n",
    "wrong-type": b"capture_screen = 'yes'\n",
    "unknown-key": b"record_everything = true\n",
    "invalid-value": b"segment_minutes = -1\n",
    "not-finite": b"segment_minutes = nan\n",
    "binary": bytes(range(256)),
    "missing": None,  # named, but not there: IT asked for a policy that is not in force
}


@pytest.mark.parametrize("content", list(POLICIES.values()), ids=list(POLICIES))
def test_a_policy_that_cannot_be_used_keeps_recording_off(
    tmp_path: Path, content: bytes | None
) -> None:
    policy = tmp_path / "policy.toml"
    if content is not None:
        policy.write_bytes(content)
    data_dir = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), "record", "--headless"],
        env=_env(tmp_path, policy),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("praxis: Managed policy problem: "), lines
    assert str(policy) in lines[0] or "segment_minutes" in lines[0], lines[0]
    assert not (data_dir / "buffer.db").exists(), "a buffer was made although nothing may record"


def _env(home: Path, policy: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "PRAXIS_DATA_DIR")}
    env.update(
        PRAXIS_POLICY_FILE=str(policy),
        XDG_DATA_HOME=str(home / "xdg-data"),
        XDG_CONFIG_HOME=str(home / "xdg-config"),
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
    )
    return env
