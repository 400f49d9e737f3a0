"""Video mode between detections: followed crops are as accurate, new hands < N frames late, lost crops detect."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from depthhand.commands._pipeline_args import DEFAULT_DETECT_EVERY as CLI_DEFAULT
from depthhand.commands._pipeline_args import DEFAULT_DETECT_EVERY_FULL as CLI_DEFAULT_FULL
from depthhand.evaluate.live import match_hands
from depthhand.pipeline import DEFAULT_DETECT_EVERY, DEFAULT_DETECT_EVERY_FULL, HandPipeline, PipelineOptions
from depthhand.runner import joints_in_view
from depthhand.structures import DepthFrame
from depthhand.synth.live import SyntheticLive
from depthhand.track.finder import OVERLAPS, HandFinder
from depthhand.track.follow import FollowConfig, HandFollower, palm_indices

N = 3


@pytest.fixture(scope="module")
def take() -> list:
    """60 consecutive frames of a live take (seed 5): one hand in view, a second one enters from frame 20 on."""
    live = SyntheticLive(seed=5, max_hands=2)
    return [live.next_frame() for _ in range(60)]


def _countable(truth, frame) -> np.ndarray:
    return joints_in_view(truth.joints_uvd, frame).reshape(-1, 21).mean(axis=1) >= 0.5


def _run(
    take: list,
    detect_every: int,
    mode: str = "video",
    overlap: str = "off",
    max_hands: int = 2,
    full: int | None = -1,
    verify_full: bool = False,
) -> tuple[list, list[bool], HandPipeline]:
    """Per frame: the fresh tracked hands' mean joint error against each countable true hand, and detector runs.

    ``full`` is ``detect_every_full`` (-1: ``detect_every``, so that the period does not change with the hands);
    ``verify_full`` off by default, so that every frame due by the schedule detects.
    """
    errors, detected = [], []
    opts = PipelineOptions(
        max_hands=max_hands,
        num_threads=1,
        detect_every=detect_every,
        detect_every_full=detect_every if full == -1 else full,
        mode=mode,
        detect_overlap=overlap,
        verify_full=verify_full,
    )
    with HandPipeline(opts) as pipe:
        for frame, truth in take:
            before = pipe.detections
            hands = [h for h in pipe.process(frame).hands if h.lost_frames == 0]
            detected.append(pipe.detections > before)
            keep = _countable(truth, frame)
            pred = np.array([h.pose.joints_xyz_mm for h in hands]).reshape(-1, 21, 3)
            true = truth.joints_xyz_mm[keep]
            pairs = match_hands(pred.mean(axis=1), true.mean(axis=1), 100.0)
            errors.append([float(np.linalg.norm(pred[p] - true[t], axis=1).mean()) for p, t in pairs])
    return errors, detected, pipe


def test_followed_crops_are_as_accurate_as_detections(take: list) -> None:
    every1, det1, _ = _run(take, 1)
    every3, det3, _ = _run(take, N)
    assert all(det1) and 0.25 <= np.mean(det3) <= 0.6  # every frame vs about one in N (plus lost crops)
    followed = [i for i, d in enumerate(det3) if not d]
    # the same hands are found on the followed frames, bar the second hand entering: it may be found up to N - 1
    # frames later (the documented cost of following; the take has one entering hand)...
    assert sum(len(every3[i]) for i in followed) >= sum(len(every1[i]) for i in followed) - (N - 1)
    # ...as close to the source's truth as the detector's crops put them (8 mm is the model's held-out error)
    e1 = np.mean([e for i in followed for e in every1[i]])
    e3 = np.mean([e for i in followed for e in every3[i]])
    assert e3 <= e1 + 1.0 and e3 < 15.0, (e1, e3)


def test_entering_hand_is_found_within_n_frames(take: list) -> None:
    def first_two(errors: list) -> int:
        return next(i for i, e in enumerate(errors) if len(e) == 2)

    every1, _, _ = _run(take, 1)
    every3, det3, _ = _run(take, N)
    f1, f3 = first_two(every1), first_two(every3)
    assert f1 > 20  # the second hand does enter in this take, while the first one is followed
    assert not all(det3[f1 - N : f1])
    assert f1 <= f3 <= f1 + N - 1, (f1, f3)


def test_lost_crop_detects_at_once(take: list) -> None:
    """A hand that vanishes (the frame becomes a bare wall beyond the cube) makes the pipeline detect on that frame."""
    with HandPipeline(PipelineOptions(max_hands=2, num_threads=1, detect_every=100)) as pipe:
        for frame, _ in take[:4]:
            pipe.process(frame)
        assert pipe.detections == 1  # frames 1-3 followed
        wall = DepthFrame(np.full_like(take[4][0].depth_mm, 1500.0), take[4][0].intrinsics, take[4][0].timestamp_us)
        result = pipe.process(wall)
        assert pipe.detections == 2 and "crop holds depth" in pipe.last_lost
        assert [h for h in result.hands if h.lost_frames == 0] == []
        # back to the scene: followed again only after the detector has found the hand again
        pipe.process(take[5][0])
        assert pipe.detections == 3 and pipe.last_lost == ""
        pipe.process(take[6][0])
        assert pipe.detections == 3


def test_hand_leaving_the_image_is_lost() -> None:
    """Joints outside the image: a followed hand mostly beyond the edge counts as lost."""
    from depthhand.skeleton import CANONICAL21
    from depthhand.structures import HandBox, HandPose

    follower = HandFollower(CANONICAL21, 250.0, FollowConfig())
    xyz = np.zeros((21, 3), np.float32) + [0.0, 0.0, 600.0]
    visible = np.arange(21) < 8  # 8 of 21 joints in view
    pose = HandPose(xyz, xyz.copy(), CANONICAL21, visible=visible)
    box = HandBox(np.zeros(3, np.float32), xyz[0].copy(), np.zeros(4, np.float32))
    patch = np.zeros((1, 96, 96), np.float32)
    assert "joints in the image" in follower.lost([pose], patch[None], [box])
    inside = HandPose(xyz, xyz.copy(), CANONICAL21)
    assert follower.lost([inside], patch[None], [box]) == ""
    shifted = HandBox(np.zeros(3, np.float32), xyz[0] + [35.0, 0, 0], np.zeros(4, np.float32))
    assert "from the crop centre" in follower.lost([inside], patch[None], [shifted])
    assert palm_indices(CANONICAL21) == [0, 5, 9, 13, 17]


def test_image_mode_never_follows(take: list) -> None:
    _, detected, pipe = _run(take[:6], N, mode="image")
    assert all(detected) and pipe.detections == 6
    _, detected, _ = _run(take[:6], 1)
    assert all(detected)


def test_every_slot_taken_detects_every_full_period(take: list) -> None:
    """One hand in view (frames 0-19): with max_hands 1 it fills every slot, so the long period applies."""
    _, full, _ = _run(take[:20], N, max_hands=1, full=10)
    _, short, _ = _run(take[:20], N, max_hands=2, full=10)  # a slot is free: a new hand may come, every N
    assert full[0] and short[0]
    assert full[10] and sum(full) <= 3, [i for i, d in enumerate(full) if d]  # frames 0 and 10 (+ a lost crop)
    assert sum(short) >= 20 // N, [i for i, d in enumerate(short) if d]
    # the followed frames find the hand as the every-N schedule does
    errors_full, _, _ = _run(take[:20], N, max_hands=1, full=10)
    errors_n, _, _ = _run(take[:20], N, max_hands=1)
    assert [len(e) for e in errors_full] == [len(e) for e in errors_n]
    assert np.mean([e for f in errors_full for e in f]) <= np.mean([e for f in errors_n for e in f]) + 1.0


def test_full_period_resolves_its_default() -> None:
    assert CLI_DEFAULT_FULL == DEFAULT_DETECT_EVERY_FULL
    assert PipelineOptions().full_period == DEFAULT_DETECT_EVERY_FULL > DEFAULT_DETECT_EVERY
    assert PipelineOptions(detect_every=1).full_period == 1  # every frame means every frame
    assert PipelineOptions(detect_every=40).full_period == 40  # never shorter than the period with a slot free
    assert PipelineOptions(detect_every=1, detect_every_full=5).full_period == 5
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="detect_every_full"):
            PipelineOptions(detect_every_full=bad)  # type: ignore[arg-type]


def test_detect_every_is_checked_and_the_cli_default_agrees() -> None:
    assert CLI_DEFAULT == DEFAULT_DETECT_EVERY == PipelineOptions().detect_every
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="detect_every"):
            PipelineOptions(detect_every=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_visible"):
        FollowConfig(min_visible=2.0)


def test_cli_detect_every() -> None:
    import argparse

    from depthhand.commands._pipeline_args import add_pipeline_arguments, pipeline_options

    parser = argparse.ArgumentParser()
    add_pipeline_arguments(parser)
    assert pipeline_options(parser.parse_args([])).detect_every == DEFAULT_DETECT_EVERY
    assert pipeline_options(parser.parse_args(["--detect-every", "1"])).detect_every == 1
    with pytest.raises(ValueError, match="--detect-every must be at least 1"):
        pipeline_options(parser.parse_args(["--detect-every", "0"]))
    assert pipeline_options(parser.parse_args([])).full_period == DEFAULT_DETECT_EVERY_FULL
    assert pipeline_options(parser.parse_args(["--detect-every-full", "7"])).full_period == 7
    with pytest.raises(ValueError, match="--detect-every-full must be at least 1"):
        pipeline_options(parser.parse_args(["--detect-every-full", "0"]))


def test_cli_detect_overlap_offers_every_overlap() -> None:
    import argparse

    from depthhand.commands._pipeline_args import add_pipeline_arguments, pipeline_options

    parser = argparse.ArgumentParser()
    add_pipeline_arguments(parser)
    assert pipeline_options(parser.parse_args([])).detect_overlap == PipelineOptions().detect_overlap
    for overlap in OVERLAPS:
        assert pipeline_options(parser.parse_args(["--detect-overlap", overlap])).detect_overlap == overlap
    with pytest.raises(SystemExit):
        parser.parse_args(["--detect-overlap", "sideways"])


@pytest.mark.parametrize("overlap", ["beside", "after"])
def test_detecting_in_the_worker_finds_the_same_hands(
    take: list, overlap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``detect_overlap``: the detector runs in its thread (on this frame, or on the previous one once its result is
    out); about as many detector runs, the same hands and errors as serial (the entering hand up to a frame later)."""
    started: list[int] = []
    submit = HandFinder._submit

    def counted(self: HandFinder, frame: DepthFrame):  # type: ignore[no-untyped-def]
        started.append(frame.index)
        return submit(self, frame)

    monkeypatch.setattr(HandFinder, "_submit", counted)  # the real method, counted
    e_serial, d_serial, _ = _run(take, N)
    assert started == []
    e_conc, d_conc, pipe = _run(take, N, overlap=overlap)
    assert started and pipe.finder._worker is None  # closed with the pipeline
    if overlap == "after":  # each run in the worker is on the frame before the one that uses it
        used = [i for i, d in enumerate(d_conc) if d]
        assert set(started) - {len(take) - 1} <= {i - 1 for i in used}, (started, used)  # the last: no next frame
    assert 0.25 <= np.mean(d_conc) <= 0.6 and abs(sum(d_conc) - sum(d_serial)) <= 2
    assert abs(sum(map(len, e_conc)) - sum(map(len, e_serial))) <= N
    mean_serial = np.mean([e for f in e_serial for e in f])
    mean_conc = np.mean([e for f in e_conc for e in f])
    assert mean_conc <= mean_serial + 1.0 and mean_conc < 15.0, (mean_serial, mean_conc)


