"""Unusable input to ``depthhand run`` / ``predict`` / ``record``: one clear line on stderr and a non-zero exit.

Never a traceback, never exit 0 with nothing done. Most cases go through :func:`depthhand.cli.main` (its return
code and stderr); one runs the installed ``depthhand`` command in a subprocess to check the real exit status.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthhand.cli import main


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``depthhand ARGV``, expect exit status 1, return stderr (asserting it holds no traceback)."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def _depth_png(path: Path, value: int = 800, shape: tuple[int, int] = (48, 64)) -> Path:
    cv2.imwrite(str(path), np.full(shape, value, np.uint16))
    return path


@pytest.fixture
def good_png(tmp_path: Path) -> Path:
    return _depth_png(tmp_path / "good.png")


@pytest.mark.parametrize("scale", ["0", "-1", "nan", "inf", "-inf"])
def test_predict_refuses_a_bad_depth_scale(
    capsys: pytest.CaptureFixture[str], good_png: Path, tmp_path: Path, scale: str
) -> None:
    out = tmp_path / "p.json"
    err = _error(
        capsys, ["predict", str(good_png), "--intrinsics", "1,1,0,0", f"--depth-scale={scale}", "--out", str(out)]
    )
    assert err.count("\n") == 1 and "--depth-scale must be a positive finite number of mm per raw unit" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "1e300,1e300,32,24",
            r"intrinsics '1e300,1e300,32,24': .*fx must be a finite focal length in \(0, 100000\) px",
        ),
        ("500,500,nan,24", r"intrinsics '500,500,nan,24': .*cx must be a finite principal point"),
        ("500,500,32,nan", "cy must be a finite principal point"),
        ("500,500,32", r"has 3 number\(s\); expected fx,fy,cx,cy"),
        ("kinect", "'kinect' is neither a preset nor an existing file"),
    ],
)
def test_predict_refuses_bad_intrinsics(
    capsys: pytest.CaptureFixture[str], good_png: Path, tmp_path: Path, spec: str, message: str
) -> None:
    out = tmp_path / "p.json"
    err = _error(capsys, ["predict", str(good_png), "--intrinsics", spec, "--out", str(out)])
    assert err.count("\n") == 1
    assert re.search(message, err), err
    assert not out.exists()  # nothing written, in particular no "Infinity" in a JSON file


def test_the_installed_command_exits_non_zero_without_a_traceback(good_png: Path) -> None:
    exe = Path(sys.executable).with_name("depthhand")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "depthhand.cli"]
    run = subprocess.run(
        [*cmd, "predict", str(good_png), "--intrinsics", "1e300,1e300,32,24"], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "fx must be a finite focal length" in run.stderr
    assert "Infinity" not in run.stdout


def test_predict_says_which_kind_of_unreadable_each_file_is_and_keeps_the_good_ones(
    capsys: pytest.CaptureFixture[str], good_png: Path, tmp_path: Path
) -> None:
    npy = tmp_path / "d.npy"
    np.save(npy, np.zeros((48, 64), np.uint16))
    folder = tmp_path / "dir.png"
    folder.mkdir()
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not a png")
    eight = tmp_path / "eight.png"
    cv2.imwrite(str(eight), np.full((48, 64), 9, np.uint8))
    small = _depth_png(tmp_path / "small.png", shape=(24, 32))
    second = _depth_png(tmp_path / "second.png", 900)
    out = tmp_path / "p.json"
    files = [good_png, npy, folder, corrupt, eight, tmp_path / "missing.png", small, second]
    err = _error(capsys, ["predict", *map(str, files), "--intrinsics", "500,500,31.5,23.5,64,48", "--out", str(out)])
    lines = err.splitlines()
    assert lines == [
        f"depthhand predict: error: {npy}: a NumPy .npy array, not an image; predict reads PNG/TIFF/PGM depth images",
        f"depthhand predict: error: {folder}: is a directory, not a depth image",
        f"depthhand predict: error: {corrupt}: corrupt or not an image (OpenCV cannot decode it)",
        f"depthhand predict: error: {eight}: png16 expects a single-channel 16-bit image, got an 8-bit image of "
        "shape (48, 64) dtype uint8",
        f"depthhand predict: error: {tmp_path / 'missing.png'}: no such file",
        f"depthhand predict: error: {small}: image is 32×24, intrinsics '500,500,31.5,23.5,64,48' are 64×48",
        "depthhand predict: error: 6 of 8 image(s) could not be read",
    ]
    records = json.loads(out.read_text())  # the good results, written atomically (no temporary file left)
    assert [r["source"] for r in records] == [str(good_png), str(second)]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_predict_with_no_readable_image_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    out.write_text("[]")  # an earlier result is not replaced by nothing
    err = _error(capsys, ["predict", str(tmp_path / "a.png"), "--intrinsics", "nyu", "--out", str(out)])
    assert err.splitlines()[-1] == f"depthhand predict: error: 1 of 1 image(s) could not be read; {out} not written"
    assert out.read_text() == "[]"


def test_predict_refuses_unusable_output_paths(
    capsys: pytest.CaptureFixture[str], good_png: Path, tmp_path: Path
) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    err = _error(capsys, ["predict", str(good_png), "--intrinsics", "nyu", "--overlay", str(a_file)])
    assert f"--overlay {a_file} is an existing file, not a folder" in err
    err = _error(capsys, ["predict", str(good_png), "--intrinsics", "nyu", "--out", str(tmp_path)])
    assert f"--out {tmp_path} is a directory" in err
    err = _error(capsys, ["predict", str(good_png), "--intrinsics", "nyu", "--out", str(tmp_path / "no/p.json")])
    assert "does not exist" in err


def _folder_url(tmp_path: Path) -> str:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(2):
        _depth_png(folder / f"{i}.png")
    return f"folder:{folder}?intrinsics=60,60,31.5,23.5,64,48"


@pytest.mark.parametrize("verb", ["run", "record"])
@pytest.mark.parametrize("n", ["0", "-1"])
def test_max_frames_must_be_at_least_one(capsys: pytest.CaptureFixture[str], tmp_path: Path, verb: str, n: str) -> None:
    out = tmp_path / ("out.dhrec" if verb == "record" else "out.jsonl")
    err = _error(capsys, [verb, "--source", _folder_url(tmp_path), "--out", str(out), "--max-frames", n])
    assert f"depthhand {verb}: error: --max-frames must be at least 1 (omit it for no limit), got {n}" in err
    assert not out.exists()


def test_record_without_max_frames_records_everything(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "take.dhrec"
    assert main(["record", "--source", _folder_url(tmp_path), "--out", str(out)]) == 0
    assert "wrote 2 frames" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--chunk-frames", "0", "--chunk-frames must be at least 1, got 0"),
        ("--unit-mm", "nan", "--unit-mm must be a positive finite number of mm per stored step, got nan"),
        ("--unit-mm", "0", "--unit-mm must be a positive finite number"),
        ("--out", "dir.dhrec", "is a directory"),
    ],
)
def test_record_refuses_unusable_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str, message: str
) -> None:
    (tmp_path / "dir.dhrec").mkdir()
    argv = ["record", "--source", _folder_url(tmp_path), "--out", str(tmp_path / "take.dhrec")]
    argv += [option, str(tmp_path / value) if option == "--out" else value]
    assert message in _error(capsys, argv)
    assert not (tmp_path / "take.dhrec").exists()


def test_run_refuses_unusable_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = _folder_url(tmp_path)
    err = _error(capsys, ["run", "--source", url, "--overlay", str(tmp_path / "ovl"), "--overlay-every", "0"])
    assert "--overlay-every must be at least 1, got 0" in err
    err = _error(capsys, ["run", "--source", url, "--out", str(tmp_path)])
    assert f"--out {tmp_path} is a directory; give the name of a file to write" in err
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    err = _error(capsys, ["run", "--source", url, "--overlay", str(a_file)])
    assert f"--overlay {a_file} is an existing file, not a folder" in err
    err = _error(capsys, ["run", "--source", url, "--summary", str(tmp_path)])
    assert "--summary" in err and "is a directory" in err


def test_run_on_a_folder_with_no_readable_file_fails_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "0.png").write_bytes(b"not a png")
    cv2.imwrite(str(folder / "1.png"), np.full((48, 64), 9, np.uint8))
    err = _error(capsys, ["run", "--source", f"folder:{folder}?intrinsics=nyu"])
    assert f"depthhand run: error: depth folder {folder}: none of its 2 file(s) could be read as depth" in err
    assert "8-bit image (uint8)" in err
    assert "0 frames" not in capsys.readouterr().out


def test_run_with_a_bad_timestamps_csv_names_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = _folder_url(tmp_path)
    ts = tmp_path / "frames" / "timestamps.csv"
    ts.write_text("file,timestamp_us\n0.png,soon\n")
    err = _error(capsys, ["run", "--source", url])
    assert f"depthhand run: error: {ts}: line 2: timestamp 'soon' is not a whole number" in err


def test_quantize_a_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, ["quantize", str(tmp_path / "nope.onnx")])
    assert re.search(r"depthhand quantize: error: pose model .*nope\.onnx does not exist", err)
