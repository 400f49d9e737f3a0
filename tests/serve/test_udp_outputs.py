"""``serve --osc --tuio``: the live server sends OSC and TUIO too, received by real python-osc UDP servers."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ..output.receiver import osc_receiver
from ..output.test_osc import frames_of
from ..output.test_tuio import expected_cursors, tuio_frames
from .conftest import free_port, start_serve, stop
from .test_processes import http_json


def test_serve_sends_osc_and_tuio(tmp_path) -> None:
    pytest.importorskip("pythonosc")
    from depthhand.geometry.plane import plane_to_local
    from depthhand.geometry.projector import apply_homography
    from depthhand.interact.calibration import save_calibration
    from depthhand.synth.calibration_user import scripted_calibration, true_projector_homography

    save_calibration(scripted_calibration(), tmp_path / "calibration.json")  # the server reads it at start
    plane = scripted_calibration().plane
    port = free_port()
    with osc_receiver() as osc, osc_receiver() as tuio:
        args = ["--source", "scripted://demo", "--osc", osc.target, "--tuio", tuio.target]
        proc = start_serve(args, tmp_path, port=port)
        try:
            n = 45  # 1.5 s at 30 fps: the demo's first tap (0.55 .. 1.05 s) lands on the projector image
            frames, cursors = frames_of(osc.wait_for(n)), tuio_frames(tuio.wait_for(n))
            t0 = time.monotonic()  # the status is rewritten every 0.5 s
            while (status := http_json(port, "/api/status"))["outputs"]["osc"][
                "sent"
            ] < n and time.monotonic() < t0 + 5:
                time.sleep(0.1)
        finally:
            stop(proc)
    assert len(frames) >= n and len(cursors) >= n
    for frame in frames:
        assert {h["head"][:2] for h in frame["hands"].values()} == {(1, "right"), (2, "left")}
        for hand in frame["hands"].values():
            joints = hand["joints_mm"].reshape(21, 3)
            want = apply_homography(true_projector_homography(), plane_to_local(joints, plane)[:, :2])
            np.testing.assert_allclose(hand["joints_px"].reshape(21, 2), want, atol=0.01)
    m = min(len(frames), len(cursors))  # the two receivers were read a moment apart
    assert [c["fseq"] for c in cursors[:m]] == list(range(1, m + 1))
    expected = expected_cursors(frames[:m])
    assert [sorted(c["alive"]) for c in cursors[:m]] == [alive for alive, _ in expected]
    assert any(c["alive"] for c in cursors[:m])
    outputs = status["outputs"]
    assert outputs["osc"]["target"] == osc.target and outputs["tuio"]["target"] == tuio.target
    assert outputs["osc"]["sent"] >= n and outputs["osc"]["errors"] == 0 and outputs["tuio"]["unmapped_touches"] == 0
    assert "udp_out" in status["latency_ms"]
