"""An endless synthetic depth stream with ground truth: hands moving over a table, touching, pinching, coming and going.

:class:`SyntheticLive` is the demo's embedded default source: iterate it to get ``(DepthFrame, SynthTruth)`` at a
nominal 30 fps (timestamps advance by 1/fps; iteration itself is not throttled). Each hand is an agent that enters
from the user's table edge (the image bottom), wanders to random targets, lowers its fingertips onto the table,
hovers, lifts, animates its fingers through table gestures (pointing, pinching, flat hand, two-finger touch) and
eventually leaves; new hands appear while fewer than ``max_hands`` are present. Track ids are unique per agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.geometry.camera import INTRINSICS
from depthhand.structures import CameraIntrinsics, DepthFrame, FrameResult, Handedness, HandPose, TrackedHand
from depthhand.synth.hand_model import HandShape, sample_shape
from depthhand.synth.kinematics import rot_z
from depthhand.synth.pose_prior import PoseTrajectory

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SynthTruth:
    """Ground truth of one live frame (K hands in view or entering/leaving).

    Attributes:
        frame_index: Frame number.
        timestamp_us: Same as the frame's.
        joints_xyz_mm: (K, 21, 3) canonical joints, camera mm.
        joints_uvd: (K, 21, 3) pixels + depth mm.
        visibility: (K, 21) bool.
        handedness: Per hand.
        track_ids: Per hand, stable while the hand is present.
        fingertip_height_mm: (K, 5) lowest point of each fingertip (thumb first) above the table, mm.
        touch: (K, 5) bool, fingertip within ``scenes.TOUCH_MM`` of the table.
        table_plane: (4,) ``n · p = d`` in camera mm, n towards the camera.
        tip_centres_xyz_mm: (K, 5, 3) centre of each fingertip's sphere (thumb first), camera mm: the true contact
            is its foot on the table (as in :mod:`depthhand.synth.touch_scenes`); ``None`` for sources without
            hand geometry (the contact is then the tip joint's foot).
    """

    frame_index: int
    timestamp_us: int
    joints_xyz_mm: F64
    joints_uvd: F64
    visibility: npt.NDArray[np.bool_]
    handedness: tuple[Handedness, ...]
    track_ids: tuple[int, ...]
    fingertip_height_mm: F64
    touch: npt.NDArray[np.bool_]
    table_plane: F64
    tip_centres_xyz_mm: F64 | None = None

    def to_result(
        self, frame: DepthFrame, noise_mm: float = 0.0, rng: np.random.Generator | None = None
    ) -> FrameResult:
        """The true joints as a pipeline result (the ``poses=truth`` mode: no pose network, no timings).

        Args:
            frame: The frame this truth belongs to (intrinsics, index, time, source).
            noise_mm: Isotropic joint jitter σ, mm (0: the exact joints).
            rng: Source of the jitter (default: a fresh unseeded generator).

        Returns:
            One tracked hand per true hand (its ``track_id``), canonical joints in camera mm and pixels.
        """
        from depthhand.geometry.camera import xyz_to_uvd
        from depthhand.skeleton import CANONICAL21

        if noise_mm and rng is None:
            rng = np.random.default_rng()
        hands = []
        for k, track_id in enumerate(self.track_ids):
            exact = np.asarray(self.joints_xyz_mm[k], np.float64)
            joints = (exact + rng.normal(0, noise_mm, exact.shape) if noise_mm and rng else exact).astype(np.float32)
            uvd = xyz_to_uvd(joints, frame.intrinsics).astype(np.float32)
            hands.append(TrackedHand(track_id, HandPose(joints, uvd, CANONICAL21, handedness=self.handedness[k])))
        return FrameResult(frame.index, frame.timestamp_us, tuple(hands), {}, frame.source_id, frame.intrinsics)


@dataclass(slots=True)
class _Agent:
    track_id: int
    handedness: Handedness
    shape: HandShape
    traj: PoseTrajectory
    xy: F64
    target: F64
    yaw: float
    pitch: float
    roll: float
    clearance: float
    clearance_target: float
    age_s: float = 0.0
    life_s: float = 8.0
    leaving: bool = False
    retarget_s: float = 0.0
    arm_len: float = 260.0
    exit_xy: F64 = field(default_factory=lambda: np.zeros(2))


class SyntheticLive:
    """Iterable endless synthetic top-down stream with ground truth.

    Example:
        >>> live = SyntheticLive(seed=1)
        >>> frame, truth = next(iter(live))
        >>> frame.depth_mm.shape == (frame.intrinsics.height, frame.intrinsics.width)
        True
    """

    def __init__(
        self,
        scene: str = "topdown",
        seed: int = 1,
        intrinsics: CameraIntrinsics | None = None,
        fps: float = 30.0,
        noise: str | None = "default",
        max_hands: int = 2,
        table_distance_mm: float | None = None,
    ) -> None:
        if scene != "topdown":
            raise ValueError(f"SyntheticLive animates the 'topdown' scene only, got {scene!r}")
        if fps <= 0 or max_hands < 1:
            raise ValueError(f"fps must be > 0 and max_hands >= 1, got {fps}, {max_hands}")
        from depthhand.synth import scene_layout as sl

        self.scene, self.seed, self.fps, self.noise, self.max_hands = scene, seed, fps, noise, max_hands
        self._rng = np.random.default_rng(seed)
        self.intrinsics = intrinsics or INTRINSICS[sl.DEFAULT_INTRINSICS[scene]]
        self.rig = sl.sample_table_rig(self._rng, self.intrinsics, table_distance_mm)
        self._objects = sl.objects_on_table(self.rig, self._rng, [np.zeros(2)])
        self._agents: list[_Agent] = []
        self._next_id = 1
        self._index = 0
        self._spawn(in_view=True)

    # ---- agents -------------------------------------------------------------------------------------------
    def _extent(self) -> tuple[float, float]:
        return self.rig.visible_half_extent_mm()

    def _random_target(self, hand: Handedness) -> F64:
        """A target on the hand's own side of the table (right hand: image right), so hands rarely collide."""
        hx, hy = self._extent()
        lo, hi = (-0.05, 0.65) if hand is Handedness.RIGHT else (-0.65, 0.05)
        return np.array([self._rng.uniform(lo, hi) * hx, self._rng.uniform(-0.5, 0.5) * hy])

    def _spawn(self, in_view: bool = False) -> None:
        from depthhand.synth.scene_layout import TABLE_TEMPLATES

        rng = self._rng
        _, hy = self._extent()
        taken = {a.handedness for a in self._agents}
        hand = Handedness.RIGHT if rng.random() < 0.6 else Handedness.LEFT
        if hand in taken:
            hand = Handedness.LEFT if hand is Handedness.RIGHT else Handedness.RIGHT
        shape = sample_shape(rng, (0.85, 1.15))
        target = self._random_target(hand)
        start = np.array([target[0], -1.5 * hy - 150])
        self._agents.append(
            _Agent(
                track_id=self._next_id,
                handedness=hand,
                shape=shape,
                traj=PoseTrajectory(rng, shape, templates=TABLE_TEMPLATES),
                xy=target.copy() if in_view else start,
                target=target,
                yaw=float(rng.uniform(-25, 25)),
                pitch=float(rng.uniform(10, 30)),
                roll=float(rng.normal(0, 8)),
                clearance=40.0 if in_view else 150.0,
                clearance_target=60.0,
                life_s=float(rng.uniform(5, 14)),
                arm_len=float(rng.uniform(220, 300)),
                exit_xy=np.array([start[0], start[1] - 200]),
            )
        )
        self._next_id += 1

    def _update(self, a: _Agent, dt: float) -> None:
        rng = self._rng
        a.age_s += dt
        a.retarget_s -= dt
        if not a.leaving and a.age_s > a.life_s:
            a.leaving, a.target, a.clearance_target = True, a.exit_xy, 120.0
        if not a.leaving and a.retarget_s <= 0:
            a.retarget_s = float(rng.uniform(0.8, 2.5))
            if rng.random() < 0.5:
                a.target = self._random_target(a.handedness)
            mode = rng.random()
            a.clearance_target = 0.0 if mode < 0.5 else float(rng.uniform(5, 60)) if mode < 0.8 else 120.0
            a.yaw = float(np.clip(a.yaw + rng.normal(0, 10), -35, 35))
            a.pitch = float(np.clip(a.pitch + rng.normal(0, 5), 5, 35))
        step = a.target - a.xy
        dist = float(np.linalg.norm(step))
        speed = min(450.0 * dt, 3.0 * dt * dist)
        if dist > 1e-6:
            a.xy = a.xy + step / dist * min(speed, dist)
        a.clearance += (a.clearance_target - a.clearance) * min(1.0, 5.0 * dt)
        if abs(a.clearance - a.clearance_target) < 0.5:
            a.clearance = a.clearance_target

    # ---- iteration ----------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[DepthFrame, SynthTruth]]:
        while True:
            yield self.next_frame()

    def _advance_agents(self, dt: float) -> None:
        """Move, retire and spawn the agents by one frame (nothing on the first frame)."""
        if self._index > 0:
            for a in self._agents:
                self._update(a, dt)
            _, hy = self._extent()
            self._agents = [a for a in self._agents if not (a.leaving and a.xy[1] < -1.5 * hy)]
            if len(self._agents) < self.max_hands and self._rng.random() < 0.4 * dt:
                self._spawn()
            if not self._agents:
                self._spawn()

    def skip(self, frames: int) -> None:
        """Advance the animation by ``frames`` frames without rendering them (training data: random moments).

        The stream after a skip differs from the one that renders every frame (rendering draws sensor noise from
        the same generator), so a benchmark never skips.

        Raises:
            ValueError: ``frames`` < 0.
        """
        if frames < 0:
            raise ValueError(f"frames must be >= 0, got {frames}")
        dt = 1.0 / self.fps
        for _ in range(frames):
            self._advance_agents(dt)
            for a in self._agents:
                a.traj.step(dt)
            self._index += 1

    def next_frame(self) -> tuple[DepthFrame, SynthTruth]:
        """Advance by one frame and render it."""
        frame, truth, _ = self.next_frame_with_sample()
        return frame, truth

    def next_frame_with_sample(self) -> tuple[DepthFrame, SynthTruth, Any]:
        """As :meth:`next_frame`, plus the rendered ``SynthSample`` (boxes, palm centres; for detector labels).

        Returns:
            ``(frame, truth, sample)``; ``sample.depth_mm`` is the (H, W) float32 depth before the sensor's
            depth-unit rounding that ``frame`` carries.
        """
        from depthhand.synth import scene_layout as sl
        from depthhand.synth.raycast import Primitives
        from depthhand.synth.scenes import Scene, render_scene

        dt = 1.0 / self.fps
        self._advance_agents(dt)
        hands, geos, env = [], [], [Primitives(planes=self.rig.plane[None], plane_tags=np.array([sl.OTHER], np.int32))]
        up = self.rig.r_cw @ np.array([0.0, 0.0, 1.0])
        for k, a in enumerate(self._agents):
            angles = a.traj.step(dt)
            state, geo = sl.table_hand(
                self.rig, a.handedness, angles, a.shape, a.xy, a.yaw, a.clearance, a.pitch, a.roll
            )
            hands.append(state)
            geos.append(geo)
            back = self.rig.r_cw @ (rot_z(a.yaw) @ np.array([0.0, -1.0, 0.0]))
            env.append(sl.upper_arm(geo, k, up, back, np.random.default_rng(a.track_id)))
        env.append(self._objects)
        from depthhand.synth.raycast import concat_primitives

        scene = Scene("topdown", self.intrinsics, tuple(hands), tuple(geos), concat_primitives(env), self.rig.plane)
        sample = render_scene(scene, self._rng, self.noise)
        unit = self.intrinsics.depth_unit_mm
        depth = (np.round(sample.depth_mm / unit) * unit).astype(np.float32)
        ts = round(self._index * 1e6 / self.fps)
        frame = DepthFrame(depth, self.intrinsics, ts, f"synthetic:{self.scene}:{self.seed}", self._index)
        truth = SynthTruth(
            frame_index=self._index,
            timestamp_us=ts,
            joints_xyz_mm=sample.joints_xyz_mm,
            joints_uvd=sample.joints_uvd,
            visibility=sample.visibility,
            handedness=sample.handedness,
            track_ids=tuple(a.track_id for a in self._agents),
            fingertip_height_mm=sample.fingertip_height_mm,
            touch=sample.touch,
            table_plane=self.rig.plane.copy(),
            tip_centres_xyz_mm=np.stack([g.tip_spheres[:, :3] for g in geos]) if geos else np.zeros((0, 5, 3)),
        )
        self._index += 1
        return frame, truth, sample
