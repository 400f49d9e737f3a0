from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from depthhand.evaluate.protocols import get_protocol
from depthhand.evaluate.results_io import (
    Coords,
    read_joints,
    read_json,
    read_npz,
    read_uvd_text,
    write_json,
    write_npz,
    write_uvd_text,
)
from depthhand.geometry.camera import Axes, flip_y


def _lines(n: int, values: int) -> list[str]:
    return [" ".join(f"{100 + i + 0.25 * k:.3f}" for k in range(values)) for i in range(n)]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_read_uvd_text_values(tmp_path: Path) -> None:
    p = _write(tmp_path / "a.txt", ["1 2 3 4 5 6", "7 8 9 10 11 12.5"])
    arr = read_uvd_text(p)
    assert arr.dtype == np.float64 and arr.shape == (2, 2, 3)
    np.testing.assert_array_equal(arr[1, 1], [10.0, 11.0, 12.5])
    assert read_uvd_text(p, num_joints=2, num_frames=2).shape == (2, 2, 3)
    # No final newline and CRLF line ends are fine.
    (tmp_path / "b.txt").write_text("1 2 3\r\n4 5 6")
    assert read_uvd_text(tmp_path / "b.txt").shape == (2, 1, 3)


@pytest.mark.parametrize(
    ("lines", "kwargs", "match"),
    [
        (_lines(4, 6), {"num_frames": 5}, r"a\.txt: expected 5 lines .* got 4"),
        ([*_lines(2, 6), "1 2 3 4 5", *_lines(1, 6)], {"num_joints": 2}, r"a\.txt:3: expected 6 values .* got 5"),
        ([*_lines(2, 6), "1 2 3 4 5", *_lines(1, 6)], {}, r"a\.txt:3: expected 6 values"),
        ([*_lines(1, 6), "", *_lines(2, 6)], {}, r"a\.txt:2: .*blank line"),
        (_lines(3, 6), {"num_joints": 3}, r"a\.txt:1: expected 9 values"),
        (["1 2 3 4"], {}, r"a\.txt:1: expected a multiple of 3"),
        ([*_lines(1, 3), "1 x 3"], {}, r"a\.txt:2: not a number: 'x'"),
        ([*_lines(4, 3), "1 nan 3"], {}, r"a\.txt:5: non-finite"),
        ([], {}, r"a\.txt: empty file"),
    ],
)
def test_read_uvd_text_is_strict(tmp_path: Path, lines: list[str], kwargs: dict[str, int], match: str) -> None:
    p = tmp_path / "a.txt"
    p.write_text("\n".join(lines) + ("\n" if lines else ""))
    with pytest.raises(ValueError, match=match):
        read_uvd_text(p, **kwargs)


def test_read_uvd_text_refuses_binary(tmp_path: Path) -> None:
    p = tmp_path / "bin.txt"
    p.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        read_uvd_text(p)


def test_uvd_text_round_trip(tmp_path: Path, rng: np.random.Generator) -> None:
    joints = rng.uniform(100, 900, (5, 14, 3))
    p = write_uvd_text(tmp_path / "sub" / "pred.txt", joints, decimals=6)
    np.testing.assert_allclose(read_uvd_text(p, 14, 5), joints, atol=5e-7)
    assert [f.name for f in p.parent.iterdir()] == ["pred.txt"]  # no temp file left behind
    jf = read_joints(p, 14, 5)
    assert (jf.name, jf.coords, jf.num_frames, jf.num_joints) == ("pred", Coords.UVD, 5, 14)


@pytest.mark.parametrize("coords", list(Coords))
@pytest.mark.parametrize("fmt", ["json", "npz"])
def test_json_npz_round_trip(tmp_path: Path, rng: np.random.Generator, coords: Coords, fmt: str) -> None:
    joints = rng.uniform(-200, 900, (4, 16, 3))
    write, read = (write_json, read_json) if fmt == "json" else (write_npz, read_npz)
    p = write(tmp_path / f"x.{fmt}", joints, coords, axes=Axes.Y_UP, method="mine", dataset="icvl")
    jf = read(p)
    np.testing.assert_array_equal(jf.joints, joints)  # exact: JSON floats round-trip, NPZ is binary
    assert (jf.coords, jf.name) == (coords, "mine")
    assert jf.axes is (Axes.Y_UP if coords is Coords.XYZ_MM else Axes.Y_DOWN)
    assert read_joints(p).coords is coords
    assert [f.name for f in tmp_path.iterdir()] == [p.name]


