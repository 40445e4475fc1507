import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("1h", 3600), ("90s", 90), ("1h30m", 5400), ("5", 300), ("2d", 172800)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "0m", "-5m", "5x"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_status_with_nothing_recorded(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(data_dir), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "not_running"


def test_pause_without_a_recorder_says_so(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pause", "--data-dir", str(data_dir)]) == 2
    assert "No recorder running" in capsys.readouterr().err


def test_consent_then_status_and_delete_act_on_the_buffer(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["consent", "--accept", "--data-dir", str(data_dir)]) == 0
    assert main(["delete", "--all-pending", "--data-dir", str(data_dir)]) == 0
    assert "Nothing to delete." in capsys.readouterr().out
    assert main(["activity", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "consent version 2 accepted" in out and "delete everything not yet uploaded" in out


def test_module_entry_point_prints_help() -> None:
    result = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "record" in result.stdout


def test_redact_text_dry_run(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir.mkdir()
    (data_dir / "settings.toml").write_text('custom_terms = ["Falcon"]\n')
    assert (
        main(["redact", "--data-dir", str(data_dir), "--json", "--text", "mail a@b.io re Falcon"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["redacted"] == "mail [EMAIL] re [CUSTOM]"
    assert out["found"] == [
        {"category": "EMAIL", "start": 5, "end": 11},
        {"category": "CUSTOM", "start": 15, "end": 21},
    ]


def test_redact_image_dry_run(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (520, 60), "white")
    ImageDraw.Draw(image).text(
        (10, 15),
        "reply to sam.okafor@example.com",
        fill="black",
        font=ImageFont.load_default(size=20),
    )
    source, out = tmp_path / "in.png", tmp_path / "out.png"
    image.save(source)
    assert (
        main(
            [
                "redact",
                "--data-dir",
                str(data_dir),
                "--image",
                str(source),
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert [b["category"] for b in report["boxes"]] == ["EMAIL"]
    box = report["boxes"][0]
    redacted = np.asarray(Image.open(out).convert("RGB"))
    # The box reported is the box filled, whole.
    x, y, w, h = box["x"], box["y"], box["w"], box["h"]
    assert (redacted[max(0, y) : y + h, max(0, x) : x + w] == 0).all()


def test_redact_image_that_is_not_an_image(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "notes.png"
    bogus.write_text("not an image")
    assert (
        main(
            [
                "redact",
                "--data-dir",
                str(data_dir),
                "--image",
                str(bogus),
                "--out",
                str(tmp_path / "o.png"),
            ]
        )
        == 2
    )
    assert "cannot be read as an image" in capsys.readouterr().err


def test_record_with_a_named_policy_file_missing_stays_off(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["consent", "--accept", "--data-dir", str(data_dir)]) == 0
    monkeypatch.setenv("PRAXIS_POLICY_FILE", str(tmp_path / "gone.toml"))
    assert main(["record", "--headless", "--data-dir", str(data_dir)]) != 0
    err = capsys.readouterr().err
    assert "gone.toml does not exist; recording stays off" in err
    # The person keeps control of what exists: status, delete and withdrawal still work.
    assert main(["status", "--data-dir", str(data_dir)]) == 0
    assert main(["delete", "--all-pending", "--data-dir", str(data_dir)]) == 0
    assert main(["consent", "--withdraw", "--data-dir", str(data_dir)]) == 0
