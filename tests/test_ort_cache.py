"""The cache of ONNX Runtime's optimised graphs (depthhand.ort_cache): same outputs, safe against bad entries."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from depthhand import ort_cache
from depthhand.pipeline import shipped_weights
from depthhand.runtime import ort_session_options

MODELS = ("depthhand_fast.int8.onnx", "detector.onnx")


def _options() -> Any:
    return ort_session_options(2)


def _feed(sess: Any, seed: int = 0) -> dict[str, np.ndarray]:
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 2 for d in inp.shape]  # a batch of 2
    return {inp.name: np.random.default_rng(seed).uniform(0, 1, shape).astype(np.float32)}


def _plain(path: Path) -> Any:
    return ort.InferenceSession(str(path), _options(), providers=["CPUExecutionProvider"])


def _from_cache(sess: Any) -> bool:
    """Whether ``sess`` was opened from a cache entry (those sessions skip the graph optimisation)."""
    level = sess.get_session_options().graph_optimization_level
    return bool(level == ort.GraphOptimizationLevel.ORT_DISABLE_ALL)


def _same_outputs(a: Any, b: Any) -> None:
    feed = _feed(a)
    for x, y in zip(a.run(None, feed), b.run(None, feed), strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_cached_session_gives_the_outputs_of_the_uncached_one(name: str, tmp_path: Path) -> None:
    model = shipped_weights(name)
    plain = _plain(model)
    first = ort_cache.cached_session(model, _options, folder=tmp_path)  # writes the entry, then opens it
    entry = ort_cache.entry_path(model, tmp_path)
    assert entry is not None and entry.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [entry.name]  # no temporary file left
    second = ort_cache.cached_session(model, _options, folder=tmp_path)
    assert _from_cache(first) and _from_cache(second) and not _from_cache(plain)
    _same_outputs(plain, first)
    _same_outputs(plain, second)
    assert second.get_modelmeta().custom_metadata_map == plain.get_modelmeta().custom_metadata_map


@pytest.mark.parametrize("damage", ["truncate", "flip", "other_format", "unloadable"])
def test_a_bad_entry_is_ignored_logged_and_rewritten(
    damage: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = shipped_weights("detector.onnx")
    ort_cache.cached_session(model, _options, folder=tmp_path)
    entry = ort_cache.entry_path(model, tmp_path)
    assert entry is not None
    good = entry.read_bytes()
    assert ort_cache._read_entry(entry) is not None
    if damage == "truncate":
        entry.write_bytes(good[: len(good) // 2])
    elif damage == "flip":  # one byte of the model: the hash catches it
        bad = bytearray(good)
        bad[-1000] ^= 0x55
        entry.write_bytes(bytes(bad))
    elif damage == "other_format":
        entry.write_bytes(good.replace(ort_cache.MAGIC, b"depthhand-ort-cache 0\n", 1))
    else:  # a well-formed entry whose model ONNX Runtime refuses
        junk = b"not an onnx model" * 100
        entry.write_bytes(ort_cache.MAGIC + hashlib.sha256(junk).digest() + junk)
    damaged = entry.read_bytes()
    if damage != "unloadable":
        assert ort_cache._read_entry(entry) is None  # which removes it
        entry.write_bytes(damaged)
    with caplog.at_level(logging.WARNING, logger="depthhand.ort_cache"):
        sess = ort_cache.cached_session(model, _options, folder=tmp_path)
    assert any(str(entry) in r.getMessage() and "rewriting" in r.getMessage() for r in caplog.records)
    _same_outputs(_plain(model), sess)
    assert _from_cache(sess)
    assert entry.read_bytes() != damaged and ort_cache._read_entry(entry) is not None  # rewritten


def _retrained(src: Path, dst: Path) -> None:
    """``src`` with its largest weight tensor scaled by 1.01: the same size, other weights."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(src))
    big = max(proto.graph.initializer, key=lambda t: len(t.raw_data))
    big.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(big) * np.float32(1.01), big.name))
    onnx.save(proto, str(dst))


