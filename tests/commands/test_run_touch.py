"""``depthhand run`` on a synthetic source reports touch figures against the truth next to its joint accuracy."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from depthhand.cli import main
from depthhand.interact.touch import TouchSettings

N = 150


def _true_contacts(n: int) -> tuple[int, object, object, list[float]]:
    """Runs of consecutive touching frames per (hand, finger) in the scene's own truth; the touch reports of the
    evaluation module on the same frames (true joints as poses, the true table plane) against the true contacts
    (the feet of the tip spheres' centres) and against the feet of the tip joints; and, per true touching
    fingertip and frame, the distance between those two feet on the table, mm (float64, from the truth alone)."""
    live_mod = pytest.importorskip("depthhand.synth.live")
    from depthhand.evaluate.touch import evaluate_touch, truth_frames_from_synthetic, truth_table_plane
    from depthhand.geometry.plane import project_to_plane
    from depthhand.skeleton import CANONICAL21

    live = live_mod.SyntheticLive(seed=3, max_hands=2)
    pairs = [p for _, p in zip(range(n), live, strict=False)]
    plane = truth_table_plane(pairs[0][1])
    runs, active, offsets = 0, set(), []
    for _, truth in pairs:
        now = {(tid, f) for k, tid in enumerate(truth.track_ids) for f in range(5) if truth.touch[k, f]}
        runs += len(now - active)
        active = now
        assert truth.tip_centres_xyz_mm is not None
        for k in range(len(truth.track_ids)):
            for finger, idx in CANONICAL21.tips:
                if truth.touch[k, int(finger)]:
                    joint = np.asarray(truth.joints_xyz_mm[k][idx], np.float64)
                    centre = np.asarray(truth.tip_centres_xyz_mm[k, int(finger)], np.float64)
                    gap = project_to_plane(joint, plane) - project_to_plane(centre, plane)
                    offsets.append(float(np.linalg.norm(gap)))
    pose = TouchSettings(rule="pose")
    rep = evaluate_touch(truth_frames_from_synthetic(pairs, n), plane, pose)
    joint_pairs = [(f, dataclasses.replace(t, tip_centres_xyz_mm=None)) for f, t in pairs]
    rep_joint = evaluate_touch(truth_frames_from_synthetic(joint_pairs, n), plane, pose)
    return runs, rep, rep_joint, offsets


def test_run_reports_touch_against_the_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = tmp_path / "summary.json"
    source = "synthetic://topdown?realtime=0&seed=3&poses=truth"
    args = ["run", "--source", source, "--max-frames", str(N), "--summary", str(summary), "--touch-rule", "pose"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "live accuracy vs ground truth" in out and "touch vs ground truth (pose rule" in out
    info = json.loads(summary.read_text())
    touch = info["touch"]
    n_runs, rep, rep_joint, offsets = _true_contacts(N)
    assert n_runs >= 4  # the scene touches within these frames
    assert touch["true_contacts"] == n_runs == rep.true_contacts
    assert touch["frames"] == N and touch["rule"] == "pose"
    assert touch["precision"] == pytest.approx(rep.precision) and touch["recall"] == pytest.approx(rep.recall)
    assert touch["false_touches_per_min"] == pytest.approx(rep.false_touches_per_min)
    assert touch["pos_err_median_mm"] == pytest.approx(rep.position_error_mm["median"], abs=1e-6)
    # true joints, pose rule (tip radius 0): each event lies at the foot of the true tip joint ...
    assert rep_joint.position_error_mm["median"] < 0.01 and rep_joint.position_error_mm["max"] < 0.01
    # ... so against the true contact (the sphere centre's foot) its error is that foot's distance from the joint's
    # (the median over the frames both touch, against the median over every true touching frame: 6.17 / 6.16 mm)
    assert min(offsets) <= touch["pos_err_median_mm"] <= max(offsets) < 15.0
    assert touch["pos_err_median_mm"] == pytest.approx(float(np.median(offsets)), abs=0.5)
    assert touch["pos_err_median_mm"] > 2.0
    assert f"precision {touch['precision']:.3f}" in out
    assert info["accuracy"]["mean_error_mm"] == pytest.approx(0.0, abs=1e-3)


def test_run_with_the_pipeline_scores_touch_on_its_own_hands(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    argv = ["run", "--source", "synthetic://topdown?realtime=0&seed=3", "--max-frames", "100", "--threads", "1"]
    assert main([*argv, "--summary", str(summary)]) == 0
    info = json.loads(summary.read_text())
    touch = info["touch"]
    assert touch["frames"] == 100 and touch["true_contacts"] == _true_contacts(100)[0] >= 3
    # the pipeline's hands carry the true hands' ids: its touches meet the true contacts (3 of 4 here)
    assert touch["recall"] >= 0.5 and touch["precision"] > 0.0
    assert 0.0 < touch["pos_err_median_mm"] < 20.0  # the network's fingertip, not the true one
    assert info["accuracy"]["frames"] == 100


def test_run_without_truth_has_no_touch_figures(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    assert main(["run", "--source", "scripted://tap?realtime=0", "--max-frames", "5", "--summary", str(summary)]) == 0
    assert json.loads(summary.read_text())["touch"] == {}
