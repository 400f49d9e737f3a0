"""The installation controller: calibration, the table plane, touch/pinch settings and recording.

It owns what an installation configures and keeps, as opposed to what flows through it each frame (the
:class:`~depthhand.serve.publisher.Publisher` pumps frames). The pump hands it each frame's depth (for a plane fit
in progress) and each :mod:`~depthhand.serve.commands` command from the web side, between two frames.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.geometry.plane import fit_plane_from_depth
from depthhand.interact.calibration import Calibration, load_calibration, save_calibration, with_plane
from depthhand.interact.engine import Interaction
from depthhand.interact.gestures import PinchSettings
from depthhand.interact.touch import TouchSettings
from depthhand.serve.commands import Command, FitPlane, Record, ReloadCalibration, SetConfig
from depthhand.serve.pipeline import Recorder
from depthhand.structures import CameraIntrinsics

log = logging.getLogger("depthhand.serve")


class InstallationController:
    """Calibration, plane fit, settings and recording of one installation.

    Args:
        data_dir: Where ``calibration.json`` lives.
        touch: Initial touch settings.
        pinch: Initial pinch settings.
        recorder: The source's recorder, if it has one.

    Attributes:
        engine: The interaction engine (touch, hover, pinch) with the current calibration and settings.
        status: ``recording`` and ``plane_fit`` state, published in ``/api/status``.
        last_error: The last problem (calibration not loaded, a command that failed), ``""`` if none.
    """

    def __init__(
        self,
        data_dir: Path,
        touch: TouchSettings | None = None,
        pinch: PinchSettings | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.calibration_path = Path(data_dir) / "calibration.json"
        self.recorder = recorder
        self.engine = Interaction(touch=touch or TouchSettings(), pinch=pinch or PinchSettings())
        self.status: dict[str, Any] = {"recording": {"active": False}, "plane_fit": None}
        self.last_error = ""
        self._plane_request: tuple[int, list[npt.NDArray[np.float32]]] | None = None
        self.load_calibration()

    @property
    def calibration(self) -> Calibration:
        """The calibration in force."""
        return self.engine.calibration

    def load_calibration(self) -> None:
        """Read ``calibration.json`` if there is one; a bad file is reported, the previous calibration kept."""
        if self.calibration_path.is_file():
            try:
                self.engine.set_calibration(load_calibration(self.calibration_path))
            except ValueError as exc:
                self.last_error = f"calibration not loaded: {exc}"
                log.warning("calibration not loaded: %s", exc)

    def config(self) -> dict[str, Any]:
        """The touch and pinch settings as JSON (``fingers`` by name)."""
        touch = asdict(self.engine.touch)
        touch["fingers"] = [f.name.lower() for f in self.engine.touch.fingers]
        return {"touch": touch, "pinch": asdict(self.engine.pinch)}

    def apply(self, command: Command) -> bool:
        """Carry out one command; returns whether the calibration changed (clients must get a new ``hello``).

        Raises:
            ValueError: A command that cannot be carried out (bad settings).
            OSError: The recorder or the calibration file failed.
        """
        if isinstance(command, ReloadCalibration):
            self.load_calibration()
            return True
        if isinstance(command, FitPlane):
            self.request_plane_fit(command.frames, command.request_id)
        elif isinstance(command, Record):
            self._record(command)
        elif isinstance(command, SetConfig):
            self._set_config(command)
        return False

    def request_plane_fit(self, frames: int = 15, request_id: str | None = None) -> None:
        """Fit the table plane from the next ``frames`` depth frames (RANSAC: hands and objects are outliers)."""
        if frames < 1:
            raise ValueError(f"a plane fit needs at least 1 frame, got {frames}")
        self._plane_request = (frames, [])
        self.status["plane_fit"] = {"state": "collecting", "id": request_id}

    @property
    def plane_fit_pending(self) -> bool:
        """Whether a plane fit is collecting frames."""
        return self._plane_request is not None

    def observe(self, depth_mm: npt.NDArray[np.float32], intrinsics: CameraIntrinsics | None) -> bool:
        """Take one frame's depth for a plane fit in progress; returns whether a new plane was fitted and saved.

        Raises:
            ValueError: The frames do not match the intrinsics.
        """
        if self._plane_request is None:
            return False
        n, frames = self._plane_request
        frames.append(np.asarray(depth_mm, dtype=np.float32))
        if len(frames) < n:
            return False
        self._plane_request = None
        if intrinsics is None or (intrinsics.height, intrinsics.width) != frames[0].shape:
            h, w = frames[0].shape
            raise ValueError(f"depth frames {w}×{h} do not match the intrinsics; cannot fit the plane")
        fit = fit_plane_from_depth(frames, intrinsics)
        cal = with_plane(self.engine.calibration, fit.plane, fit.rms_mm)
        save_calibration(cal, self.calibration_path)
        self.engine.set_calibration(cal)
        self.status["plane_fit"] = {"state": "done", **fit.to_dict()}
        return True

    def _record(self, command: Record) -> None:
        if self.recorder is None:
            self.status["recording"] = {"active": False, "error": "this source has no recorder"}
            return
        if command.action == "start":
            self.status["recording"] = {"active": True, **self.recorder.start(command.path)}
        else:
            self.status["recording"] = {"active": False, **self.recorder.stop()}

    def _set_config(self, command: SetConfig) -> None:
        from depthhand.skeleton import Finger

        touch = dict(command.touch)
        if "fingers" in touch:
            touch["fingers"] = tuple(Finger[f.upper()] for f in touch["fingers"])
        t = TouchSettings(**{**_fields(self.engine.touch), **touch})
        p = PinchSettings(**{**_fields(self.engine.pinch), **command.pinch})
        self.engine = Interaction(touch=t, pinch=p, calibration=self.engine.calibration, plane=self.engine.plane)


def _fields(obj: TouchSettings | PinchSettings) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}
