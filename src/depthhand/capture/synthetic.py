"""``synthetic://SCENE?seed=&fps=&noise=&hands=&realtime=``: the synthetic live scene as a depth source.

The source wraps :class:`depthhand.synth.live.SyntheticLive` and keeps the ground truth of the latest frame in
:attr:`SyntheticSource.last_truth`, so a pipeline running on it can measure its own accuracy. With ``realtime=1``
(the default) frames are paced at ``fps`` like a camera; ``realtime=0`` renders as fast as possible (offline
evaluation and benchmarks).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from depthhand.capture.base import DepthSource
from depthhand.geometry.camera import INTRINSICS
from depthhand.structures import CameraIntrinsics, DepthFrame

_PARAMS = {"seed": int, "fps": float, "noise": str, "hands": int, "realtime": int, "intrinsics": str}


class SyntheticSource(DepthSource):
    """An endless animated top-down scene with ground truth (see the module docstring)."""

    is_live = True

    def __init__(
        self,
        scene: str = "topdown",
        seed: int = 1,
        fps: float = 30.0,
        noise: str | None = "default",
        hands: int = 2,
        realtime: bool = True,
        intrinsics: CameraIntrinsics | None = None,
        url: str = "synthetic://topdown",
    ) -> None:
        super().__init__(url)
        self.scene, self.seed, self.fps, self.noise, self.hands = scene, seed, fps, noise, hands
        self.realtime = realtime
        self._intrinsics_override = intrinsics
        self._live: Any = None
        self._next_t = 0.0
        self.last_truth: Any = None
        self._truths: OrderedDict[int, Any] = OrderedDict()

    def _open(self) -> CameraIntrinsics:
        from depthhand.synth.live import SyntheticLive

        self._live = SyntheticLive(
            scene=self.scene,
            seed=self.seed,
            intrinsics=self._intrinsics_override,
            fps=self.fps,
            noise=self.noise,
            max_hands=self.hands,
        )
        self._next_t = time.monotonic()
        intrinsics: CameraIntrinsics = self._live.intrinsics
        return intrinsics

    def _read(self) -> DepthFrame | None:
        if self.realtime:
            delay = self._next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next_t = max(self._next_t + 1.0 / self.fps, time.monotonic() - 1.0 / self.fps)
        frame, truth = self._live.next_frame()
        self.last_truth = truth
        self._truths[frame.index] = truth
        while len(self._truths) > 256:
            self._truths.popitem(last=False)
        return DepthFrame(frame.depth_mm, frame.intrinsics, frame.timestamp_us, self.url, frame.index)

    def _close(self) -> None:
        self._live = None

    def truth_for(self, frame_index: int) -> Any:
        """Ground truth (:class:`depthhand.synth.live.SynthTruth`) of a recent frame, or ``None`` if too old."""
        return self._truths.get(frame_index)


def open_synthetic(url: str, rest: str, params: dict[str, str]) -> SyntheticSource:
    """Build a :class:`SyntheticSource` from the parts of a ``synthetic://`` URL.

    Raises:
        ValueError: For an unknown parameter or a bad value (the message lists the accepted ones).
    """
    scene = rest.strip("/") or "topdown"
    kw: dict[str, Any] = {}
    for key, value in params.items():
        if key not in _PARAMS:
            raise ValueError(f"{url}: unknown parameter {key!r}; accepted: {sorted(_PARAMS)}")
        try:
            kw[key] = _PARAMS[key](value)
        except ValueError as exc:
            raise ValueError(f"{url}: parameter {key}={value!r} is not a valid {_PARAMS[key].__name__}") from exc
    intrinsics = None
    if "intrinsics" in kw:
        name = kw.pop("intrinsics")
        if name not in INTRINSICS:
            raise ValueError(f"{url}: unknown intrinsics preset {name!r}; known: {sorted(INTRINSICS)}")
        intrinsics = INTRINSICS[name]
    noise = kw.pop("noise", "default")
    return SyntheticSource(
        scene=scene,
        seed=kw.get("seed", 1),
        fps=kw.get("fps", 30.0),
        noise=None if noise in ("none", "") else noise,
        hands=kw.get("hands", 2),
        realtime=bool(kw.get("realtime", 1)),
        intrinsics=intrinsics,
        url=url,
    )
