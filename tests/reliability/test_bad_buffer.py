"""Bad things under the recorder's feet: a buffer with flipped bytes, a keyring that is locked
or has lost the key, and images of every size and mode through the redaction entry points.
Each ends in working order or in one line saying what happened, never in a traceback; a
damaged buffer is moved aside, logged and replaced, a healthy one is never called damaged."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from app.core.buffer.store import Buffer
from app.core.model import WindowInfo
from app.core.queries import activity
from app.core.recorder import Recorder
from app.core.redact.frames import FrameContext, default_frame_redactor
from app.core.settings import Settings
from tests.unit.fakes import FixedWindow, ScriptedInput

TESTS_DIR = Path(__file__).resolve().parents[1]
TERMINAL = WindowInfo("xterm", "Terminal", 0, 0, 800, 600, handle="0x1")


def record_some(data_dir: Path) -> None:
    """A buffer with a few sealed segments of typed text, made by the real recorder."""
    recorder = Recorder(
        data_dir,
        Settings(capture_screen=False),
        platform_factory=lambda: FixedWindow(TERMINAL),
        input_factory=ScriptedInput,
    )
    recorder.accept_consent()
    recorder.start()
    try:
        deadline = time.monotonic() + 10
        while not (ScriptedInput.instances and ScriptedInput.instances[-1].started):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for n in range(3):
            keys = ScriptedInput.instances[-1]
            keys.type_text(f"segment {n} of some typed text, " * 20)
            keys.press("enter")
            recorder.flush_to_disk()
    finally:
        recorder.shutdown()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """The CLI in this process: a traceback would surface here as an exception."""
    code = main(list(args))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    return code, lines


def test_flipped_bytes_end_in_a_working_buffer_or_a_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = tmp_path / "original"
    record_some(original)
    size = (original / "buffer.db").stat().st_size
    rng = random.Random(int(os.environ.get("PRAXIS_TORTURE_SEED", "11")))
    outcomes: dict[str, int] = {}
    for trial in range(16):
        data_dir = tmp_path / f"trial-{trial}"
        data_dir.mkdir(mode=0o700)
        shutil.copyfile(original / "buffer.db", data_dir / "buffer.db")
        with (data_dir / "buffer.db").open("r+b") as fh:
            for _ in range(rng.randint(1, 12)):
                where = rng.randrange(100) if rng.random() < 0.3 else rng.randrange(size)
                fh.seek(where)
                byte = fh.read(1)[0]
                fh.seek(where)
                fh.write(bytes([byte ^ rng.randint(1, 255)]))
        results = [
            run_cli(capsys, "--data-dir", str(data_dir), *args)
            for args in (
                ("status", "--json"),
                ("export", "--out", str(tmp_path / f"out-{trial}")),
                ("consent", "--accept"),
            )
        ]
        for code, lines in results:
            assert code in (0, 2), (trial, code, lines)
            if code == 2:
                assert all(line.startswith("praxis: ") for line in lines), (trial, lines)
                assert 1 <= len(lines) <= 2, (trial, lines)
        aside = sorted(data_dir.glob("buffer.db.damaged-*"))
        if aside:
            outcome = "moved aside"
            assert aside[0].stat().st_mode & 0o777 == 0o600
            said = " ".join(line for _code, lines in results for line in lines)
            assert "damaged" in said and aside[0].name in said, said
            fresh = Buffer(data_dir, create=False)
            assert any("damaged" in row["message"] for row in activity(fresh))
            with fresh.reader() as db:
                assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        elif all(code == 0 for code, _ in results):
            outcome = "unharmed"
        else:
            outcome = "refused in one line"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(f"flipped-byte outcomes: {outcomes}")
    assert outcomes.get("moved aside", 0) >= 2, outcomes


# -- keyrings ------------------------------------------------------------------------------
def cli(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess[str], title: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"praxis: {title}: "), lines
    return lines[0]


def test_a_locked_keyring_and_a_lost_key_are_said_in_one_line_and_lose_nothing(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    plain = {
        **{k: v for k, v in os.environ.items() if k not in ("DISPLAY", "PRAXIS_DATA_DIR")},
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "PYTHONPATH": str(TESTS_DIR),
    }
    locked = {**plain, "PYTHON_KEYRING_BACKEND": "support.hostile_keyrings.LockedKeyring"}
    empty = {**plain, "PYTHON_KEYRING_BACKEND": "support.hostile_keyrings.ReadOnlyEmptyKeyring"}

    # A first start with a keyring that takes no key: refused, and nothing is left that blocks a
    # later start with the keyring open.
    one_line(cli(data_dir, empty, "consent", "--accept"), "Keyring unavailable")
    accepted = cli(data_dir, plain, "consent", "--accept")
    assert accepted.returncode == 0, accepted.stderr
    record_some_in(data_dir, plain)
    before = (data_dir / "buffer.db").read_bytes()

    # Recordings exist. The keyring locked again, or the key gone from it: reading them is
    # refused in one line, counting them still works, and no new key replaces the lost one.
    lost = {**plain, "XDG_DATA_HOME": str(tmp_path / "other-home")}
    one_line(cli(data_dir, locked, "export", "--out", str(tmp_path / "out")), "Keyring unavailable")
    one_line(cli(data_dir, lost, "record", "--headless"), "Keyring unavailable")
    counted = cli(data_dir, locked, "status", "--json")
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout)["pending_events"] > 0
    assert (data_dir / "buffer.db").read_bytes() == before
    exported = cli(data_dir, plain, "export", "--out", str(tmp_path / "out"))
    assert exported.returncode == 0, exported.stderr
    texts = "".join(p.read_text() for p in (tmp_path / "out").glob("*/events.jsonl"))
    assert all(f"segment {n} of some typed text" in texts for n in range(3))


def record_some_in(data_dir: Path, env: dict[str, str]) -> None:
    """record_some() in a child process that uses `env`'s keyring."""
    code = (
        "import sys; from pathlib import Path; "
        "sys.path[:0] = [sys.argv[2], sys.argv[3]]; "
        "from reliability.test_bad_buffer import record_some; record_some(Path(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(data_dir), str(TESTS_DIR), str(TESTS_DIR.parent)],
        env={**env, "PRAXIS_POLICY_FILE": str(data_dir / "no-policy.toml")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


# -- images --------------------------------------------------------------------------------
ARRAYS = {
    "0x0": np.zeros((0, 0, 3), np.uint8),
    "0x10": np.zeros((0, 10, 3), np.uint8),
    "1x1": np.zeros((1, 1, 3), np.uint8),
    "1x20000": np.full((1, 20000, 3), 255, np.uint8),
    "20000x1": np.full((20000, 1, 3), 255, np.uint8),
    "4000x8000": np.full((4000, 8000, 3), 250, np.uint8),
    "gray-2d": np.zeros((50, 50), np.uint8),
    "rgba": np.zeros((50, 50, 4), np.uint8),
    "float": np.zeros((50, 50, 3), np.float64),
    "uint16": np.zeros((50, 50, 3), np.uint16),
    "not-contiguous": np.zeros((100, 100, 3), np.uint8)[::2, ::3],
}


@pytest.mark.parametrize("name", list(ARRAYS))
def test_frames_of_every_shape_are_redacted_or_dropped_never_fatal(name: str) -> None:
    """FrameRedactor.redact is where every screenshot passes: fail closed (None, the frame is
    dropped and counted) or an image of the same size, never an exception."""
    # On-screen text reading of a 32-megapixel frame takes tens of seconds on two busy
    # cores; the huge frame checks the other steps (and memory) only.
    redactor = default_frame_redactor(Settings(redact_screen_text=name != "4000x8000"))
    pixels = ARRAYS[name]
    started = time.monotonic()
    out = redactor.redact(pixels, FrameContext(None, [TERMINAL]))
    assert time.monotonic() - started < 120
    if out is not None:
        assert out.shape[:2] == pixels.shape[:2]


def image_files(folder: Path) -> dict[str, Path]:
    made: dict[str, Path] = {}

    def save(name: str, image: Image.Image, suffix: str = ".png", **kw: object) -> None:
        path = folder / f"{name}{suffix}"
        image.save(path, **kw)
        made[name] = path

    save("1x1", Image.new("RGB", (1, 1)))
    save("1x20000", Image.new("RGB", (20000, 1), "white"))
    save("palette", Image.new("P", (64, 64)))
    save("16-bit", Image.new("I;16", (64, 64)))
    save("cmyk", Image.new("CMYK", (64, 64)), ".jpg")
    save(
        "gif-animated",
        Image.new("P", (32, 32)),
        ".gif",
        save_all=True,
        append_images=[Image.new("P", (32, 32), 1)],
    )
    truncated = folder / "truncated.png"
    Image.new("RGB", (200, 200), "white").save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:120])
    made["truncated"] = truncated
    (folder / "empty.png").write_bytes(b"")
    made["empty"] = folder / "empty.png"
    (folder / "not-an-image.png").write_bytes(os.urandom(500))
    made["random"] = folder / "not-an-image.png"
    # 20000x20000 declared in a small file: a decompression bomb.
    bomb = folder / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb, optimize=True)
    made["bomb"] = bomb
    return made


def test_images_of_every_size_and_mode_through_redact_give_a_result_or_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    # Decoding, sizes and modes are what this checks; reading text in frames of every shape
    # is checked above, and costs seconds per image.
    (data_dir / "settings.toml").write_text("redact_screen_text = false\n", encoding="utf-8")
    folder = tmp_path / "images"
    folder.mkdir()
    for name, path in image_files(folder).items():
        out = tmp_path / f"out-{name}.png"
        code, lines = run_cli(
            capsys, "--data-dir", str(data_dir), "redact", "--image", str(path), "--out", str(out)
        )
        assert code in (0, 2), (name, code, lines)
        if code == 0:
            with Image.open(out) as result, Image.open(path) as source:
                assert result.size == source.size, name
        else:
            assert len(lines) == 1 and lines[0].startswith("praxis: "), (name, lines)
    for suffix in ("out.xyz", "out"):
        code, lines = run_cli(
            capsys,
            "--data-dir",
            str(data_dir),
            "redact",
            "--image",
            str(folder / "1x1.png"),
            "--out",
            str(tmp_path / suffix),
        )
        assert code == 2 and len(lines) == 1 and lines[0].startswith("praxis: "), (suffix, lines)