def test_an_unknown_overlap_is_refused() -> None:
    with pytest.raises(ValueError, match="detect_overlap must be one of"):
        PipelineOptions(detect_overlap="sideways")


def test_after_drops_a_queued_detection_when_the_crop_is_lost(take: list) -> None:
    """``"after"``: a lost crop needs the detector on the frame itself, so the previous frame's detection, still
    queued in the worker, is cancelled instead of waited for (it would be thrown away)."""
    from concurrent.futures import ThreadPoolExecutor

    gate = threading.Event()
    ran: list[int] = []
    opts = PipelineOptions(max_hands=2, num_threads=1, detect_every=2, detect_overlap="after")
    with HandPipeline(opts) as pipe:
        detect = pipe.finder.detector.detect

        def counted(frame: DepthFrame) -> list:
            ran.append(frame.index)
            return detect(frame)

        pipe.finder.detector.detect = counted  # type: ignore[method-assign]
        pipe.finder._worker = ThreadPoolExecutor(max_workers=1)
        pipe.finder._worker.submit(gate.wait, 20.0)  # the worker is busy: the next submission queues
        releaser = threading.Timer(5.0, gate.set)  # old behaviour: wait for the gate, then run the queued detection
        releaser.start()
        try:
            pipe.process(take[0][0])  # no track yet: the detector on the frame itself
            pipe.process(take[1][0])  # followed; "after" queues the detector on this frame for the next one
            assert pipe.finder._pending is not None
            first = take[2][0]
            wall = DepthFrame(np.full_like(first.depth_mm, 1500.0), first.intrinsics, first.timestamp_us, index=999)
            pipe.process(wall)
            assert "crop holds depth" in pipe.last_lost
            assert not gate.is_set(), "the lost frame waited for the queued detection"
        finally:
            gate.set()
            releaser.cancel()
    assert ran == [take[0][0].index, 999], ran  # frame 1's detection never ran


