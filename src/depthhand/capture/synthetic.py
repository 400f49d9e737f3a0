"""Scene sources: synthetic and scripted scenes as depth sources that know the truth of every frame.

* ``synthetic://SCENE?seed=&fps=&noise=&hands=&realtime=&intrinsics=&poses=``: :class:`SyntheticSource`, the
  rendered hand scene of :mod:`depthhand.synth.live`. ``poses=truth`` asks the pipeline to take the true joints
  as its poses (the touch logic and the viewer on realistic scenes, without the pose network).
* ``scripted://SCRIPT?fps=&noise=&seed=&realtime=``: :class:`ScriptedSource`, the scripted hands of
  :mod:`depthhand.synth.scripted` over a tilted table (scripts ``demo``, ``tap``, ``hover``, ``calibration``:
  the user of :mod:`depthhand.synth.calibration_user`, and ``paint``: the projector page's user of
  :mod:`depthhand.synth.projector_user`). Its poses always come from the script.

With ``realtime=1`` (the default) frames are paced at ``fps`` like a camera; ``realtime=0`` renders as fast as
possible (offline evaluation and benchmarks). :meth:`SceneSource.truth_for` gives the ground truth of a recent
frame, so a pipeline running on the source can measure its own accuracy.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

from depthhand.capture.base import DepthSource, MissingExtraError
from depthhand.capture.params import take_params
from depthhand.geometry.camera import parse_intrinsics
from depthhand.structures import CameraIntrinsics, DepthFrame

if TYPE_CHECKING:
    from depthhand.synth.calibration_user import SessionFn
    from depthhand.synth.live import SynthTruth
    from depthhand.synth.scripted import TruthFrame

SceneTruth: TypeAlias = "SynthTruth | TruthFrame"
"""The ground truth of one frame of a scene source."""

POSES = ("network", "truth")
SCRIPTS = ("demo", "tap", "hover", "calibration", "paint")
_KEEP_TRUTHS = 256


class SceneSource(DepthSource):
    """A rendered scene: frames come with their ground truth.

    Attributes:
        poses_from_truth: The pipeline should take the true joints as its poses instead of running the network.
        fps: Frame rate, frames/s.
    """

    is_live = True
    poses_from_truth: bool = False
    fps: float = 30.0

    def __init__(self, url: str, fps: float, realtime: bool) -> None:
        super().__init__(url)
        if not 0 < fps <= 240:
            raise ValueError(f"{url}: fps must be in (0, 240], got {fps}")
        self.fps, self.realtime = fps, realtime
        self._truths: OrderedDict[int, SceneTruth] = OrderedDict()
        self._next_t = 0.0

    def _pace(self) -> None:
        if not self.realtime:
            return
        delay = self._next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_t = max(self._next_t + 1.0 / self.fps, time.monotonic() - 1.0 / self.fps)

    def _keep(self, index: int, truth: SceneTruth) -> None:
        self._truths[index] = truth
        while len(self._truths) > _KEEP_TRUTHS:
            self._truths.popitem(last=False)

    def truth_for(self, frame_index: int) -> SceneTruth | None:
        """Ground truth of one of the last 256 frames, or ``None`` if it is older."""
        return self._truths.get(frame_index)


class SyntheticSource(SceneSource):
    """An endless animated scene of :mod:`depthhand.synth.live` (see the module docstring)."""

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
        poses: str = "network",
    ) -> None:
        super().__init__(url, fps, realtime)
        if poses not in POSES:
            raise ValueError(f"{url}: poses must be one of {POSES}, got {poses!r}")
        self.scene, self.seed, self.noise, self.hands = scene, seed, noise, hands
        self.poses_from_truth = poses == "truth"
        self._intrinsics_override = intrinsics
        self._live: Any = None
        self.last_truth: SynthTruth | None = None

    def _open(self) -> CameraIntrinsics:
        try:
            from depthhand.synth.live import SyntheticLive
        except ImportError as exc:
            raise MissingExtraError(f"{self.url}: synthetic scenes need the [synth] extra (numba): {exc}") from exc
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
        self._pace()
        frame, truth = self._live.next_frame()
        self.last_truth = truth
        self._keep(frame.index, truth)
        return DepthFrame(frame.depth_mm, frame.intrinsics, frame.timestamp_us, self.url, frame.index)

    def _close(self) -> None:
        self._live = None


class ScriptedSource(SceneSource):
    """Scripted hands over the tilted table of :func:`depthhand.synth.scripted.default_scene`, rendered depth.

    Args:
        script: One of :data:`SCRIPTS`.
        fps: Frame rate, frames/s.
        noise_mm: Joint jitter σ along the viewing ray, mm (the "pose" the pipeline reports); ``None``: 2 mm for the
            ``demo`` script (a realistic viewer), 0 for the others (exact geometry: the calibration user's touches
            land where the true homography says).
        seed: Jitter seed.
        realtime: Pace frames at ``fps`` and stamp them with wall-clock time.
        url: Source id.

    Attributes:
        session: For the ``calibration`` script: reads the server's calibration session (the targets to touch).
            The server sets it; without it the user waits beside the table.
    """

    poses_from_truth = True

    def __init__(
        self,
        script: str = "demo",
        fps: float = 30.0,
        noise_mm: float | None = None,
        seed: int = 0,
        realtime: bool = True,
        url: str = "scripted://demo",
    ) -> None:
        super().__init__(url, fps, realtime)
        if script not in SCRIPTS:
            raise ValueError(f"{url}: unknown script {script!r}; known: {', '.join(SCRIPTS)}")
        if noise_mm is None:
            noise_mm = 2.0 if script == "demo" else 0.0
        if not 0 <= noise_mm <= 50:
            raise ValueError(f"{url}: noise must be a joint jitter in [0, 50] mm, got {noise_mm}")
        self.script, self.noise_mm, self.seed = script, noise_mm, seed
        self.session: SessionFn | None = None
        self._frames: Iterator[TruthFrame] | None = None

    def _script(self) -> Callable[[float], list[Any]]:
        from depthhand.synth import scripted
        from depthhand.synth.projector_user import paint_script

        if self.script == "calibration":
            from depthhand.synth.calibration_user import calibration_user

            user = calibration_user(lambda: self.session() if self.session is not None else None, self.fps)
            return lambda _t: [next(user)]
        fn: Callable[[float], list[Any]] = {
            "demo": scripted.demo_script,
            "tap": scripted.tap_script,
            "hover": scripted.hover_script,
            "paint": paint_script,
        }[self.script]()
        return fn

    def _open(self) -> CameraIntrinsics:
        from depthhand.synth.scripted import default_scene, scripted_frames

        plane, intrinsics = default_scene()
        self._frames = scripted_frames(
            self._script(),
            plane,
            intrinsics,
            fps=self.fps,
            noise_mm=self.noise_mm,
            seed=self.seed,
            render=True,
            realtime=self.realtime,
        )
        return intrinsics

    def _read(self) -> DepthFrame | None:
        assert self._frames is not None
        truth = next(self._frames)
        index, stamp = truth.result.frame_index, truth.result.timestamp_us
        self._keep(index, truth)
        assert truth.depth_mm is not None and truth.result.intrinsics is not None
        return DepthFrame(truth.depth_mm, truth.result.intrinsics, stamp, self.url, index)

    def _close(self) -> None:
        self._frames = None


def _intrinsics(spec: str) -> CameraIntrinsics:
    return parse_intrinsics(spec)  # a preset, an intrinsics JSON file or fx,fy,cx,cy,width,height


def open_synthetic(url: str, rest: str, params: dict[str, str]) -> SyntheticSource:
    """A :class:`SyntheticSource` from the parts of a ``synthetic://`` URL.

    Raises:
        ValueError: For an unknown parameter or a bad value (the message lists the accepted ones).
    """
    kw = take_params(
        params,
        {
            "seed": int,
            "fps": float,
            "noise": str,
            "hands": int,
            "realtime": int,
            "intrinsics": _intrinsics,
            "poses": str,
        },
        url,
    )
    noise = kw.get("noise", "default")
    return SyntheticSource(
        scene=rest.strip("/") or "topdown",
        seed=kw.get("seed", 1),
        fps=kw.get("fps", 30.0),
        noise=None if noise in ("none", "") else noise,
        hands=kw.get("hands", 2),
        realtime=bool(kw.get("realtime", 1)),
        intrinsics=kw.get("intrinsics"),
        url=url,
        poses=kw.get("poses", "network"),
    )


def open_scripted(url: str, rest: str, params: dict[str, str]) -> ScriptedSource:
    """A :class:`ScriptedSource` from the parts of a ``scripted://`` URL.

    Raises:
        ValueError: For an unknown script or parameter, or a bad value.
    """
    kw = take_params(params, {"fps": float, "noise": float, "seed": int, "realtime": int}, url)
    return ScriptedSource(
        script=rest.strip("/") or "demo",
        fps=kw.get("fps", 30.0),
        noise_mm=kw.get("noise"),
        seed=kw.get("seed", 0),
        realtime=bool(kw.get("realtime", 1)),
        url=url,
    )
