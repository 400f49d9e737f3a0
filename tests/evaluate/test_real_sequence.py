"""The real-sequence runner: per-frame checks, track, summary and contact sheet, on a rendered hand with truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthhand.evaluate.real_sequence import (
    REAL_SEQUENCES,
    RealSequence,
    SequenceChecks,
    check_frame,
    palm_centre,
    pick_track,
    read_sequence,
    summarise,
)
from depthhand.evaluate.real_sheet import GREEN, RED, contact_sheet, frame_tile, write_contact_sheet
from depthhand.geometry.camera import INTRINSICS, uvd_to_xyz, xyz_to_uvd
from depthhand.skeleton import CANONICAL21
from depthhand.structures import DepthFrame, HandBox, HandPose, TrackedHand
from tests.evaluate.conftest import Scene

K = INTRINSICS["sr305"]
SEQ = RealSequence("synthetic", "nowhere", "sr305")


def _hand(joints_xyz: np.ndarray, centre_uvd: np.ndarray, score: float = 0.9, track_id: int = 1) -> TrackedHand:
    uvd = xyz_to_uvd(joints_xyz, K)
    pose = HandPose(joints_xyz.astype(np.float32), uvd.astype(np.float32), CANONICAL21, score=score)
    box = HandBox(centre_uvd, uvd_to_xyz(centre_uvd, K), np.array([*(centre_uvd[:2] - 60), *(centre_uvd[:2] + 60)]))
    return TrackedHand(track_id, pose, box)


def _checks(scene: Scene, frames: int = 4, missing: int = 2) -> SequenceChecks:
    frame = DepthFrame(scene.depth, K)
    box = np.array([*(scene.centre_uvd[:2] - 100), *(scene.centre_uvd[:2] + 100)])
    out = []
    for t in range(frames):
        hands: tuple[TrackedHand, ...] = () if t == missing else (_hand(scene.joints_xyz, scene.centre_uvd),)
        if t == 1:  # a false hand far from the labelled box, with a higher score: the track keeps the real one
            far = scene.joints_xyz + [0.0, 0.0, 300.0]
            hands = (*hands, _hand(far, np.array([40.0, 40.0, 800.0]), score=0.99, track_id=2))
        track = None if not hands else 0
        out.append(check_frame(str(t), frame, hands, track, 250.0, box))
    return SequenceChecks(SEQ, CANONICAL21, 250.0, tuple(out))


def test_check_frame_on_the_true_pose(far_wall: Scene) -> None:
    hand = _hand(far_wall.joints_xyz, far_wall.centre_uvd)
    f = check_frame("0", DepthFrame(far_wall.depth, K), (hand,), 0, 250.0)
    assert f.hand is hand and f.mask is not None and f.mask.pixels > 5000
    assert f.on_hand.all()
    # without the tolerance only fingertips (on the skin at the finger's end: the silhouette's edge) can miss
    assert set(np.flatnonzero(~f.on_hand_strict)) <= {4, 8, 12, 16, 20}
    assert f.offsets_mm.shape == (21,) and np.isfinite(f.offsets_mm).all()
    assert f.residuals_mm.size > 3000 and np.median(f.residuals_mm) < 2.0
    assert f.labelled_found is None and f.false_hands is None
    empty = check_frame("1", DepthFrame(far_wall.depth, K), (), None, 250.0, np.array([0.0, 0.0, 10.0, 10.0]))
    assert empty.hand is None and empty.mask is None and empty.labelled_found is False and empty.false_hands == 0


def test_summary_of_a_still_true_hand_with_a_missing_frame_and_a_false_hand(far_wall: Scene) -> None:
    s = summarise(_checks(far_wall))
    assert (s["frames"], s["frames_with_hand"], s["found_fraction"]) == (4, 3, 0.75)
    assert (s["labelled_frames"], s["labelled_found"], s["false_hands"]) == (4, 3, 1)
    assert s["false_hands_per_frame"] == 0.25 and s["hands_per_frame"] == 1.0
    assert s["on_hand_fraction"] == 1.0 and set(s["on_hand_per_group"]) == {"wrist", "knuckles", "fingers", "tips"}
    assert s["surface"]["all"]["n"] == 63 and s["surface"]["all"]["front_10mm"] == 0.0
    assert 5.0 < s["surface"]["fingers"]["median_mm"] < 15.0
    assert s["bones"]["in_range_fraction"] == 1.0 and s["bones"]["cv_max"] == pytest.approx(0.0, abs=1e-6)
    assert s["jitter"]["pairs"] == 1  # frames 0-1 only: frame 2 is missing
    assert s["jitter"]["median_mm"] == pytest.approx(0.0, abs=1e-4)
    assert s["residual"]["mean_mm"] < 2.0 and s["residual"]["points_per_frame"] > 3000


def test_contact_sheet_marks_on_and_off_hand_joints(far_wall: Scene, tmp_path: Path) -> None:
    checks = _checks(far_wall, frames=5)
    moved = far_wall.joints_xyz.copy()
    moved[12, 1] -= 50.0  # the middle tip off the hand
    off = check_frame("x", DepthFrame(far_wall.depth, K), (_hand(moved, far_wall.centre_uvd),), 0, 250.0)
    tile_ok, tile_off = frame_tile(checks.frames[0], 200), frame_tile(off, 200)

    def has(img: np.ndarray, colour: tuple[int, int, int]) -> int:
        return int(np.all(img == colour, axis=-1).sum())

    assert tile_ok.shape == (200, 200, 3) and has(tile_ok, GREEN) > 100 and has(tile_ok, RED) == 0
    assert has(tile_off, RED) > 10
    assert frame_tile(checks.frames[2], 200).shape == (200, 200, 3)  # no hand: the whole frame, marked
    sheet = contact_sheet(checks, summarise(checks), columns=3, tile=128)
    assert sheet.shape == (66 + 2 * (128 + 4), 3 * (128 + 4), 3)
    path = write_contact_sheet(tmp_path / "sub" / "sheet.png", checks, summarise(checks))
    import cv2

    assert cv2.imread(str(path)).shape == (66 + 2 * (256 + 4), 4 * (256 + 4), 3)


def test_read_sequence_names_the_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"real sequence 'sr305_desk': no depth PNGs in .*DEPTHHAND_SHARED"):
        read_sequence(REAL_SEQUENCES["sr305_desk"], tmp_path)


@pytest.mark.shared_data
def test_read_sequence_reads_the_sr305_frames_as_predict_does(shared_data: Path) -> None:
    frames = read_sequence(REAL_SEQUENCES["sr305_desk"], shared_data.parent)
    assert [n for n, _ in frames] == ["0", "20", "40", "60", "80", "100", "140", "160", "180", "200", "220"]
    import cv2

    raw = cv2.imread(str(shared_data / "real/sr305-desk/frames/40.png"), cv2.IMREAD_UNCHANGED)
    name, frame = frames[2]
    assert name == "40" and frame.intrinsics == K and frame.index == 2
    np.testing.assert_allclose(frame.depth_mm, raw.astype(np.float32) * 0.125)  # README: mm = value * 0.125


def test_the_track_starts_on_the_best_hand_and_follows_the_nearest(far_wall: Scene) -> None:
    a = _hand(far_wall.joints_xyz, far_wall.centre_uvd, score=0.6)
    b = _hand(far_wall.joints_xyz + [150.0, 0.0, 0.0], far_wall.centre_uvd, score=0.9, track_id=2)
    assert pick_track([], None) is None
    assert pick_track([a, b], None) == 1  # no position yet: the highest score
    assert pick_track([a, b], palm_centre(a) + [10.0, 0.0, 0.0]) == 0  # then the nearest palm, whatever its score
    np.testing.assert_allclose(palm_centre(a), far_wall.joints_xyz[list(CANONICAL21.palm)].mean(axis=0), atol=1e-4)