def test_json_frames_form_and_defaults(tmp_path: Path) -> None:
    p = tmp_path / "frames.json"
    p.write_text(json.dumps({"frames": [{"joints_xyz_mm": [[1, 2, 3]]}, {"joints_xyz_mm": [[4, 5, 6]]}]}))
    jf = read_json(p)
    assert (jf.coords, jf.axes, jf.name, jf.joints.shape) == (Coords.XYZ_MM, Axes.Y_DOWN, "frames", (2, 1, 3))


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ({"joints_uvd": [[[1, 2, 3]]], "joints_xyz_mm": [[[1, 2, 3]]]}, "exactly one of"),
        ({"joints": [[[1, 2, 3]]]}, "exactly one of"),
        ({"joints_uvd": [[1, 2, 3]]}, r"\(N, J, 3\)"),
        ({"joints_uvd": [[[1, 2]], [[1, 2, 3]]]}, r"\(N, J, 3\)"),
        ({"joints_xyz_mm": [[[1, 2, 3]]], "axes": "sideways"}, "axes must be one of"),
        ({"frames": [{"joints_uvd": [[1, 2, 3]]}, {"other": 1}]}, "frame 1 has no 'joints_uvd'"),
        ([1, 2, 3], "JSON object"),
    ],
)
def test_json_refusals(tmp_path: Path, payload: object, match: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=match):
        read_json(p)


def test_json_syntax_error_names_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.json"
    p.write_text('{"joints_uvd": [\n')
    with pytest.raises(ValueError, match=r"broken\.json:\d+: invalid JSON"):
        read_json(p)


def test_npz_refusals(tmp_path: Path) -> None:
    p = tmp_path / "bad.npz"
    np.savez(p, joints=np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match="exactly one of"):
        read_npz(p)
    np.savez(p, joints_uvd=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(N, J, 3\)"):
        read_npz(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        read_joints(tmp_path / "nope.txt")


def test_to_camera_xyz_agrees_across_formats(tmp_path: Path, rng: np.random.Generator) -> None:
    """uvd text, y-down xyz JSON and y-up xyz NPZ of the same joints give the same camera points."""
    icvl = get_protocol("icvl")
    uvd = np.concatenate([rng.uniform(40, 280, (1596, 16, 2)), rng.uniform(300, 600, (1596, 16, 1))], axis=-1)
    xyz = icvl.uvd_to_xyz(uvd)
    from_text = read_joints(write_uvd_text(tmp_path / "a.txt", uvd, decimals=9)).to_camera_xyz(icvl)
    from_json = read_joints(write_json(tmp_path / "b.json", xyz, Coords.XYZ_MM)).to_camera_xyz(icvl)
    from_npz = read_joints(write_npz(tmp_path / "c.npz", flip_y(xyz), Coords.XYZ_MM, axes=Axes.Y_UP))
    np.testing.assert_allclose(from_text, xyz, atol=1e-6)
    np.testing.assert_array_equal(from_json, xyz)
    np.testing.assert_array_equal(from_npz.to_camera_xyz(icvl), xyz)
    with pytest.raises(ValueError, match="partial sets are refused"):
        read_joints(write_json(tmp_path / "d.json", xyz[:10], Coords.XYZ_MM)).to_camera_xyz(icvl)


def test_writers_validate(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(N, J, 3\)"):
        write_uvd_text(tmp_path / "x.txt", np.zeros((3, 6)))
    with pytest.raises(ValueError, match="non-finite"):
        write_json(tmp_path / "x.json", np.full((1, 1, 3), np.inf), Coords.UVD)
    assert list(tmp_path.iterdir()) == []


def test_real_files_strictly_read(eval_dir: Path) -> None:
    nyu = get_protocol("nyu")
    jf = read_joints(eval_dir / "results/nyu/CVPR19_NYU_CrossInfoNet.txt", nyu.num_joints, nyu.num_frames)
    assert jf.joints.shape == (8252, 14, 3)
    assert jf.name == "CVPR19_NYU_CrossInfoNet"
    with pytest.raises(ValueError, match="expected 1596 lines"):
        read_joints(eval_dir / "results/nyu/CVPR19_NYU_CrossInfoNet.txt", 16, 1596)
    with pytest.raises(ValueError, match=r"nyu_test_groundtruth_label\.txt:1: expected 48 values"):
        read_uvd_text(eval_dir / "groundtruth/nyu/nyu_test_groundtruth_label.txt", num_joints=16)
