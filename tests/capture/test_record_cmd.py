from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.capture.recording import RecordingSource
from depthhand.capture.sources import open_source
from depthhand.cli import main


@pytest.mark.shared_data
def test_record_the_sr305_folder(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"folder:{shared_data / 'real/sr305-desk/frames'}?intrinsics=sr305"
    out = tmp_path / "take.dhrec"
    assert main(["record", "--source", url, "--out", str(out), "--max-frames", "7", "--chunk-frames", "3"]) == 0
    assert "wrote 7 frames" in capsys.readouterr().out
    with RecordingSource(out) as rec:
        frames = list(rec)
        assert rec.header["source"] == url
    originals = list(open_source(url))[:7]
    assert len(frames) == 7
    for a, b in zip(originals, frames, strict=True):
        np.testing.assert_array_equal(a.depth_mm, b.depth_mm)  # 0.125 mm units: lossless
        assert a.timestamp_us == b.timestamp_us and a.index == b.index
        assert a.intrinsics == b.intrinsics


def test_record_errors_are_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--source", str(tmp_path / "missing"), "--out", str(tmp_path / "x.dhrec")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["record", "--source", "kinect://", "--out", str(tmp_path / "x.dhrec")]) == 1
    assert "unknown source scheme" in capsys.readouterr().err
    assert main(["record", "--source", str(tmp_path), "--out", str(tmp_path / "x.bin")]) == 1
    assert "should end in .dhrec" in capsys.readouterr().err
    assert not (tmp_path / "x.dhrec").exists()
