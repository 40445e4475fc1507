"""Bad input and unlucky machines, as a person meets them at the command line: one line that
says what to do, a non-zero exit, nothing changed that Praxis does not own, no traceback."""

from __future__ import annotations

import os
import stat
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from app.cli import main
from app.core.buffer.store import Buffer
from tests.unit.test_export import build_segment

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_first_consent_without_a_keyring_leaves_nothing_that_blocks_a_later_one(
    data_dir: Path,
) -> None:
    failing = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    line = one_line(run_cli("consent", "--accept", "--data-dir", str(data_dir), env=failing))
    assert line.startswith("praxis: Keyring unavailable: no secure OS keyring")
    assert "dbus-run-session" in line and "PlaintextKeyring" in line
    # Now a keyring is there: the buffer the failed try created gets its key.
    assert main(["consent", "--accept", "--data-dir", str(data_dir)]) == 0
    Buffer(data_dir).unlock()


def test_a_keyring_the_person_did_not_choose_is_not_named(data_dir: Path) -> None:
    # keyring picks the file backend of keyrings.alt by itself when nothing else is there.
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent"
    result = subprocess.run(
        [sys.executable, "-m", "app", "consent", "--accept", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    line = one_line(result)
    assert "backend:" not in line and "selects" not in line
    assert "gnome-keyring-daemon" in line


def test_a_keyring_backend_that_cannot_load_is_one_line(data_dir: Path) -> None:
    line = one_line(
        run_cli(
            "consent",
            "--accept",
            "--data-dir",
            str(data_dir),
            env={"PYTHON_KEYRING_BACKEND": "no_such_module.Keyring"},
        )
    )
    assert "PYTHON_KEYRING_BACKEND='no_such_module.Keyring' cannot be loaded" in line


def test_an_empty_data_dir_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["status", "--data-dir", ""])
    assert exit_.value.code == 2
    assert "current folder" in capsys.readouterr().err
    assert not Path("buffer.db").exists()


def test_a_shared_folder_is_refused_and_its_mode_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    assert main(["consent", "--accept", "--data-dir", str(shared)]) == 2
    err = capsys.readouterr().err
    assert "is shared with other users (mode 1777)" in err and "--data-dir" in err
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777
    assert list(shared.iterdir()) == []


def test_an_empty_buffer_file_is_a_new_buffer_not_a_missing_key(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir(mode=0o700)
    (data_dir / "buffer.db").write_bytes(b"")
    assert main(["status", "--data-dir", str(data_dir)]) == 0
    assert main(["consent", "--accept", "--data-dir", str(data_dir)]) == 0


def test_a_damaged_buffer_is_set_aside_with_a_clear_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir.mkdir(mode=0o700)
    (data_dir / "buffer.db").write_bytes(os.urandom(8192))
    result = run_cli("consent", "--accept", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "was damaged" in result.stderr and "buffer.db.damaged-" in result.stderr
    assert main(["activity", "--data-dir", str(data_dir)]) == 0
    assert "buffer.db.damaged-" in capsys.readouterr().out


def _system_python() -> str:
    import shutil

    found = shutil.which(
        f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin"
    )
    if found is None:
        pytest.skip("no system Python of this version to run as another user")
    return found


@pytest.mark.skipif(os.name != "posix", reason="Unix permissions")
def test_a_read_only_data_dir_is_explained_not_called_corrupt(data_dir: Path) -> None:
    Buffer(data_dir)
    os.chmod(data_dir, 0o500)
    try:
        if os.geteuid() == 0:  # root writes anywhere: ask as another user
            import shutil
            import tempfile

            base = Path(tempfile.mkdtemp(prefix="praxis-ro-"))
            os.chmod(base, 0o711)
            copy = base / "data"
            shutil.copytree(data_dir, copy)
            for path in (copy, *copy.iterdir()):
                os.chown(path, 65534, 65534)
            # The venv's interpreter may sit in root's home; its packages need not.
            site = next(p for p in sys.path if p.endswith("site-packages"))
            result = subprocess.run(
                [_system_python(), "-m", "app", "status", "--data-dir", str(copy)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, "HOME": str(base), "PYTHONPATH": f"{ROOT}:{site}"},
                user=65534,
                group=65534,
                timeout=60,
            )
            shutil.rmtree(base)
        else:
            result = run_cli("status", "--data-dir", str(data_dir))
    finally:
        os.chmod(data_dir, 0o700)
    line = one_line(result)
    assert "cannot be written" in line and "chmod u+w" in line
    assert "move it aside" not in line and "key" not in line


def test_export_of_an_unknown_segment_fails(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_segment(Buffer(data_dir))
    out = tmp_path / "out"
    assert main(["export", "--data-dir", str(data_dir), "--out", str(out), "--segment", "nope"])
    assert "there is no segment nope" in capsys.readouterr().err


def test_export_to_an_unwritable_place_is_one_line(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_segment(Buffer(data_dir))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["export", "--data-dir", str(data_dir), "--out", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("praxis: Export failed: cannot write the export to") and "--out" in err


def test_exports_are_readable_by_the_owner_only(data_dir: Path, tmp_path: Path) -> None:
    build_segment(Buffer(data_dir))
    out = tmp_path / "out"
    assert main(["export", "--data-dir", str(data_dir), "--out", str(out)]) == 0
    assert main(["export", "--data-dir", str(data_dir), "--out", str(out), "--packages"]) == 0
    paths = [out, *out.rglob("*")]
    assert len(paths) > 5
    for path in paths:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that claims its size and holds nothing: enough for Pillow to judge the size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def test_redact_refuses_an_unknown_suffix_and_a_giant_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    small = tmp_path / "small.png"
    Image.new("RGB", (40, 20), "white").save(small)
    assert main(["redact", "--image", str(small), "--out", str(tmp_path / "x.nope")]) == 2
    assert "Unknown image type" in capsys.readouterr().err

    giant = tmp_path / "giant.png"
    _png_header_only(giant, 20_000, 20_000)
    assert main(["redact", "--image", str(giant), "--out", str(tmp_path / "x.png")]) == 2
    assert "Image too large" in capsys.readouterr().err

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "x.png"
    assert main(["redact", "--image", str(small), "--out", str(out)]) == 2
    assert "Cannot write the image" in capsys.readouterr().err


def test_status_on_a_damaged_buffer_says_so_in_one_line(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    (data_dir / "buffer.db").write_bytes(os.urandom(8192))
    line = one_line(run_cli("status", "--data-dir", str(data_dir)))
    assert line.startswith("praxis: Local buffer problem: ") and "was moved to" in line
