"""``--pose-backend auto``: the selection rule with injected CPU flags, and what it picks on this machine."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from depthhand.pipeline import DEFAULT_POSE_MODEL, shipped_weights
from depthhand.pose import backends
from depthhand.pose.backends import BACKENDS, int8_path, int8_status, open_backend, resolve_backend
from depthhand.pose.cpu_features import cpu_has_bf16, cpu_has_vnni, cpu_runs_int8, openvino_installed
from depthhand.pose.estimator import PoseEstimator, PoseEstimatorOptions

CPUINFO = (
    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f avx512bw {extra}\nbugs\t\t: {bugs}\n"
)
OLD_CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 sse4_1 sse4_2 avx {extra}\n"
"""A CPU without AVX2 (``extra``: more flags)."""


@pytest.mark.parametrize(
    ("extra", "bugs", "expected"),
    [
        ("avx512_bf16", "", True),
        ("amx_bf16 amx_tile", "", True),
        ("avx512_vnni", "", False),
        ("avx512_bf16x", "", False),  # a longer flag is not the flag
        ("", "avx512_bf16", False),  # only the flags line counts
    ],
)
def test_bf16_from_the_cpuinfo_flags(extra: str, bugs: str, expected: bool) -> None:
    assert cpu_has_bf16(CPUINFO.format(extra=extra, bugs=bugs)) is expected


def test_bf16_from_openvino_where_there_is_no_cpuinfo() -> None:
    assert cpu_has_bf16("", ["FP32", "BF16", "INT8"]) is True
    assert cpu_has_bf16("", ["FP32", "FP16", "INT8"]) is False


@pytest.mark.parametrize(
    ("has_openvino", "has_bf16", "expected"),
    [
        (True, True, "openvino-bf16"),
        (True, False, "onnxruntime"),
        (False, True, "onnxruntime"),
        (False, False, "onnxruntime"),
    ],
)
def test_auto_picks_openvino_bf16_only_with_both(has_openvino: bool, has_bf16: bool, expected: str) -> None:
    assert resolve_backend("auto", has_openvino=has_openvino, has_bf16=has_bf16) == expected


def test_named_backends_resolve_to_themselves() -> None:
    for name in BACKENDS[1:]:
        assert resolve_backend(name, has_openvino=False, has_bf16=False) == name
    with pytest.raises(ValueError, match="unknown pose backend 'tensorrt'; expected one of auto, onnxruntime"):
        resolve_backend("tensorrt")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [("avx512_vnni", True), ("avx_vnni", True), ("amx_int8 amx_tile", True), ("avx512_vnnix", False), ("", False)],
)
def test_vnni_from_the_cpuinfo_flags(extra: str, expected: bool) -> None:
    assert cpu_has_vnni(CPUINFO.format(extra=extra, bugs="")) is expected
    assert cpu_has_vnni("") is False  # no /proc/cpuinfo: no evidence


@pytest.mark.parametrize(
    ("extra", "expected"),
    [("avx2", True), ("avx_vnni", True), ("avx512_vnni", True), ("avx2x", False), ("", False)],
)
def test_int8_runs_on_vnni_or_avx2_cpus(extra: str, expected: bool) -> None:
    assert cpu_runs_int8(OLD_CPUINFO.format(extra=extra)) is expected
    assert cpu_runs_int8(CPUINFO.format(extra="", bugs="")) is True  # AVX2, no VNNI (a Zen 3 EPYC, say)
    assert cpu_has_vnni(CPUINFO.format(extra="", bugs="")) is False
    assert cpu_runs_int8("") is False  # no /proc/cpuinfo: no evidence


@pytest.mark.parametrize(
    ("has_int8", "int8_cpu", "has_openvino", "expected"),
    [
        (True, True, True, "onnxruntime-int8"),  # int8 first
        (True, False, True, "openvino-bf16"),  # neither VNNI nor AVX2: the next choice
        (False, True, True, "openvino-bf16"),
        (True, False, False, "onnxruntime"),
        (False, False, False, "onnxruntime"),
    ],
)
def test_auto_prefers_the_int8_copy_where_the_cpu_runs_it(
    has_int8: bool, int8_cpu: bool, has_openvino: bool, expected: str
) -> None:
    got = resolve_backend("auto", has_int8=has_int8, int8_cpu=int8_cpu, has_openvino=has_openvino, has_bf16=True)
    assert got == expected


def test_the_shipped_int8_copy_is_current() -> None:
    """Retrained fp32 weights without a fresh `depthhand quantize` fail here (auto would fall back to fp32)."""
    path = shipped_weights(DEFAULT_POSE_MODEL)
    assert int8_path(path).name == "depthhand_fast.int8.onnx"
    assert int8_status(path) is None


def _stale_copy(tmp_path: Path) -> Path:
    """A loadable fp32 model beside the shipped int8 copy, but with other bytes than the copy was made from."""
    import onnx

    src = shipped_weights(DEFAULT_POSE_MODEL)
    proto = onnx.load(str(src))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "test.changed", "1"
    fp32 = tmp_path / "model.onnx"
    onnx.save(proto, str(fp32))
    shutil.copy(int8_path(src), int8_path(fp32))
    return fp32


def test_a_stale_int8_copy_is_refused_by_name_and_skipped_by_auto(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fp32 = _stale_copy(tmp_path)
    assert "stale" in (int8_status(fp32) or "")
    with pytest.raises(ValueError, match=r"model\.int8\.onnx was made from other weights .*depthhand quantize"):
        open_backend(fp32, "onnxruntime-int8")
    monkeypatch.setattr(backends, "cpu_runs_int8", lambda cpuinfo=None: True)  # so that auto tries the copy anywhere
    assert resolve_backend("auto", path=fp32) == "onnxruntime-int8"
    with pytest.warns(RuntimeWarning, match="stale"):
        backend = open_backend(fp32, "auto", num_threads=1)
    assert backend.name == "onnxruntime"


def test_a_missing_int8_copy_names_the_command(tmp_path: Path) -> None:
    fp32 = tmp_path / "model.onnx"
    shutil.copy(shipped_weights(DEFAULT_POSE_MODEL), fp32)
    with pytest.raises(FileNotFoundError, match=r"has no int8 copy .*depthhand quantize"):
        open_backend(fp32, "onnxruntime-int8")
    assert resolve_backend("auto", path=fp32, int8_cpu=True, has_openvino=False) == "onnxruntime"


def test_auto_on_this_machine() -> None:
    """Auto runs the int8 copy on a VNNI or AVX2 CPU (else bf16 / fp32), and the mean error stays within 0.1 mm."""
    from depthhand.evaluate.drift import backend_drift
    from depthhand.synth.crops import generate_crops

    path = shipped_weights(DEFAULT_POSE_MODEL)
    patches = generate_crops(8, np.random.default_rng(11), "topdown")[0][:, None]
    with (
        PoseEstimator(PoseEstimatorOptions(path, "auto", num_threads=1)) as auto,
        PoseEstimator(PoseEstimatorOptions(path, "onnxruntime", num_threads=1)) as ort,
    ):
        a, b = auto.run_network(patches), ort.run_network(patches)
        chosen = auto._backend
    if cpu_runs_int8():
        expected = "onnxruntime-int8"
    elif openvino_installed() and cpu_has_bf16():
        expected = "openvino-bf16"
    else:
        assert auto.backend == "onnxruntime"
        np.testing.assert_array_equal(a, b)
        return
    assert auto.backend == expected and chosen is not None and chosen.name == expected
    assert float(np.abs(a - b).max()) > 1e-5  # really another arithmetic, not ONNX Runtime fp32 again
    drift = backend_drift("auto", 64, scenes=("topdown",))["topdown"]  # the card's first held-out crops
    assert drift["frames"] > 40 and drift["ref_mean_mm"] > 2.0  # a real error to drift from
    assert abs(drift["error_change_mm"]) <= 0.1
    assert 0.0 < drift["mean_shift_mm"] < 1.5


def test_the_fingerprint_tells_retrained_weights_from_the_same(tmp_path: Path) -> None:
    """Retraining rewrites every block of weights: changing 1 byte in every 64 KiB changes the fingerprint."""
    src = shipped_weights(DEFAULT_POSE_MODEL).read_bytes()
    base = backends.model_fingerprint(shipped_weights(DEFAULT_POSE_MODEL))
    f = tmp_path / "m.onnx"
    f.write_bytes(src)
    assert backends.model_fingerprint(f) == base  # the bytes, not the path or the time
    b = bytearray(src)
    for pos in range(1000, len(src), 65536):
        b[pos] ^= 0xFF
    f.write_bytes(bytes(b))
    assert backends.model_fingerprint(f) != base
    f.write_bytes(src[:-1])
    assert backends.model_fingerprint(f) != base  # the size is part of it


def test_prepare_opens_every_batch_session_the_live_pipeline_needs() -> None:
    """Video mode opens the pose sessions of 1..max_hands hands up front (no 10–50 ms load on the frame a second
    hand appears); image mode (``predict``, where start-up counts) keeps opening them on first use."""
    from depthhand.pipeline import HandPipeline, PipelineOptions

    with HandPipeline(PipelineOptions(max_hands=3, num_threads=1, pose_backend="onnxruntime")) as pipe:
        assert sorted(pipe.estimator._backend._sessions) == [1, 2, 3]  # type: ignore[union-attr]
    with HandPipeline(PipelineOptions(max_hands=3, num_threads=1, mode="image", pose_backend="onnxruntime")) as pipe:
        assert sorted(pipe.estimator._backend._sessions) == [1]  # type: ignore[union-attr]
