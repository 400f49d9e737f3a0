from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthhand.capture.base import MissingExtraError, require
from depthhand.capture.folder import FolderSource, natural_key, read_depth_file, read_timestamps_csv
from depthhand.capture.sources import ArraySource, open_source, split_url
from depthhand.geometry.camera import INTRINSICS, write_intrinsics_json
from depthhand.structures import CameraIntrinsics, DepthFrame

SR305 = "real/sr305-desk/frames"


@pytest.mark.shared_data
def test_sr305_folder_through_open_source(shared_data: Path) -> None:
    folder = shared_data / SR305
    with open_source(f"folder:{folder}?intrinsics=sr305&fps=15") as src:
        frames = list(src)
        assert src.intrinsics == INTRINSICS["sr305"]
    names = [0, 20, 40, 60, 80, 100, 140, 160, 180, 200, 220]
    assert len(frames) == len(names)
    for i, (name, f) in enumerate(zip(names, frames, strict=True)):
        raw = cv2.imread(str(folder / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(f.depth_mm, raw.astype(np.float32) * 0.125)
        assert f.timestamp_us == round(i * 1e6 / 15)
        assert f.index == i
    hand_region = frames[0].depth_mm[250:300, 240:290]
    assert 450 < float(np.median(hand_region[hand_region > 0])) < 750  # the hand, per the README


def _folder(tmp_path: Path, k: CameraIntrinsics, n: int = 4) -> tuple[Path, list[np.ndarray]]:
    folder = tmp_path / "frames"
    folder.mkdir()
    raws = []
    for i in range(n):
        raw = np.full((k.height, k.width), 1000 + i, np.uint16)
        cv2.imwrite(str(folder / f"f{i * 5}.png"), raw)  # f0, f5, f10, f15: natural order matters
        raws.append(raw)
    return folder, raws


def test_folder_with_intrinsics_json_and_timestamps(tmp_path: Path) -> None:
    k = CameraIntrinsics(100.0, 100.0, 15.5, 11.5, 32, 24, depth_unit_mm=0.5)
    folder, raws = _folder(tmp_path, k)
    write_intrinsics_json(folder / "intrinsics.json", k)
    (folder / "timestamps.csv").write_text("file,timestamp_us\nf0.png,10\nf5.png,20\nf10.png,35\nf15.png,41\n")
    frames = list(open_source(str(folder)))
    assert [f.timestamp_us for f in frames] == [10, 20, 35, 41]
    for raw, f in zip(raws, frames, strict=True):
        np.testing.assert_array_equal(f.depth_mm, raw * np.float32(0.5))
    scaled = list(open_source(f"folder:{folder}?scale=2"))
    assert scaled[1].depth_mm[0, 0] == 2 * 1001
    assert natural_key("f10.png") > natural_key("f5.png")


def test_corrupt_and_wrong_size_files_are_skipped(tmp_path: Path) -> None:
    k = CameraIntrinsics(100.0, 100.0, 15.5, 11.5, 32, 24)
    folder, _ = _folder(tmp_path, k)
    (folder / "f7.png").write_bytes(b"not a png")
    cv2.imwrite(str(folder / "f8.png"), np.zeros((5, 5), np.uint16))
    np.save(folder / "f9.npy", np.zeros((24, 32, 3)))  # not single-channel
    (folder / "intrinsics.json").write_text(json.dumps(k.to_dict()))
    src = FolderSource(folder)
    frames = list(src)
    assert len(frames) == 4
    assert src.stats.frames_skipped == 3 and src.stats.errors == 3
    assert len(src) == 7


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_source(f"folder:{tmp_path / 'nope'}")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no intrinsics\.json"):
        FolderSource(empty).open()
    with pytest.raises(FileNotFoundError, match="holds no"):
        FolderSource(empty, intrinsics="nyu").open()
    with pytest.raises(ValueError, match="'no_such_camera' is neither a preset nor an existing file"):
        FolderSource(empty, intrinsics="no_such_camera").open()
    (empty / "intrinsics.json").write_text('{"fx": 1}')
    with pytest.raises(ValueError, match=r"intrinsics file .*intrinsics\.json: .*missing field"):
        FolderSource(empty).open()
    for fps in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="fps must be a positive finite"):
            FolderSource(empty, fps=fps)
    for scale in ("0", "-0.125", "nan", "inf"):
        with pytest.raises(ValueError, match=r"depth unit .* must be a positive finite"):
            open_source(f"folder:{empty}?intrinsics=nyu&scale={scale}")


def test_folder_intrinsics_specs(tmp_path: Path) -> None:
    k = CameraIntrinsics(100.0, 100.0, 15.5, 11.5, 32, 24)
    folder, _ = _folder(tmp_path, k)
    (folder / "f0.png").write_bytes(b"corrupt")  # the size comes from the first *readable* file
    for spec in ("100,100,15.5,11.5", "100,100,15.5,11.5,32,24"):
        with open_source(f"folder:{folder}?intrinsics={spec}&scale=0.5") as src:
            assert src.intrinsics == CameraIntrinsics(100.0, 100.0, 15.5, 11.5, 32, 24, depth_unit_mm=0.5)
            assert len(list(src)) == 3
    write_intrinsics_json(folder / "cam.json", k)
    assert FolderSource(folder, intrinsics="cam.json").intrinsics == k  # relative to the folder
    with pytest.raises(ValueError, match=r"intrinsics '1e300,100,15.5,11.5': .*fx must be a finite focal length"):
        FolderSource(folder, intrinsics="1e300,100,15.5,11.5").open()
    with pytest.raises(ValueError, match=r"'100,100,nan,11.5,32,24': .*cx must be a finite"):
        FolderSource(folder, intrinsics="100,100,nan,11.5,32,24").open()


def test_a_folder_with_no_readable_file_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"not a png")
    cv2.imwrite(str(folder / "b.png"), np.full((24, 32), 7, np.uint8))  # 8-bit: a picture, not depth
    src = FolderSource(folder, intrinsics="1,1,0,0,32,24")
    with pytest.raises(ValueError, match=rf"depth folder {folder}: none of its 2 file\(s\) could be read") as info:
        list(src)
    assert "b.png: 8-bit image (uint8)" in str(info.value)  # the last failure, naming file and dtype
    assert src.stats.frames_skipped == 2
    with pytest.raises(ValueError, match=f"depth folder {folder}: none of its 2"):  # needs a size: fails at open
        FolderSource(folder, intrinsics="1,1,0,0").open()


