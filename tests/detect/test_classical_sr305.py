"""The classical detector on the real SR305 frames against hand-labelled boxes (the shipped SR305 desk labels).

Thresholds: the detected centre (u, v) must lie inside the labelled box and within 15 px of the labelled centre,
its depth within 25 mm, and the box IoU must be ≥ 0.6 (measured: 0.77–0.96). With ``max_hands=4`` the person's
body, head and the clutter at the right edge must not be reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from depthhand.capture.folder import FolderSource
from depthhand.detect.classical import ClassicalDetector, ClassicalDetectorConfig
from depthhand.evaluate.real_labels import SR305_DESK_LABELS, read_box_labels
from depthhand.geometry.camera import uvd_to_xyz
from depthhand.structures import DepthFrame


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


@pytest.fixture(scope="module")
def labelled(shared_data: Path) -> list[tuple[DepthFrame, dict[str, Any]]]:
    labels = read_box_labels(SR305_DESK_LABELS)
    src = FolderSource(shared_data / "real/sr305-desk/frames", intrinsics="sr305")
    src.open()
    out = []
    for frame, path in zip(src, src.files, strict=True):
        out.append((frame, labels[path.stem]))
    assert len(out) == len(labels) == 11
    return out


@pytest.mark.shared_data
@pytest.mark.parametrize("max_hands", [1, 4])
def test_right_hand_found_in_every_frame(labelled, max_hands: int) -> None:  # type: ignore[no-untyped-def]
    det = ClassicalDetector(ClassicalDetectorConfig(max_hands=max_hands))
    ious = []
    for frame, lab in labelled:
        hands = det.detect(frame)
        assert len(hands) == 1, f"frame {frame.index}: {len(hands)} detections"
        hand = hands[0]
        box = np.asarray(lab["box_xyxy"], np.float64)
        cu, cv, cd = lab["center_uvd"]
        u, v, d = (float(x) for x in hand.center_uvd)
        assert box[0] <= u <= box[2] and box[1] <= v <= box[3], f"frame {frame.index}: centre outside the box"
        assert np.hypot(u - cu, v - cv) <= 15.0, f"frame {frame.index}"
        assert abs(d - cd) <= 25.0, f"frame {frame.index}"
        ious.append(iou(hand.box_xyxy.astype(np.float64), box))
        # the metric centre and the image centre agree (independent float64 back-projection)
        np.testing.assert_allclose(
            uvd_to_xyz(hand.center_uvd.astype(np.float64), frame.intrinsics), hand.center_xyz_mm, atol=0.05
        )
        assert 0.0 < hand.score <= 1.0
    assert min(ious) >= 0.6, ious
    assert float(np.mean(ious)) >= 0.8, ious
