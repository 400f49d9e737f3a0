"""open_stream: one source built once, scene truth alongside, sensor semantics for live sources; scripted://."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from depthhand.capture import sources
from depthhand.capture.live import Backoff
from depthhand.capture.sources import ArraySource, open_source
from depthhand.capture.stream import CapturedFrame, FrameStream, open_stream
from depthhand.capture.synthetic import ScriptedSource
from depthhand.structures import CameraIntrinsics, DepthFrame

K = CameraIntrinsics(100.0, 100.0, 15.5, 11.5, 32, 24)


def frames(n: int) -> list[DepthFrame]:
    return [DepthFrame(np.full((24, 32), 500.0 + i, np.float32), K, index=i) for i in range(n)]


class LiveArray(ArraySource):
    """A finite in-memory 'sensor' (is_live): the stream must reuse the instance it built."""

    is_live = True


def test_live_source_is_built_once_and_reopened_when_its_stream_ends():
    built: list[LiveArray] = []

    def opener(url: str) -> LiveArray:
        built.append(LiveArray(frames(5), url))
        return built[-1]

    stream = FrameStream("fake://live", max_frames=12, opener=opener, backoff=Backoff(initial_s=0.001))
    assert stream.live and stream.kind == "sensor" and len(built) == 1 and stream.state == "starting"
    got = list(stream)
    assert len(got) == 12 and all(isinstance(c, CapturedFrame) and c.truth is None for c in got)
    # the instance built first served the first frames; each time its stream ended, the 'sensor' was reopened
    assert built[0].stats.frames_read == 5 and len(built) >= 3
    status = stream.status()
    assert status["state"] == "ended" and status["ended"] and status["frames"] == 12
    assert status["reconnects"] >= len(built) - 2 and status["errors"] >= status["reconnects"]
    assert "the stream ended" in status["last_error"]
    assert status["dropped"] == stream._reader.stats.frames_dropped  # newest-frame-wins drops, counted


def test_file_sources_give_every_frame_in_order_up_to_max_frames(tmp_path):
    import cv2

    for i in range(6):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.full((24, 32), 4000 + i, np.uint16))
    url = f"folder:{tmp_path}?intrinsics=sr305&scale=0.125"
    intrinsics = '{"fx": 100, "fy": 100, "cx": 15.5, "cy": 11.5, "width": 32, "height": 24}'
    (tmp_path / "intrinsics.json").write_text(intrinsics)
    got = list(open_stream(f"folder:{tmp_path}?scale=0.125", max_frames=4))
    assert [c.frame.index for c in got] == [0, 1, 2, 3]
    np.testing.assert_allclose([c.frame.depth_mm[0, 0] for c in got], [500.0, 500.125, 500.25, 500.375])
    for bad in (0, -1):
        with pytest.raises(ValueError, match="max_frames must be at least 1"):
            open_stream(url, bad)


def test_synthetic_frames_carry_their_own_truth():
    got = list(open_stream("synthetic://topdown?realtime=0&seed=3&hands=1", 3))
    for c in got:
        assert c.truth is not None and c.truth.frame_index == c.frame.index
        assert c.truth.timestamp_us == c.frame.timestamp_us


def test_scripted_sources_join_the_one_grammar():
    src = open_source("scripted://tap?realtime=0&fps=20&noise=0")
    assert isinstance(src, ScriptedSource) and src.poses_from_truth and src.fps == 20.0
    got = list(FrameStream("scripted://tap?realtime=0&fps=20&noise=0", max_frames=25))
    assert len(got) == 25
    touching = 0
    for c in got:
        truth = c.truth
        assert truth is not None and truth.result.frame_index == c.frame.index
        assert c.frame.timestamp_us - got[0].frame.timestamp_us == round(c.frame.index * 1e6 / 20)
        (hand,) = truth.result.hands
        # noise 0: the reported joints are the true ones, and they project where the depth image drew them
        np.testing.assert_allclose(hand.pose.joints_xyz_mm, truth.true_joints_xyz_mm[1], atol=1e-3)
        tip = hand.pose.joints_uvd[8]
        u, v = round(float(tip[0])), round(float(tip[1]))
        assert abs(c.frame.depth_mm[v, u] - tip[2]) < 25.0  # the drawn finger's surface (9 mm spheres along the bones)
        touching += bool(truth.touches)
    assert touching > 0  # the tap script lands the index finger within 1.25 s


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("scripted://juggle", "unknown script 'juggle'"),
        ("scripted://demo?fps=0", "fps must be in"),
        ("scripted://demo?noise=abc", "noise='abc' is not a valid float"),
        ("scripted://demo?color=1", r"unknown parameter\(s\) \['color'\]"),
        ("synthetic://topdown?poses=guess", "poses must be one of"),
        ("scripted", "is now 'scripted://demo'"),
        ("scripted-calibration", "is now 'scripted://calibration'"),
        ("synthetic-truth", r"is now 'synthetic://topdown\?poses=truth'"),
    ],
)
def test_bad_scene_urls_say_what_is_wrong(url, message):
    with pytest.raises(ValueError, match=message):
        open_source(url)


def test_capture_imports_no_synth_and_no_importlib_hops():
    """capture → synth only when a scene is opened; the live path resolves no module by name."""
    code = (
        "import sys, depthhand.capture.stream, depthhand.serve.pipeline; "
        "print(sorted(m for m in sys.modules if m.startswith('depthhand.synth')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    from pathlib import Path

    import depthhand

    root = Path(depthhand.__file__).parent
    live = [*root.glob("capture/*.py"), *root.glob("serve/*.py"), root / "pipeline.py", root / "runner.py"]
    hop = re.compile(r"import_module\(\s*f?[\"']depthhand")  # sensor SDKs (optional extras) are not hops
    offenders = [p.name for p in live if hop.search(p.read_text())]
    assert offenders == []
    assert sources.SCHEMES[:2] == ("synthetic", "scripted")