def test_eight_bit_files_are_skipped_naming_the_dtype(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    k = CameraIntrinsics(100.0, 100.0, 15.5, 11.5, 32, 24)
    folder, _ = _folder(tmp_path, k, n=2)
    cv2.imwrite(str(folder / "f1.png"), np.full((24, 32), 7, np.uint8))
    with FolderSource(folder, intrinsics="100,100,15.5,11.5,32,24") as src:
        assert len(list(src)) == 2
    assert f"{folder / 'f1.png'}: 8-bit image (uint8)" in caplog.text
    with pytest.raises(ValueError, match=r"f1.png: 8-bit image \(uint8\)"):
        read_depth_file(folder / "f1.png")
    with pytest.raises(ValueError, match="is a directory"):
        read_depth_file(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_depth_file(tmp_path / "nope.png")
    (folder / "x.npy").write_bytes(b"not npy")
    with pytest.raises(ValueError, match=r"x.npy: corrupt \.npy file"):
        read_depth_file(folder / "x.npy")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("f0.png,10\nf5.png,abc\n", r"line 2: timestamp 'abc' is not a whole number"),
        ("file,timestamp_us\nf0.png,1.5\n", r"line 2: timestamp '1.5' is not a whole number"),
        ("file,timestamp_us\nf0.png\n", r"line 2 has 1 field\(s\)"),
        ("f0.png,10\nf0.png,20\n", r"line 2: 'f0.png' is listed twice"),
        (b"\xff\xfe\x00garbage", "cannot be read as a CSV"),
    ],
)
def test_a_bad_timestamps_csv_is_an_error_naming_it(tmp_path: Path, text: str | bytes, message: str) -> None:
    k = CameraIntrinsics(100.0, 100.0, 15.5, 11.5, 32, 24)
    folder, _ = _folder(tmp_path, k)
    ts = folder / "timestamps.csv"
    ts.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=f"{ts}: {message}"):
        FolderSource(folder, intrinsics="100,100,15.5,11.5,32,24").open()
    ts.write_text("\nf0.png, 5 ,extra\n\n")  # blank lines and extra columns are fine; no header is fine
    assert read_timestamps_csv(ts) == {"f0.png": 5}


def test_split_url() -> None:
    assert split_url("synthetic://topdown?seed=1") == ("synthetic", "//topdown", {"seed": "1"})
    assert split_url("folder:/a/b?intrinsics=sr305&scale=0.125") == (
        "folder",
        "/a/b",
        {"intrinsics": "sr305", "scale": "0.125"},
    )
    assert split_url("take.dhrec") == ("rec", "take.dhrec", {})
    assert split_url("/x/cam.bag") == ("realsense", "/x/cam.bag", {})
    assert split_url("/x/cam.db3") == ("realsense", "/x/cam.db3", {})
    assert split_url("/x/cam.oni") == ("openni", "/x/cam.oni", {})
    assert split_url("realsense://123456") == ("realsense", "//123456", {})
    assert split_url("some/dir") == ("folder", "some/dir", {})
    with pytest.raises(ValueError, match="unknown source scheme 'kinect'"):
        split_url("kinect://")
    with pytest.raises(ValueError, match="empty"):
        split_url("  ")


