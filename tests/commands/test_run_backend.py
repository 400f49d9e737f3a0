"""``depthhand run --pose-backend``: the backend that ran is named in the summary line and the summary JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from depthhand.cli import main
from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
from depthhand.pose.backends import resolve_backend


@pytest.mark.parametrize("backend", ["auto", "onnxruntime"])
def test_run_names_the_pose_backend(backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = tmp_path / "summary.json"
    argv = ["run", "--source", "synthetic://topdown?realtime=0&seed=3", "--max-frames", "2", "--threads", "1"]
    assert main([*argv, "--pose-backend", backend, "--summary", str(summary)]) == 0
    chosen = resolve_backend(backend, path=shipped_weights(DEFAULT_POSE_MODEL))  # auto: the int8 copy on VNNI or AVX2
    assert chosen != "auto"
    assert f"(pose on {chosen})" in capsys.readouterr().out
    assert json.loads(summary.read_text())["pose_backend"] == chosen


def test_run_refuses_an_unknown_backend(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--max-frames", "1", "--pose-backend", "tensorrt"])
    assert "invalid choice: 'tensorrt'" in capsys.readouterr().err
