"""ONNX Runtime session options: own pools by default, one shared pool per process once enabled (in a subprocess:
the global pool is a one-way switch that would bind every later session of the test process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnxruntime as ort

from depthhand import runtime

SRC = str(Path(__file__).resolve().parents[1] / "src")

CHILD = r"""
import json, numpy as np, onnxruntime as ort
from depthhand import runtime
from depthhand.pipeline import HandPipeline, PipelineOptions, shipped_weights

path = str(shipped_weights("detector.onnx"))
own = ort.InferenceSession(path, runtime.ort_session_options(2), providers=["CPUExecutionProvider"])
with HandPipeline(PipelineOptions(num_threads=2, detector="cnn", shared_thread_pool=True)) as pipe:
    pose = pipe.estimator._backend.session.get_session_options()
    det = pipe.detector._session.get_session_options()
    later = runtime.ort_session_options(1, allow_spinning=True)
    shared = ort.InferenceSession(path, later, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(0, 1, [d if isinstance(d, int) else 1 for d in own.get_inputs()[0].shape])
    feed = {own.get_inputs()[0].name: x.astype(np.float32)}
    diff = max(float(np.abs(a - b).max()) for a, b in zip(own.run(None, feed), shared.run(None, feed)))
    try:
        ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        raw = "accepted"
    except Exception as exc:
        raw = str(exc)
print(json.dumps({
    "pool": runtime.global_pool_threads(), "pose": pose.use_per_session_threads, "det": det.use_per_session_threads,
    "later": later.use_per_session_threads, "stop": later.get_session_config_entry("session.force_spinning_stop"),
    "diff": diff, "raw": raw, "again": runtime.enable_shared_pool(1),
}))
"""


def test_own_pools_until_the_shared_pool_is_enabled() -> None:
    if runtime.global_pool_threads() is not None:  # some other code in this process enabled it
        return
    opts = runtime.ort_session_options(3, allow_spinning=True)
    assert opts.use_per_session_threads is True and opts.intra_op_num_threads == 3 and opts.inter_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert runtime.ort_session_options(1).get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert isinstance(opts, ort.SessionOptions)


def test_shared_pool_binds_both_networks_and_every_later_session() -> None:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["pool"] == 2 and info["again"] == 2  # one size per process: the first caller's
    assert info["pose"] is False and info["det"] is False  # both networks on the shared pool
    assert info["later"] is False and info["stop"] == "1"  # later sessions join it, spinning stopped after runs
    assert info["diff"] <= 1e-5  # the same numbers as on a pool of its own (made before the switch)
    assert "use_per_session_threads must be false" in info["raw"]  # why the switch is opt-in
