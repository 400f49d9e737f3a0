"""Fixed-batch ONNX Runtime sessions: the same joints as the symbolic-batch graph, one session per batch size."""

from __future__ import annotations

import numpy as np
import pytest

from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
from depthhand.pose.backends import MAX_FIXED_BATCH, OnnxRuntimeBackend, OnnxRuntimeInt8Backend, int8_path


@pytest.mark.parametrize("int8", [False, True])
def test_fixed_batches_give_the_symbolic_graphs_joints(int8: bool, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DEPTHHAND_CACHE_DIR", str(tmp_path))  # and through a fresh cache: entries per batch size
    path = shipped_weights(DEFAULT_POSE_MODEL)
    if int8 and not int8_path(path).is_file():
        pytest.skip("no int8 copy")
    make = OnnxRuntimeInt8Backend if int8 else OnnxRuntimeBackend
    fixed, symbolic = make(path, num_threads=1), make(path, num_threads=1, fixed_batches=False)
    rng = np.random.default_rng(0)
    try:
        for batch in (1, 2, 3, MAX_FIXED_BATCH + 2, 1):
            patches = rng.uniform(-1.0, 1.0, (batch, 1, 96, 96)).astype(np.float32)
            np.testing.assert_allclose(fixed.run(patches), symbolic.run(patches), atol=1e-5, rtol=0)
        shapes = {key: s.get_inputs()[0].shape[0] for key, s in fixed._sessions.items()}
        assert shapes == {1: 1, 2: 2, 3: 3, None: "batch"}  # one fixed session per size seen, symbolic beyond
        assert list(symbolic._sessions) == [None]
        assert (
            len(list((tmp_path / "ort").glob("*.ortcache"))) == 4
        )  # batches 1-3 and the symbolic one (shared by both)
    finally:
        fixed.close()
        symbolic.close()
    with pytest.raises(ValueError, match="closed"):
        fixed.run(np.zeros((2, 1, 96, 96), np.float32))