def test_open_source_rejects_bad_parameters(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['colour'\]"):
        open_source(f"folder:{tmp_path}?colour=1")
    with pytest.raises(ValueError, match="scale='abc' is not a valid float"):
        open_source(f"folder:{tmp_path}?scale=abc")
    with pytest.raises(FileNotFoundError, match="recording"):
        open_source("realsense:/no/such/file.bag")
    with pytest.raises(FileNotFoundError, match="recording"):
        open_source("openni:/no/such/file.oni")
    with pytest.raises(FileNotFoundError, match="recording"):
        open_source("orbbec:/no/such/file.bag")


def test_synthetic_dispatch_is_clear() -> None:
    from depthhand.capture.synthetic import SyntheticSource

    fps = 15.0
    url = f"synthetic://topdown?seed=1&realtime=0&hands=1&fps={fps:g}&intrinsics=sr305"
    source = open_source(url)
    assert isinstance(source, SyntheticSource) and source.is_live
    assert not source.is_open and not source.realtime
    k = INTRINSICS["sr305"]
    with source:
        assert source.intrinsics == k
        frames = [source.read() for _ in range(3)]
    assert not source.is_open
    assert source.stats.frames_read == 3
    for i, frame in enumerate(frames):
        assert isinstance(frame, DepthFrame)
        assert frame.depth_mm.shape == (k.height, k.width) and frame.depth_mm.dtype == np.float32
        assert frame.intrinsics == k and frame.index == i and frame.source_id == url
        assert frame.timestamp_us == round(i * 1e6 / fps)
        depth = frame.depth_mm
        assert np.isfinite(depth).all() and depth.min() >= 0
        np.testing.assert_array_equal(depth, np.round(depth / k.depth_unit_mm) * k.depth_unit_mm)  # sensor units
        valid = depth[depth > 0]
        assert valid.size > 0.5 * depth.size  # a table fills the view
        assert 300 < float(np.median(valid)) < 2500  # a desk seen from above, in mm
        truth = source.truth_for(i)
        assert truth is not None and truth.frame_index == i and truth.timestamp_us == frame.timestamp_us
        n_hands = len(truth.handedness)
        assert n_hands == 1  # hands=1, and the first hand spawns in view
        assert truth.joints_xyz_mm.shape == (n_hands, 21, 3) and truth.joints_uvd.shape == (n_hands, 21, 3)
        assert truth.visibility.shape == (n_hands, 21) and len(truth.track_ids) == n_hands
        # The uvd truth is the pinhole projection of the xyz truth through the source's intrinsics.
        xyz = truth.joints_xyz_mm
        u = xyz[..., 0] / xyz[..., 2] * k.fx + k.cx
        v = xyz[..., 1] / xyz[..., 2] * k.fy + k.cy
        np.testing.assert_allclose(truth.joints_uvd[..., 0], u, atol=1e-6)
        np.testing.assert_allclose(truth.joints_uvd[..., 1], v, atol=1e-6)
        np.testing.assert_allclose(truth.joints_uvd[..., 2], xyz[..., 2], atol=1e-6)
        # The hand is drawn where its joints are: at visible joints, the surface lies a finger's radius in front.
        vis = truth.visibility[0]
        assert vis.sum() >= 5
        uv = np.round(truth.joints_uvd[0, vis, :2]).astype(int)
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < k.width) & (uv[:, 1] >= 0) & (uv[:, 1] < k.height)
        surface = depth[uv[inside, 1], uv[inside, 0]]
        gap = surface - truth.joints_uvd[0, vis, 2][inside]
        assert (surface > 0).sum() >= 5
        assert -35 < float(np.median(gap[surface > 0])) < 3, gap
    # Same seed, same stream.
    with open_source(url) as again:
        np.testing.assert_array_equal(again.read().depth_mm, frames[0].depth_mm)
    # A bad URL fails with a ValueError naming the culprit (parameters at once, scene and counts when built).
    bad = {
        "synthetic://frontal?realtime=0": r"'topdown' scene only, got 'frontal'",
        "synthetic://topdown?colour=1": r"unknown parameter\(s\) \['colour'\]; accepted: \['fps', ",
        "synthetic://topdown?seed=abc": r"seed='abc' is not a valid int",
        "synthetic://topdown?intrinsics=kinect": r"intrinsics 'kinect' is neither a preset nor an existing file",
        "synthetic://topdown?hands=0&realtime=0": r"max_hands >= 1, got .*, 0",
    }
    for bad_url, message in bad.items():
        with pytest.raises(ValueError, match=message):
            open_source(bad_url).open()


def test_require_names_package_and_extra() -> None:
    with pytest.raises(MissingExtraError, match=r"pip install some-pkg .*depthhand\[sensors\]"):
        require("depthhand_no_such_module", "some-pkg")


def test_array_source_and_context_manager(small_k: CameraIntrinsics) -> None:
    frames = [DepthFrame(np.full((48, 64), i + 1, np.float32), small_k, index=i) for i in range(3)]
    src = ArraySource(frames)
    assert not src.is_open
    with src:
        assert src.is_open
        assert [f.index for f in src] == [0, 1, 2]
        assert src.read() is None
        assert src.stats.frames_read == 3
    assert not src.is_open
    with pytest.raises(ValueError, match="at least one"):
        ArraySource([])
