"""Re-centring a new detection's crop on its pose's palm (``PipelineOptions.recenter``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from depthhand.evaluate.hard_set import hard_frame
from depthhand.pipeline import HandPipeline, PipelineOptions
from depthhand.structures import DepthFrame

TRAIN_SEED = 5150  # the hard scenes' training split, never the held-out 170017


def _frame(case: str, index: int) -> tuple[DepthFrame, object]:
    f = hard_frame(case, index, seed=TRAIN_SEED)
    return DepthFrame(f.depth_mm, f.intrinsics, 0, f"hard:{case}", index), f


def test_the_recentred_crop_is_the_first_pose_palm_and_is_posed_again() -> None:
    frame, _ = _frame("body_behind", 2)
    with HandPipeline(PipelineOptions(mode="image", recenter=1)) as pipe:
        boxes = pipe.detector.detect(frame)
        assert boxes
        first = pipe.estimate(frame, boxes)
        names = pipe.joint_set.names  # the palm centre: mean of the wrist and the four finger MCPs
        palm = [i for i, n in enumerate(names) if n == "WRIST" or (n.endswith("_MCP") and not n.startswith("THUMB"))]
        assert len(palm) == 5
        want = np.array([p.joints_xyz_mm[palm].mean(axis=0) for p in first])
        moved, poses, patches = pipe.finder.recentered(frame, boxes, {})
        again = pipe.estimate(
            frame, [dataclasses.replace(b, center_xyz_mm=c) for b, c in zip(boxes, want, strict=True)]
        )
    got = np.array([b.center_xyz_mm for b in moved])
    np.testing.assert_allclose(got, want, atol=1e-3)
    k = frame.intrinsics
    for b, c in zip(moved, want, strict=True):  # the image centre is the palm's projection
        np.testing.assert_allclose(b.center_uvd[:2], [c[0] * k.fx / c[2] + k.cx, c[1] * k.fy / c[2] + k.cy], atol=1e-2)
    for b, m in zip(boxes, moved, strict=True):  # image box, score and handedness stay the detector's
        np.testing.assert_array_equal(b.box_xyxy, m.box_xyxy)
        assert (b.score, b.handedness) == (m.score, m.handedness)
    for p, q in zip(poses, again, strict=True):
        np.testing.assert_allclose(p.joints_xyz_mm, q.joints_xyz_mm, atol=1e-4)
    assert len(patches) == len(moved)
    assert float(np.linalg.norm(got[0] - boxes[0].center_xyz_mm)) > 5.0  # it did move


def test_recentring_brings_the_reported_hands_nearer_the_true_palms() -> None:
    # training frames only; the detector's centre is a surface point plus a fixed offset, the pose's palm is nearer
    errors: dict[int, list[float]] = {0: [], 1: []}
    frames = [_frame(c, i) for c in ("arm_edges", "body_behind") for i in range(6)]
    for passes in (0, 1):
        with HandPipeline(PipelineOptions(mode="image", recenter=passes)) as pipe:
            for frame, truth in frames:
                for h in pipe.process(frame).hands:
                    d = np.linalg.norm(truth.center_xyz_mm - h.box.center_xyz_mm, axis=1).min()  # type: ignore[attr-defined]
                    if d < 80.0:
                        errors[passes].append(float(d))
    assert len(errors[1]) >= 10
    assert np.median(errors[1]) < np.median(errors[0]) - 4.0


@pytest.mark.parametrize("bad", [-1, True, 1.0])
def test_recenter_must_be_a_whole_number_of_passes(bad: object) -> None:
    with pytest.raises(ValueError, match="recenter"):
        PipelineOptions(recenter=bad)  # type: ignore[arg-type]


def test_two_detections_of_one_hand_become_one_after_recentring() -> None:
    frame, _ = _frame("body_behind", 2)
    with HandPipeline(PipelineOptions(mode="image", recenter=1)) as pipe:
        best = pipe.detector.detect(frame)[0]
        twin = dataclasses.replace(best, score=best.score / 2)  # the same hand found twice, the copy weaker
        kept, poses, patches = pipe.finder.recentered(frame, [best, twin], {})
        alone, _, _ = pipe.finder.recentered(frame, [best], {})
        pipe.finder.recenter = 0  # without re-centring nothing is merged
        both, _, _ = pipe.finder.recentered(frame, [best, twin], {})
    assert len(kept) == len(poses) == len(patches) == 1
    assert kept[0].score == best.score
    np.testing.assert_allclose(kept[0].center_xyz_mm, alone[0].center_xyz_mm, atol=1e-4)
    assert len(both) == 2


def test_the_command_line_passes_recenter_to_the_pipeline() -> None:
    import argparse

    from depthhand.commands._pipeline_args import add_pipeline_arguments, pipeline_options

    parser = argparse.ArgumentParser()
    add_pipeline_arguments(parser)
    assert pipeline_options(parser.parse_args([])).recenter == 0
    assert pipeline_options(parser.parse_args(["--recenter", "1"])).recenter == 1
    with pytest.raises(ValueError, match="recenter"):
        pipeline_options(parser.parse_args(["--recenter", "-1"]))
