"""``run --osc``: what a real python-osc UDP server receives, against the same run's JSONL and the scripted truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from depthhand.output.osc import OscEncoder

from .receiver import Message, osc_receiver

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "depthhand.cli", "run", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def frames_of(packets: list[list[Message]]) -> list[dict[str, Any]]:
    """Each bundle as {frame: args, hands: {slot: {...}}, ended: [...], events: [(type, args)]}; checks the order."""
    frames = []
    for packet in packets:
        (address, args), rest = packet[0], packet[1:]
        assert address == "/depthhand/frame" and len(args) == 3
        frame: dict[str, Any] = {"frame": args, "hands": {}, "ended": [], "events": []}
        for address, args in rest:
            parts = address.split("/")[1:]
            assert parts[0] == "depthhand", address
            if parts[1] == "event":
                frame["events"].append((parts[2], args))
                continue
            assert parts[1] == "hand" and not frame["events"], f"{address} after the events"
            slot = int(parts[2])
            if len(parts) == 3:
                frame["hands"][slot] = {"head": args}
            elif parts[3] == "end":
                frame["ended"].append((slot, args[0]))
            else:
                frame["hands"][slot][parts[3]] = np.asarray(args, np.float64)
        assert len(frame["hands"]) == args_count(frame)
        frames.append(frame)
    return frames


def args_count(frame: dict[str, Any]) -> int:
    return int(frame["frame"][2])


def test_osc_bundles_match_the_jsonl_of_the_same_run(tmp_path: Path) -> None:
    n = 12
    with osc_receiver() as rec:
        run_cli(
            "--source", "synthetic://topdown?realtime=0&seed=3&hands=2", "--max-frames", str(n),
            "--osc", rec.target, "--out", str(tmp_path / "poses.jsonl"), "--summary", str(tmp_path / "s.json"),
        )  # fmt: skip
        packets = rec.wait_for(n)
    lines = (tmp_path / "poses.jsonl").read_text().splitlines()
    header, records = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    frames = frames_of(packets)
    assert len(frames) == len(records) == n
    assert json.loads((tmp_path / "s.json").read_text())["outputs"]["osc"]["sent"] == n
    n_joints = len(header["joint_names"])
    hands_seen = 0
    for frame, record in zip(frames, records, strict=True):
        assert frame["frame"] == (record["frame_index"], record["timestamp_us"], len(record["hands"]))
        assert frame["events"] == []  # no calibration: no table plane, and these hands do not pinch
        by_track = {h["head"][0]: h for h in frame["hands"].values()}
        assert sorted(by_track) == sorted(h["track_id"] for h in record["hands"])
        for hand in record["hands"]:
            got = by_track[hand["track_id"]]
            assert got["head"][1:] == (hand["handedness"], pytest.approx(hand["score"], abs=6e-4), hand["lost_frames"])
            assert got["joints_mm"].shape == (3 * n_joints,) and "joints_px" not in got
            # JSONL: rounded to 0.01 mm; OSC: float32 (≈ 1e-4 mm at 1 m)
            np.testing.assert_allclose(got["joints_mm"].reshape(-1, 3), hand["joints_xyz_mm"], rtol=0, atol=0.0052)
            hands_seen += 1
    assert hands_seen >= n  # the scene has a hand in every frame


def test_slots_are_stable_and_reuse_the_lowest_free_one() -> None:
    enc = OscEncoder()
    assert enc.assign_slots([4, 7]) == ({4: 0, 7: 1}, [])
    assert enc.assign_slots([7, 9]) == ({7: 1, 9: 0}, [(0, 4)])
    assert enc.assign_slots([9, 7, 12]) == ({7: 1, 9: 0, 12: 2}, [])
    assert enc.assign_slots([12]) == ({12: 2}, [(0, 9), (1, 7)])
    assert enc.assign_slots([12, 13]) == ({12: 2, 13: 0}, [])


def test_events_and_projector_joints_with_a_calibration(tmp_path: Path) -> None:
    from depthhand.geometry.plane import plane_to_local
    from depthhand.geometry.projector import apply_homography
    from depthhand.interact.calibration import save_calibration
    from depthhand.synth.calibration_user import PROJECTOR_SIZE, scripted_calibration, true_projector_homography
    from depthhand.synth.scripted import default_scene

    cal = save_calibration(scripted_calibration(), tmp_path / "calibration.json")
    n = 60  # the tap script taps once in its first 1.6 s (48 frames at 30 fps)
    with osc_receiver() as rec:
        run_cli(
            "--source",
            "scripted://tap?realtime=0&fps=30",
            "--max-frames",
            str(n),
            "--osc",
            rec.target,
            "--calibration",
            str(cal),
            "--touch-rule",
            "pose",
        )  # fmt: skip (hover events at the joints, touches at the pose contact)
        frames = frames_of(rec.wait_for(n))
    assert len(frames) == n
    plane, _ = default_scene()
    w, h = PROJECTOR_SIZE
    types = set()
    for frame in frames:
        (hand,) = frame["hands"].values()
        assert hand["head"][:2] == (1, "right")
        joints = hand["joints_mm"].reshape(21, 3)
        want_px = apply_homography(true_projector_homography(), plane_to_local(joints, plane)[:, :2])
        np.testing.assert_allclose(hand["joints_px"].reshape(21, 2), want_px, atol=0.01)
        for etype, args in frame["events"]:
            types.add(etype)
            event_id, contact_id, track_id, finger, t_us, *rest = args
            assert track_id == 1 and finger in ("thumb", "index", "middle", "ring", "pinky")
            assert t_us == frame["frame"][1] and event_id > 0 and contact_id > 0
            assert len(rest) == 8  # x y z height, projector x y, u v
            xyz, height, px, uv = np.array(rest[:3]), rest[3], np.array(rest[4:6]), np.array(rest[6:8])
            local = plane_to_local(xyz, plane)
            if etype in ("touch_down", "touch_move"):  # the pose contact, on the table (interact.position)
                assert local[2] == pytest.approx(0.0, abs=0.01) and height < 18.0  # touch_exit_mm
            else:
                assert height == pytest.approx(local[2], abs=0.01)
            np.testing.assert_allclose(px, apply_homography(true_projector_homography(), local[:2]), atol=0.01)
            np.testing.assert_allclose(uv, px / (w, h), atol=1e-5)
    # all five fingers hover; the index finger taps once
    assert {"hover_enter", "hover_move", "touch_down", "touch_move", "touch_up"} <= types
    downs = [a for f in frames for t, a in f["events"] if t == "touch_down"]
    assert len(downs) == 1 and downs[0][3] == "index"


@pytest.mark.parametrize("text", ["", "a", "abc", "abcd", "left", "unknown", "ünï"])
def test_messages_are_python_osc_bytes(text: str) -> None:
    from pythonosc.osc_message_builder import OscMessageBuilder

    from depthhand.output.osc import floats, message

    values = [-7, 2**40 + 3, 1.1, text, 0.001, -(2**31)]
    builder = OscMessageBuilder("/depthhand/x" + text)
    for tag, value in zip("ihfsfi", values, strict=True):
        builder.add_arg(value, tag)
    assert message("/depthhand/x" + text, "ihfsfi", values) == builder.build().dgram
    joints = np.random.default_rng(0).normal(0, 500, (21, 3))
    builder = OscMessageBuilder("/j")
    for v in joints.ravel():
        builder.add_arg(float(v), "f")
    assert floats("/j", joints) == builder.build().dgram
    with pytest.raises(ValueError, match="2 type tags for 1 values"):
        message("/x", "ii", [1])
    with pytest.raises(ValueError, match="unsupported OSC type tag 'b'"):
        message("/x", "b", [b"12"])


def test_benchmark_runs_and_matches_python_osc() -> None:
    from depthhand.bench.core import run_benchmarks

    (result,) = run_benchmarks(["output.osc"], quick=True)
    d = result.details
    assert d["builder_identical"] is True and d["send_errors"] == 0
    assert 1000 < d["osc_bytes_median"] <= d["osc_bytes_max"] < 8000 and d["events_per_frame"] > 1
    assert result.value > 0 and d["tuio_median_ms"] > 0