def test_verify_full_verifies_the_followed_hand_instead_of_detecting(take: list) -> None:
    """Every slot taken: with ``verify_full`` the frames due by the full period verify the followed hand instead."""
    opts = PipelineOptions(max_hands=1, num_threads=1, detect_every=N, detect_every_full=5, verify_full=True)
    with HandPipeline(opts) as pipe:
        results = [pipe.process(frame) for frame, _ in take[:16]]
        detections, verifications = pipe.detections, pipe.finder.verifications
    with HandPipeline(dataclasses.replace(opts, verify_full=False)) as pipe:
        plain = [pipe.process(frame) for frame, _ in take[:16]]
        plain_detections = pipe.detections
    verified = [i for i, r in enumerate(results) if "verify" in r.timings_ms]
    assert plain_detections == 4 and [i for i, r in enumerate(plain) if "verify" in r.timings_ms] == [0, 5, 10, 15]
    assert detections == 1 and verifications == 3 and verified == [0, 5, 10, 15]
    assert all(len(r.hands) == 1 and r.hands[0].lost_frames == 0 for r in results)
    ids = {r.hands[0].track_id for r in results}
    assert len(ids) == 1  # the same hand throughout
    a = np.array([r.hands[0].pose.joints_xyz_mm for r in results])
    b = np.array([r.hands[0].pose.joints_xyz_mm for r in plain])
    assert float(np.linalg.norm(a - b, axis=-1).mean()) < 3.0  # re-centred less often, still the same hand


def test_two_followed_crops_on_one_hand_detect(take: list) -> None:
    """Two followed poses whose palms meet are one hand seen twice: the finder gives them up for a detection."""
    with HandPipeline(PipelineOptions(max_hands=2, num_threads=1)) as pipe:
        result = pipe.process(take[0][0])
        pose = result.hands[0].pose
        assert pipe.finder._one_hand_twice([pose]) == ""
        assert pipe.finder._one_hand_twice([pose, pose]) == "two crops on one hand"
        moved = dataclasses.replace(pose, joints_xyz_mm=pose.joints_xyz_mm + np.float32([60.0, 0.0, 0.0]))
        assert pipe.finder._one_hand_twice([pose, moved]) == ""
