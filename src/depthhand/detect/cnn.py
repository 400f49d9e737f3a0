"""The learned depth-only hand detector at run time: ONNX Runtime, no torch.

:class:`CnnHandDetector` downscales the frame to the network input (160×120 letterbox, prepared by
:mod:`depthhand.detect.cnn_input`), runs the CenterNet-style network trained by ``depthhand train-detector``
(:mod:`depthhand.train.detector`), decodes up to four hands (:mod:`depthhand.detect.cnn_decode`) and measures each
hand's depth in the full-resolution frame: the near layer of the valid pixels around the predicted centre, plus a
fixed offset from the palm surface to the palm centre.

It is for frames where the hand need not be the nearest object (top-down over a table, egocentric, several hands);
it is not a pose estimator and its centre is a crop centre (≈ 10–20 mm accuracy), not a joint.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from depthhand.detect.base import MAX_HANDS
from depthhand.detect.cnn_decode import (
    FAR_MM,
    INPUT_HEIGHT,
    INPUT_WIDTH,
    STRIDE,
    Letterbox,
    Peak,
    decode_outputs,
    surface_depth,
)
from depthhand.detect.cnn_input import DetectorInput
from depthhand.structures import DepthFrame, HandBox, Handedness

__all__ = ["DEFAULT_MODEL", "CnnHandDetector"]

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "weights" / "detector.onnx"
PALM_OFFSET_MM = 14.0
"""Default distance from the visible palm surface to the palm centre (mean of wrist and finger MCPs), mm: the
median over 328 synthetic hands (10th–90th percentile 10–40 mm; topdown 12, frontal 16, egocentric 19)."""


class CnnHandDetector:
    """Find up to ``max_hands`` hands (with left/right) in a depth frame with the learned detector.

    Args:
        model_path: ONNX file written by ``depthhand train-detector`` (default: the shipped weights).
        score_threshold: Minimum centre probability of a detection.
        max_hands: Maximum number of hands returned (≤ 4 recommended).
        threads: ONNX Runtime intra-op threads.
        near_mm: Depths nearer than this are treated as invalid.
        far_mm: Depths farther than this are treated as invalid.
        palm_offset_mm: Added to the measured palm-surface depth to get the centre depth (model metadata wins).

    Raises:
        FileNotFoundError: If ``model_path`` does not exist.
        ValueError: If the file is not a loadable detector ONNX model or an argument is out of range.

    Example:
        >>> detector = CnnHandDetector()  # doctest: +SKIP
        >>> boxes = detector.detect(frame)  # doctest: +SKIP
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        score_threshold: float = 0.3,
        max_hands: int = MAX_HANDS,
        threads: int = 2,
        near_mm: float = 100.0,
        far_mm: float = 8000.0,
        palm_offset_mm: float | None = None,
    ) -> None:
        from depthhand.runtime import inference_session

        path = Path(model_path) if model_path is not None else DEFAULT_MODEL
        if not path.is_file():
            raise FileNotFoundError(f"detector model not found: {path}")
        if not 0.0 < score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in (0, 1), got {score_threshold}")
        if max_hands < 1:
            raise ValueError(f"max_hands must be ≥ 1, got {max_hands}")
        if not 0 <= near_mm < far_mm:
            raise ValueError(f"need 0 ≤ near_mm < far_mm, got {near_mm}, {far_mm}")
        try:  # the process's shared pool, no spinning, optimised graph cached (depthhand.runtime)
            self._session = inference_session(path, threads)
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
            raise ValueError(f"cannot load detector model {path}: {exc}") from exc
        meta = self._session.get_modelmeta().custom_metadata_map
        if meta.get("depthhand.model") != "hand_detector":
            raise ValueError(f"{path} is not a depthhand hand-detector model (metadata 'depthhand.model' missing)")
        self.model_path = path
        self.metadata = dict(meta)
        self.input_width = int(meta.get("input_width", INPUT_WIDTH))
        self.input_height = int(meta.get("input_height", INPUT_HEIGHT))
        self.stride = int(meta.get("stride", STRIDE))
        self.norm_far_mm = float(meta.get("far_mm", FAR_MM))
        self.palm_offset_mm = (
            float(palm_offset_mm) if palm_offset_mm is not None else float(meta.get("palm_offset_mm", PALM_OFFSET_MM))
        )
        self.score_threshold = float(score_threshold)
        self.max_hands = int(max_hands)
        self.near_mm, self.far_mm = float(near_mm), float(far_mm)
        self._input_name = self._session.get_inputs()[0].name
        self._local = threading.local()

    @property
    def classes(self) -> list[str]:
        """Class names stored in the model (``["hand"]``)."""
        classes: list[str] = json.loads(self.metadata.get("classes", '["hand"]'))
        return classes

    def detect(self, frame: DepthFrame) -> list[HandBox]:
        """Hands in ``frame``, best first (empty for a frame without valid depth).

        Raises:
            TypeError: If ``frame`` is not a :class:`DepthFrame`.
        """
        if not isinstance(frame, DepthFrame):
            raise TypeError(
                f"CnnHandDetector.detect takes a depthhand.structures.DepthFrame, got {type(frame).__name__}"
            )
        prepared = self._prepare(frame.depth_mm)
        if prepared is None:
            return []
        x, box = prepared
        heat, right, offset, ltrb = self._session.run(None, {self._input_name: x})
        peaks = decode_outputs(
            heat[0, 0], right[0, 0], offset[0], ltrb[0], self.score_threshold, self.max_hands, stride=self.stride
        )
        return [hb for p in peaks if (hb := self._to_hand_box(p, frame, box)) is not None]

    @property
    def _prepare(self) -> DetectorInput:
        """This thread's input preparation (its buffers are reused frame after frame)."""
        prep: DetectorInput | None = getattr(self._local, "prep", None)
        if prep is None:
            prep = DetectorInput(self.near_mm, self.far_mm, self.input_width, self.input_height, self.norm_far_mm)
            self._local.prep = prep
        return prep

    def _to_hand_box(self, peak: Peak, frame: DepthFrame, lb: Letterbox) -> HandBox | None:
        # Scalar float64 arithmetic throughout (the same operations as Letterbox.to_frame, np.clip and
        # geometry.camera.uvd_to_xyz, without a numpy call per number).
        intr = frame.intrinsics
        s, shift = lb.scale, (lb.scale - 1.0) / 2.0
        # A centre decoded in the letterbox's padding (or a cell offset of 1 at the border) would lie off the
        # frame; keep it on the nearest pixel, so that every crop the pipeline cuts is centred in the image.
        cu = min(max((float(peak.center_uv[0]) - shift) / s, 0.0), intr.width - 1)
        cv = min(max((float(peak.center_uv[1]) - shift) / s, 0.0), intr.height - 1)
        limits = (intr.width - 0.5, intr.height - 0.5) * 2
        corners = [min(max((float(x) - shift) / s, -0.5), hi) for x, hi in zip(peak.box_xyxy, limits, strict=True)]
        side = min(corners[2] - corners[0], corners[3] - corners[1])
        radius = int(min(max(0.2 * side, 2), 24))
        # Valid pixels as for the network input: finite, > 0 and within [near_mm, far_mm].
        depth, center_uv = frame.depth_mm, (cu, cv)
        z_surface = surface_depth(depth, center_uv, radius, near_mm=self.near_mm, far_mm=self.far_mm)
        if z_surface <= 0:
            z_surface = surface_depth(depth, center_uv, 3 * radius, near_mm=self.near_mm, far_mm=self.far_mm)
        if z_surface <= 0:
            return None
        center_uvd = np.array([cu, cv, z_surface + self.palm_offset_mm], np.float32)
        u, v, d = (float(x) for x in center_uvd)
        xyz = np.array([(u - intr.cx) * d / intr.fx, (v - intr.cy) * d / intr.fy, d], np.float32)
        if peak.right_prob >= 0.6:
            hand = Handedness.RIGHT
        elif peak.right_prob <= 0.4:
            hand = Handedness.LEFT
        else:
            hand = Handedness.UNKNOWN
        return HandBox(
            center_uvd=center_uvd,
            center_xyz_mm=xyz,
            box_xyxy=np.array(corners, np.float32),
            score=float(peak.score),
            handedness=hand,
        )