def test_a_changed_model_gets_a_new_entry_and_the_stale_one_goes(tmp_path: Path) -> None:
    model, folder = tmp_path / "model.onnx", tmp_path / "cache"
    shutil.copy(shipped_weights("detector.onnx"), model)
    before = model.stat()
    old = ort_cache.cached_session(model, _options, folder=folder)
    stale = ort_cache.entry_path(model, folder)
    _retrained(shipped_weights("detector.onnx"), model)  # retrained in place...
    os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))  # ...even keeping size and modification time
    assert model.stat().st_size == before.st_size and model.stat().st_mtime_ns == before.st_mtime_ns
    fresh = ort_cache.entry_path(model, folder)
    assert stale is not None and fresh is not None and fresh != stale
    sess = ort_cache.cached_session(model, _options, folder=folder)
    assert _from_cache(sess)
    _same_outputs(_plain(model), sess)
    feed = _feed(sess)
    assert not np.allclose(old.run(None, feed)[0], sess.run(None, feed)[0], rtol=0, atol=1e-6)
    assert sorted(p.name for p in folder.iterdir()) == [fresh.name]


def test_an_unwritable_cache_folder_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = shipped_weights("detector.onnx")
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be made below a file")
    folders = [blocker / "cache"]
    if getattr(os, "geteuid", lambda: 1)() != 0:  # root writes into read-only folders anyway
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        folders.append(locked)
    for folder in folders:
        with caplog.at_level(logging.DEBUG, logger="depthhand.ort_cache"):
            sess = ort_cache.cached_session(model, _options, folder=folder)
        assert not _from_cache(sess)  # opened as without a cache
        _same_outputs(_plain(model), sess)
        assert any("not caching" in r.getMessage() for r in caplog.records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"] + (["locked"] if len(folders) > 1 else [])
    if len(folders) > 1:
        assert list(folders[1].iterdir()) == []


def test_a_corrupt_model_fails_as_without_a_cache_and_leaves_no_entry(tmp_path: Path) -> None:
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"\x08\x07garbage" * 50)
    with pytest.raises(Exception) as plain:
        _plain(model)
    with pytest.raises(type(plain.value)):
        ort_cache.cached_session(model, _options, folder=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


def test_the_environment_variable_moves_or_disables_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ort_cache.CACHE_ENV, str(tmp_path))
    assert ort_cache.cache_dir() == tmp_path / "ort"
    for off in ("off", "0", ""):
        monkeypatch.setenv(ort_cache.CACHE_ENV, off)
        assert ort_cache.cache_dir() is None
        assert ort_cache.entry_path(shipped_weights("detector.onnx")) is None
    monkeypatch.delenv(ort_cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ort_cache.cache_dir() == tmp_path / "xdg" / "depthhand" / "ort"


def test_the_pipeline_opens_both_networks_through_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from depthhand.pipeline import HandPipeline, PipelineOptions

    monkeypatch.setenv(ort_cache.CACHE_ENV, str(tmp_path))
    with HandPipeline(PipelineOptions(detector="cnn")) as pipe:
        assert _from_cache(pipe.detector._session)  # type: ignore[attr-defined]
        assert _from_cache(pipe.estimator._backend.session)  # type: ignore[attr-defined]
    names = sorted(p.name.split(".ortcache")[0].rsplit(".", 2)[0] for p in (tmp_path / "ort").iterdir())
    # int8, or fp32 (neither VNNI nor AVX2); the live pipeline opens the pose sessions of 1 and 2 hands up front
    # (PipelineOptions().max_hands), one cache entry each
    pose = pipe.estimator.options.model_path.name if pipe.estimator.backend == "onnxruntime" else MODELS[0]
    assert sorted(set(names)) in (sorted(MODELS), ["depthhand_fast.onnx", "detector.onnx"])
    assert names.count(pose) == PipelineOptions().max_hands == 2 and names.count("detector.onnx") == 1
