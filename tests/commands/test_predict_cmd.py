"""``depthhand predict`` on a real SR305 frame: the birth threshold (``--min-score``) decides about weak hands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from depthhand.cli import main


def test_min_score_keeps_weak_false_detections_out(shared_data: Path, tmp_path: Path) -> None:
    frame = shared_data / "real/sr305-desk/frames/40.png"  # the hand scores 0.76, a torso edge 0.38
    base = ["predict", str(frame), "--intrinsics", "sr305", "--depth-scale", "0.125"]
    hands = {}
    for score in ("0.5", "0.3"):
        out = tmp_path / f"p{score}.json"
        assert main([*base, "--min-score", score, "--out", str(out)]) == 0
        hands[score] = json.loads(out.read_text())[0]["hands"]
    assert len(hands["0.5"]) == 1 and hands["0.5"][0]["handedness"] == "right"
    assert len(hands["0.3"]) == 2
    assert min(h["score"] for h in hands["0.3"]) < 0.5 <= max(h["score"] for h in hands["0.3"])


def test_tta_moves_the_joints_a_little(shared_data: Path, tmp_path: Path) -> None:
    frame = shared_data / "real/sr305-desk/frames/40.png"
    base = ["predict", str(frame), "--intrinsics", "sr305", "--depth-scale", "0.125"]
    joints = {}
    for tta in ("0", "15", "mirror"):
        out = tmp_path / f"t{tta}.json"
        option = ["--tta-mirror"] if tta == "mirror" else ["--tta-deg", tta]
        assert main([*base, *option, "--out", str(out)]) == 0
        (hand,) = json.loads(out.read_text())[0]["hands"]
        joints[tta] = np.asarray(hand["joints_xyz_mm"])
    for tta in ("15", "mirror"):
        shift = np.linalg.norm(joints[tta] - joints["0"], axis=-1)
        assert 0.0 < shift.mean() < 15.0  # the averaged views differ from the single one, but only slightly
    assert main([*base, "--tta-deg", "95"]) == 1  # outside [0, 90): a clear error, not a crash
