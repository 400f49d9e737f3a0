"""Typed commands between the web side and the pipeline side, and the installation controller that applies them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from depthhand.interact.calibration import load_calibration
from depthhand.serve.commands import (
    FitPlane,
    Record,
    ReloadCalibration,
    SetConfig,
    command_from_dict,
    command_to_dict,
)
from depthhand.serve.controller import InstallationController
from depthhand.synth.scripted import default_scene, render_depth


@pytest.mark.parametrize(
    "command",
    [
        ReloadCalibration(),
        FitPlane(7, "req-1"),
        SetConfig({"enter_mm": 8.0}, {"close_mm": 20.0}),
        Record("start", "take.dhrec"),
        Record("stop"),
    ],
)
def test_commands_round_trip_through_json(command):
    wire = json.loads(json.dumps(command_to_dict(command)))
    assert command_from_dict(wire) == command


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"cmd": "explode"}, "unknown command 'explode'"),
        ({"cmd": "fit_plane", "frame": 3}, "command 'fit_plane'"),
        ({"cmd": "record", "action": "pause"}, "'start' or 'stop'"),
        ({}, "unknown command None"),
    ],
)
def test_bad_commands_are_refused_by_name(data, message):
    with pytest.raises(ValueError, match=message):
        command_from_dict(data)


class FakeRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def start(self, path):
        self.calls.append(("start", path))
        return {"path": path}

    def stop(self):
        self.calls.append(("stop", None))
        return {"frames": 3}


def test_controller_fits_the_plane_saves_it_and_applies_settings(tmp_path):
    plane, k = default_scene()
    recorder = FakeRecorder()
    ctl = InstallationController(tmp_path, recorder=recorder)
    assert ctl.engine.plane is None and not ctl.plane_fit_pending
    assert ctl.apply(FitPlane(3, "r")) is False and ctl.plane_fit_pending
    assert ctl.status["plane_fit"] == {"state": "collecting", "id": "r"}
    depth = render_depth(plane, k, [])
    assert not ctl.observe(depth, k) and not ctl.observe(depth, k)
    assert ctl.observe(depth, k)  # the third frame completes the fit
    assert ctl.status["plane_fit"]["state"] == "done"
    saved = load_calibration(tmp_path / "calibration.json").plane
    assert saved is not None and abs(float(saved.normal @ plane.normal)) > 0.99999
    assert abs(saved.offset_mm - plane.offset_mm) < 0.5
    # settings: a new engine with the same calibration and plane
    before = ctl.engine
    ctl.apply(SetConfig({"fingers": ["index", "middle"]}, {}))
    assert ctl.engine is not before and ctl.engine.plane is not None
    assert ctl.config()["touch"]["fingers"] == ["index", "middle"]
    with pytest.raises(TypeError):
        ctl.apply(SetConfig({"no_such_setting": 1}, {}))
    # recording goes to the recorder and shows in the status
    ctl.apply(Record("start", "a.dhrec"))
    assert ctl.status["recording"] == {"active": True, "path": "a.dhrec"}
    ctl.apply(Record("stop"))
    assert recorder.calls == [("start", "a.dhrec"), ("stop", None)] and ctl.status["recording"]["active"] is False
    # a reload asks for a new hello; a fit on frames of the wrong size is refused
    assert ctl.apply(ReloadCalibration()) is True
    ctl.apply(FitPlane(1))
    with pytest.raises(ValueError, match="do not match the intrinsics"):
        ctl.observe(np.zeros((10, 10), np.float32), k)


def test_controller_without_recorder_or_with_a_bad_file(tmp_path):
    (tmp_path / "calibration.json").write_text("{not json")
    ctl = InstallationController(tmp_path)
    assert "calibration not loaded" in ctl.last_error
    ctl.apply(Record("start"))
    assert ctl.status["recording"] == {"active": False, "error": "this source has no recorder"}
    with pytest.raises(ValueError, match="at least 1 frame"):
        ctl.apply(FitPlane(0))
