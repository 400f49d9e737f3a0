"""The one intrinsics-spec grammar (:func:`parse_intrinsics`) and the intrinsics-file reader/writer pair."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from depthhand.geometry.camera import (
    INTRINSICS,
    intrinsics_spec_needs_size,
    parse_intrinsics,
    read_intrinsics_json,
    write_intrinsics_json,
)
from depthhand.structures import CameraIntrinsics


def test_every_preset_is_a_spec() -> None:
    for name, k in INTRINSICS.items():
        assert parse_intrinsics(name) == k
        assert parse_intrinsics(f"  {name} ") == k
        assert not intrinsics_spec_needs_size(name)


def test_numbers_with_and_without_size() -> None:
    k = parse_intrinsics("500, 501, 319.5, 239.5", width=640, height=480)
    assert (k.fx, k.fy, k.cx, k.cy, k.width, k.height, k.depth_unit_mm) == (500, 501, 319.5, 239.5, 640, 480, 1.0)
    assert isinstance(k.width, int)
    full = parse_intrinsics("500,501,319.5,239.5,640,480", width=1, height=1)  # its own size wins
    assert full == k
    assert parse_intrinsics("500,501,319.5,239.5,640.0,480") == k  # whole floats are whole numbers
    assert intrinsics_spec_needs_size("500,501,319.5,239.5")
    assert not intrinsics_spec_needs_size("500,501,319.5,239.5,640,480")
    assert not intrinsics_spec_needs_size("not a spec")
    with pytest.raises(ValueError, match=r"'500,501,319.5,239.5': fx,fy,cx,cy needs the image size"):
        parse_intrinsics("500,501,319.5,239.5")


def test_depth_unit_overrides_every_form(tmp_path: Path) -> None:
    path = write_intrinsics_json(tmp_path / "k.json", INTRINSICS["nyu"])
    for spec in ("sr305", "1,1,0,0,4,3", str(path), path):
        assert parse_intrinsics(spec, depth_unit_mm=0.25).depth_unit_mm == 0.25
    assert parse_intrinsics("sr305").depth_unit_mm == 0.125
    with pytest.raises(ValueError, match=r"'sr305' with depth unit 0 mm: .*depth_unit_mm must be a positive"):
        parse_intrinsics("sr305", depth_unit_mm=0)


def test_file_specs_and_the_reader_writer_pair(tmp_path: Path) -> None:
    k = CameraIntrinsics(100.0, 101.0, 15.5, 11.5, 32, 24, depth_unit_mm=0.5)
    path = write_intrinsics_json(tmp_path / "cam.json", k)
    assert json.loads(path.read_text()) == k.to_dict()
    assert read_intrinsics_json(path) == k
    assert parse_intrinsics(str(path)) == parse_intrinsics(path) == k
    assert parse_intrinsics("cam.json", base_dir=tmp_path) == k  # relative: also looked up in base_dir
    assert not intrinsics_spec_needs_size(str(path))
    with pytest.raises(ValueError, match=r"intrinsics file .*nope.json does not exist"):
        parse_intrinsics(tmp_path / "nope.json")
    bad = {
        "[1, 2]": "must be a JSON object",
        '{"fx": 1}': r"missing field\(s\) \['fy', 'cx', 'cy', 'width', 'height'\]",
        "{": "not valid JSON",
        '{"fx": "a", "fy": 1, "cx": 0, "cy": 0, "width": 4, "height": 3}': "field 'fx' must be a number",
        '{"fx": NaN, "fy": 1, "cx": 0, "cy": 0, "width": 4, "height": 3}': "fx must be a finite focal length",
        '{"fx": 1, "fy": 1, "cx": Infinity, "cy": 0, "width": 4, "height": 3}': "cx must be a finite",
        '{"fx": 1, "fy": 1, "cx": 0, "cy": 0, "width": 4.5, "height": 3}': "width must be a positive whole",
    }
    for text, message in bad.items():
        path.write_text(text)
        with pytest.raises(ValueError, match=f"intrinsics file {path}: .*{message}"):
            parse_intrinsics(str(path))
    path.write_bytes(b"\x89PNG\xff")
    with pytest.raises(ValueError, match="cannot be read"):
        read_intrinsics_json(path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "is empty; expected a preset"),
        ("kinect", r"'kinect' is neither a preset nor an existing file; expected a preset \(astra, "),
        ("1,2,3", r"'1,2,3' has 3 number\(s\); expected fx,fy,cx,cy or fx,fy,cx,cy,width,height"),
        ("1,2,3,4,5", r"has 5 number\(s\)"),
        ("1,a,3,4", r"'1,a,3,4': 'a' is not a number; expected fx,fy,cx,cy\[,width,height\]"),
        ("1e300,1e300,320,240,640,480", r"fx must be a finite focal length in \(0, 100000\) px, got 1e\+300"),
        ("500,-1,320,240,640,480", "fy must be a finite focal length"),
        ("0,500,320,240,640,480", "fx must be a finite focal length"),
        ("inf,500,320,240,640,480", "fx must be a finite focal length"),
        ("500,500,nan,240,640,480", "cx must be a finite principal point"),
        ("500,500,320,-inf,640,480", "cy must be a finite principal point"),
        ("500,500,320,240,640.5,480", "width and height must be positive whole numbers"),
        ("500,500,320,240,0,480", "width and height must be positive whole numbers"),
    ],
)
def test_bad_specs_name_the_spec_and_what_was_expected(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_intrinsics(spec, width=640, height=480)
    assert "\n" not in str(info.value)
    if spec:
        assert repr(spec) in str(info.value)


def test_written_files_are_strict_json(tmp_path: Path) -> None:
    k = parse_intrinsics("99999.5,1e-3,-1e6,1e6,1,1")  # extreme but valid: still plain JSON numbers
    text = write_intrinsics_json(tmp_path / "k.json", k).read_text()
    assert "Infinity" not in text and "NaN" not in text
    assert math.isclose(json.loads(text)["fx"], 99999.5)
