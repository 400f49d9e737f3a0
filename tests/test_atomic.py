"""Tests of depthhand.atomic (temp file + rename) and of the writers built on it."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthhand import atomic

OLD = b"old contents, longer than the new ones \x00\x01\x02" * 100


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(OLD)
    return path


# --- atomic_path -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fsync", [True, False])
def test_success_replaces_existing_file_completely(old_file: Path, fsync: bool) -> None:
    with atomic.atomic_path(old_file, fsync=fsync) as tmp:
        assert tmp.parent == old_file.parent
        assert not tmp.exists()  # the writer creates it
        assert old_file.read_bytes() == OLD  # untouched until the block ends
        tmp.write_bytes(b"new")
    assert old_file.read_bytes() == b"new"
    assert _listing(old_file.parent) == ["data.bin"]


def test_exception_keeps_old_file_and_removes_temp(old_file: Path) -> None:
    with pytest.raises(RuntimeError, match="writer died"), atomic.atomic_path(old_file) as tmp:
        tmp.write_bytes(b"half writ")
        raise RuntimeError("writer died")
    assert old_file.read_bytes() == OLD
    assert _listing(old_file.parent) == ["data.bin"]


def test_keyboard_interrupt_also_cleans_up(old_file: Path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic.atomic_path(old_file) as tmp:
        tmp.write_bytes(b"x")
        raise KeyboardInterrupt
    assert old_file.read_bytes() == OLD
    assert _listing(old_file.parent) == ["data.bin"]


def test_exception_before_temp_exists_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    with pytest.raises(ValueError, match="bad"), atomic.atomic_path(path):
        raise ValueError("bad")
    assert _listing(tmp_path) == []


def test_writer_that_creates_no_temp_is_an_error(old_file: Path) -> None:
    with pytest.raises(FileNotFoundError, match="did not create"), atomic.atomic_path(old_file):
        pass
    assert old_file.read_bytes() == OLD
    assert _listing(old_file.parent) == ["data.bin"]


def test_library_appended_suffix_is_an_error_and_cleaned_up(tmp_path: Path) -> None:
    path = tmp_path / "model"  # no suffix: np.savez appends ".npz" to the temporary name
    path.write_bytes(OLD)
    with pytest.raises(FileNotFoundError), atomic.atomic_path(path) as tmp:
        np.savez(tmp, x=np.arange(3))
    assert path.read_bytes() == OLD
    assert _listing(tmp_path) == ["model"]


def test_missing_folder_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "file.txt"
    with pytest.raises(FileNotFoundError):
        atomic.write_text(path, "x")
    assert _listing(tmp_path) == []


def test_temp_names_are_hidden_unique_siblings_with_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "labels.npz"
    names = {atomic.temp_path_for(path).name for _ in range(100)}
    assert len(names) == 100
    for name in names:
        assert name.startswith(".labels.npz.")
        assert name.endswith(".tmp.npz")
    assert atomic.temp_path_for(path, suffix=".png").suffix == ".png"
    assert atomic.temp_path_for(tmp_path / "bare").suffix == ".tmp"
    long = tmp_path / ("x" * 250 + ".png")
    assert len(atomic.temp_path_for(long).name) < 255
    assert not list(tmp_path.iterdir())  # nothing is created


# --- suffix-sensitive writers ------------------------------------------------------------------------------------


def test_np_savez_through_atomic_path_gives_the_exact_name(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.normal(size=(4, 5)).astype(np.float32)
    path = tmp_path / "arrays.npz"
    with atomic.atomic_path(path) as tmp:
        np.savez(tmp, x=x)
    assert _listing(tmp_path) == ["arrays.npz"]
    with np.load(path) as data:
        np.testing.assert_array_equal(data["x"], x)


def test_np_savez_bare_name_with_forced_suffix(tmp_path: Path) -> None:
    path = tmp_path / "background"
    with atomic.atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, y=np.arange(7))
    assert _listing(tmp_path) == ["background"]
    with np.load(path) as data:
        np.testing.assert_array_equal(data["y"], np.arange(7))


@pytest.mark.parametrize("ext", [".png", ".tiff"])
def test_cv2_imwrite_through_atomic_path(tmp_path: Path, rng: np.random.Generator, ext: str) -> None:
    image = rng.integers(0, 65535, size=(12, 17), dtype=np.uint16)
    path = tmp_path / f"depth{ext}"
    with atomic.atomic_path(path) as tmp:
        assert cv2.imwrite(str(tmp), image)
    assert _listing(tmp_path) == [path.name]
    np.testing.assert_array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), image)


# --- atomic_open and the write_* helpers -------------------------------------------------------------------------


def test_write_json_round_trip_and_bytes(tmp_path: Path) -> None:
    obj = {"a": [1, 2.5, None], "b": {"c": "ü ✓"}, "d": True}
    path = atomic.write_json(tmp_path / "x.json", obj, indent=2, sort_keys=True)
    assert path == tmp_path / "x.json"
    assert json.loads(path.read_text(encoding="utf-8")) == obj
    assert path.read_bytes() == json.dumps(obj, indent=2, sort_keys=True).encode()


def test_write_json_unserialisable_keeps_old_file(old_file: Path) -> None:
    with pytest.raises(TypeError):
        atomic.write_json(old_file, {"x": object()})
    assert old_file.read_bytes() == OLD
    assert _listing(old_file.parent) == ["data.bin"]


def test_write_text_and_bytes(tmp_path: Path) -> None:
    assert atomic.write_text(tmp_path / "t.txt", "héllo\r\nx").read_bytes() == "héllo\r\nx".encode()
    assert atomic.write_text(tmp_path / "l.txt", "é", encoding="latin-1").read_bytes() == b"\xe9"
    assert atomic.write_bytes(tmp_path / "b.bin", b"\x00\xff", fsync=False).read_bytes() == b"\x00\xff"
    assert _listing(tmp_path) == ["b.bin", "l.txt", "t.txt"]


def test_atomic_open_text_binary_and_failure(old_file: Path) -> None:
    with atomic.atomic_open(old_file, "wb") as fh:
        fh.write(b"\x01\x02")
    assert old_file.read_bytes() == b"\x01\x02"
    with atomic.atomic_open(old_file) as fh:
        fh.write("ä\n")
    assert old_file.read_bytes() == "ä\n".encode()
    with pytest.raises(OSError, match="disk full"), atomic.atomic_open(old_file, "w") as fh:
        fh.write("partial")
        raise OSError("disk full")
    assert old_file.read_bytes() == "ä\n".encode()
    assert _listing(old_file.parent) == ["data.bin"]


@pytest.mark.parametrize("mode", ["a", "r", "w+", "x", "rb"])
def test_atomic_open_rejects_non_write_modes(tmp_path: Path, mode: str) -> None:
    with pytest.raises(ValueError, match="mode"), atomic.atomic_open(tmp_path / "f", mode):
        pass
    assert _listing(tmp_path) == []


# --- call sites whose format depends on the temporary suffix ----------------------------------------------------


def test_background_model_save_to_bare_name(tmp_path: Path) -> None:
    from depthhand.detect.background import BackgroundModel
    from depthhand.geometry.camera import INTRINSICS

    k = INTRINSICS["nyu"]
    depth = np.full((k.height, k.width), 800.0, np.float32)
    model = BackgroundModel(depth, np.full_like(depth, 2.0), k, 5)
    path = model.save(tmp_path / "bg")
    assert _listing(tmp_path) == ["bg"]
    loaded = BackgroundModel.load(path)
    np.testing.assert_array_equal(loaded.depth_mm, depth)
    assert loaded.frames == 5


def test_write_png_is_png_whatever_the_suffix(tmp_path: Path) -> None:
    from depthhand.viz import write_png

    image = np.zeros((8, 9, 3), np.uint8)
    image[2, 3] = (10, 20, 30)
    path = write_png(tmp_path / "overlay.jpg", image)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), image)
    assert _listing(tmp_path) == ["overlay.jpg"]


def test_save_calibration_failure_keeps_the_old_calibration(tmp_path: Path) -> None:
    from depthhand.interact.calibration import Calibration, load_calibration, save_calibration

    path = save_calibration(Calibration(projector_size=(640, 480), created_utc="t0"), tmp_path / "calibration.json")
    before = path.read_bytes()
    bad = Calibration(projector_size=(800, 600), errors={"H": {"rms": np.float32(1.0)}})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        save_calibration(bad, path)
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["calibration.json"]
    assert load_calibration(path).projector_size == (640, 480)
