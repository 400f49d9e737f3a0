"""The projector page's scripted user touches the table where its gestures say, through the true homography."""

from __future__ import annotations

import numpy as np

from depthhand.capture.sources import open_source
from depthhand.geometry.plane import plane_to_local
from depthhand.geometry.projector import apply_homography
from depthhand.skeleton import Finger
from depthhand.synth.calibration_user import PROJECTOR_SIZE, true_projector_homography
from depthhand.synth.projector_user import (
    BUTTON_SIZE_PX,
    BUTTONS,
    PAINT_CYCLE,
    START_S,
    button_center_px,
    cycle_duration_s,
    paint_script,
)
from depthhand.synth.scripted import default_scene, scripted_frames


def _contacts(fps: float, duration_s: float, start_s: float) -> list[np.ndarray]:
    plane, intrinsics = default_scene()
    h = true_projector_homography()
    out: list[list[np.ndarray]] = []
    was = False
    for tf in scripted_frames(paint_script(start_s=start_s), plane, intrinsics, fps=fps, duration_s=duration_s):
        foot = tf.touches.get((1, Finger.INDEX))
        if foot is not None:
            if not was:
                out.append([])
            out[-1].append(apply_homography(h, plane_to_local(np.asarray(foot), plane)[:2]))
        was = foot is not None
        assert set(tf.touches) <= {(1, Finger.INDEX)}  # only the index finger ever touches
    return [np.array(c) for c in out]


def test_each_gesture_is_one_contact_at_its_projector_pixels():
    contacts = _contacts(30.0, cycle_duration_s(), start_s=0.0)
    assert len(contacts) == len(PAINT_CYCLE)
    for g, c in zip(PAINT_CYCLE, contacts, strict=True):
        assert len(c) >= 6, g.label  # ≥ 0.2 s on the table at 30 frames/s
        np.testing.assert_allclose(c[0], g.start_px, atol=1e-6)
        np.testing.assert_allclose(c[-1], g.end_px, atol=1e-6)
        if g.is_drag:  # a straight slide in projector pixels
            d = (np.asarray(g.end_px) - g.start_px) / np.linalg.norm(np.asarray(g.end_px) - g.start_px)
            np.testing.assert_allclose((c - g.start_px) @ [-d[1], d[0]], 0.0, atol=1e-6)
        assert (c >= 0).all() and (c < PROJECTOR_SIZE).all()


def test_buttons_lie_on_the_projector_image_and_presses_hit_their_centres():
    w, h = BUTTON_SIZE_PX
    for name in BUTTONS:
        x, y = button_center_px(name)
        assert w / 2 <= x <= PROJECTOR_SIZE[0] - w / 2 and h / 2 <= y <= PROJECTOR_SIZE[1] - h / 2
    pressed = [g.label.split(":")[1] for g in PAINT_CYCLE if g.label.startswith("button:")]
    assert pressed == ["clear", "green", "erase", "erase"]


def test_the_user_hovers_until_start_then_repeats_the_cycle():
    period = cycle_duration_s()
    assert not _contacts(30.0, START_S, start_s=START_S)  # nothing touches before the start
    first, second = _contacts(30.0, 2 * period, start_s=0.0)[:: len(PAINT_CYCLE)][:2]
    np.testing.assert_allclose(first[0], second[0], atol=1e-6)


def test_scripted_paint_source_gives_frames_with_the_scripts_truth():
    with open_source("scripted://paint?realtime=0") as src:
        frame = src.read()
        assert frame is not None and frame.depth_mm.shape == (120, 160)
        truth = src.truth_for(frame.index)
    assert truth is not None and not truth.touches  # hovering before START_S
