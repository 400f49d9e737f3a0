"""``depthhand predict`` on a real SR305 frame: the birth threshold (``--min-score``) decides about weak hands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depthhand.cli import main


def test_min_score_keeps_weak_false_detections_out(shared_data: Path, tmp_path: Path) -> None:
    frame = shared_data / "real/sr305-desk/frames/40.png"  # the hand scores 0.76, a torso edge 0.38
    base = ["predict", str(frame), "--intrinsics", "sr305", "--depth-scale", "0.125"]
    hands = {}
    for score, verify in (("0.5", "--no-verify"), ("0.3", "--no-verify"), ("0.3", "--verify")):
        out = tmp_path / f"p{score}{verify}.json"
        assert main([*base, "--min-score", score, verify, "--out", str(out)]) == 0
        hands[score, verify] = json.loads(out.read_text())[0]["hands"]
    assert len(hands["0.5", "--no-verify"]) == 1 and hands["0.5", "--no-verify"][0]["handedness"] == "right"
    weak = hands["0.3", "--no-verify"]
    assert len(weak) == 2
    assert min(h["score"] for h in weak) < 0.5 <= max(h["score"] for h in weak)
    # the pose stage's verification rejects the torso edge: its pose does not explain the depth like a hand's
    (kept,) = hands["0.3", "--verify"]
    assert kept["score"] >= 0.5 and kept["handedness"] == "right"


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


def test_prefetch_keeps_order_and_reports_errors_in_place() -> None:
    import random
    import threading
    import time

    from depthhand.predict import prefetch

    threads: set[str] = set()

    def read(path: str | Path) -> str:
        threads.add(threading.current_thread().name)
        time.sleep(random.Random(str(path)).uniform(0, 0.01))  # finish out of order
        if str(path).endswith("7") or str(path).endswith("3"):
            raise ValueError(f"{path}: bad")
        if str(path) == "f12":
            raise OSError(f"{path}: gone")
        return f"read {path}"

    paths = [f"f{i}" for i in range(20)]
    out = list(prefetch(paths, read, workers=2, ahead=4))
    assert [p for p, _ in out] == paths
    for path, value in out:
        if path in ("f3", "f7", "f13", "f17", "f12"):
            assert isinstance(value, (ValueError, OSError)) and str(value).startswith(path)
        else:
            assert value == f"read {path}"
    assert any(name.startswith("depthhand-read") for name in threads)
    sequential = list(prefetch(paths, read, workers=0))
    assert [(p, str(v)) for p, v in sequential] == [(p, str(v)) for p, v in out]

    def broken(path: str | Path) -> str:
        raise RuntimeError("a bug, not a bad file")

    with pytest.raises(RuntimeError, match="a bug"):
        list(prefetch(paths, broken, workers=2))


def test_folder_with_bad_files_matches_sequential_reading(shared_data: Path, tmp_path: Path) -> None:
    """Prefetching gives the records of one-at-a-time reading, in order; bad files are reported, exit 1."""
    import shutil

    from depthhand.predict import predict_batch

    frames = sorted((shared_data / "real/sr305-desk/frames").glob("*.png"))
    files = []
    for i, frame in enumerate(frames * 2):
        files.append(shutil.copy(frame, tmp_path / f"{i:02d}.png"))
        if i % 5 == 2:
            bad = tmp_path / f"{i:02d}_bad.png"
            bad.write_bytes(b"not a png")
            files.append(bad)
    files.append(tmp_path / "missing.png")
    args = (files, "sr305", "png16", 0.125)
    seq = predict_batch(*args, read_workers=0, pipelines=1, processes=1)
    pre = predict_batch(*args, read_workers=2, pipelines=1, processes=1)
    two = predict_batch(*args, read_workers=2, pipelines=2, processes=1)  # two pipelines in threads
    procs = predict_batch(*args, processes=2)  # two worker processes
    assert (
        [f for f, _ in procs.failures]
        == [f for f, _ in two.failures]
        == [f for f, _ in pre.failures]
        == [f for f, _ in seq.failures]
        == [str(f) for f in files if "bad" in f.name or "missing" in f.name]
    )
    assert [r for _, r in procs.failures] == [r for _, r in seq.failures]  # the same reasons, naming the files
    assert len(pre.records) == len(two.records) == len(procs.records) == len(frames) * 2
    for a, b, c, d in zip(seq.records, pre.records, two.records, procs.records, strict=True):
        a.pop("timings_ms"), b.pop("timings_ms"), c.pop("timings_ms"), d.pop("timings_ms")
        assert a == b == c == d
    assert [r["frame_index"] for r in two.records] == sorted(r["frame_index"] for r in two.records)
    with pytest.raises(ValueError, match="pipelines must be a whole number >= 1, got 0"):
        predict_batch(*args, pipelines=0)
    with pytest.raises(ValueError, match="processes must be a whole number >= 1"):
        predict_batch(*args, processes=0)
    out = tmp_path / "p.json"
    assert (
        main(["predict", *map(str, files), "--intrinsics", "sr305", "--depth-scale", "0.125", "--out", str(out)]) == 1
    )
    assert [r["source"] for r in json.loads(out.read_text())] == [r["source"] for r in seq.records]


def test_startup_and_folder_benchmarks_report_fields() -> None:
    from depthhand.bench.core import run_benchmarks

    startup, folder = run_benchmarks(["startup.predict", "predict.folder"], quick=True)
    assert startup.unit == "s" and startup.value > 0 and startup.details["first_frame_ms"] > 0
    assert startup.details["scipy_optimize_imported"] is False and startup.details["hands"] >= 1
    assert folder.unit == "frames/s" and folder.value > 0 and folder.details["sequential_fps"] > 0
    assert folder.details["prefetch_fps"] > 0 and folder.details["two_pipelines_fps"] > 0
    assert folder.details["records_identical"] is True
    assert folder.details["processes_fps"] > 0 and folder.details["frames"] >= 64  # the command's default: workers
    if folder.details["processes"] > 1:
        assert folder.details["default"] == "processes" and folder.value == folder.details["processes_fps"]


QUICK = r"""
import atexit, sys
atexit.register(lambda: print("ATEXIT", file=sys.stderr))
sys.argv = ["depthhand", *sys.argv[1:]]
from depthhand.cli import entry
entry()
"""


@pytest.mark.parametrize("verb", ["predict", "run"])
def test_the_command_ends_predict_without_the_teardown_and_loses_no_output(
    shared_data: Path, tmp_path: Path, verb: str
) -> None:
    """``entry`` ends the process at once after ``predict`` (issue 20's cold start), with every output flushed."""
    import os
    import subprocess
    import sys

    frame = shared_data / "real/sr305-desk/frames/40.png"
    missing = tmp_path / "missing.png"
    argv = [verb, str(frame), str(missing), "--intrinsics", "sr305", "--depth-scale", "0.125"]
    if verb == "run":  # any other verb: the normal exit
        argv = ["run", "--source", "nosuch://x", "--max-frames", "1"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout buffered, as by default
    run = subprocess.run([sys.executable, "-c", QUICK, *argv], capture_output=True, text=True, timeout=120, env=env)
    if verb == "run":
        assert run.returncode == 1 and "unknown source scheme" in run.stderr and "ATEXIT" in run.stderr
        return
    assert run.returncode == 1, run.stderr  # the missing file
    assert "ATEXIT" not in run.stderr  # ended without the interpreter's teardown
    assert f"error: {missing}" in run.stderr and "1 of 2 image(s) could not be read" in run.stderr
    (record,) = json.loads(run.stdout)  # the whole JSON, flushed before the exit
    assert record["source"] == str(frame) and len(record["hands"]) == 1


def test_long_lists_use_a_process_per_core() -> None:
    from depthhand.predict_workers import AUTO_MIN_IMAGES, auto_processes

    assert auto_processes(AUTO_MIN_IMAGES - 1, cpus=4) == 1
    assert auto_processes(AUTO_MIN_IMAGES, cpus=4) == 4
    assert auto_processes(1000, cpus=1) == 1
    assert auto_processes(1000) >= 1


def test_the_installed_command_runs_a_long_list_in_worker_processes(shared_data: Path, tmp_path: Path) -> None:
    """``depthhand predict`` as installed (its console script, which spawned workers re-import): a long list runs
    in one worker process per core by default and gives the records of ``--processes 1``."""
    import shutil
    import subprocess
    import sys

    from depthhand.predict_workers import AUTO_MIN_IMAGES

    script = Path(sys.executable).parent / "depthhand"
    assert script.is_file(), f"{script}: the package's console script (make install-test installs it)"
    frames = sorted((shared_data / "real/sr305-desk/frames").glob("*.png"))
    files = [str(shutil.copy(frames[i % len(frames)], tmp_path / f"{i:03d}.png")) for i in range(AUTO_MIN_IMAGES)]
    base = [str(script), "predict", *files, "--intrinsics", "sr305", "--depth-scale", "0.125"]
    out = {}
    for name, extra in (("auto", []), ("one", ["--processes", "1"])):
        out[name] = tmp_path / f"{name}.json"
        run = subprocess.run([*base, *extra, "--out", str(out[name])], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
    auto, one = (json.loads(out[n].read_text()) for n in ("auto", "one"))
    for rec in auto + one:
        rec.pop("timings_ms")
    assert auto == one and [r["source"] for r in auto] == files
    argv = [str(script), "predict", files[0], "--intrinsics", "sr305", "--processes", "0"]
    bad = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "processes must be a whole number >= 1" in bad.stderr
