"""Stage 6 glue: tracked hands → fingertip heights, touch/hover states, pinches and events in projector pixels."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from depthhand.geometry.plane import Plane, signed_height
from depthhand.interact.calibration import Calibration
from depthhand.interact.contact import ContactReading, ContactSettings, hand_box, measure_hand, palm_pixel_height
from depthhand.interact.fused import RestState, palm_joint_height
from depthhand.interact.gestures import PinchReading, PinchSettings, PinchTracker
from depthhand.interact.position import pose_contacts
from depthhand.interact.surface import SurfaceModel, SurfaceSettings
from depthhand.interact.touch import (
    EventType,
    FingerState,
    InteractionEvent,
    TouchSettings,
    TouchState,
    TouchTracker,
    fingertips,
    point_height,
)
from depthhand.skeleton import Finger
from depthhand.structures import FrameResult


@dataclass(frozen=True, slots=True)
class FingerReading:
    """One fingertip in one frame.

    Attributes:
        finger: Which finger.
        state: none / hover / touch.
        height_mm: Height above the plane, mm.
        px: Projector pixel when calibrated.
        uv: Normalised projector coordinates when calibrated.
        contact_id: Current contact id (0 when none).
        rule: The rule that decided the state (``"pose"`` / ``"pixels"``).
        touch_xyz_mm: (3,) where the finger touches (pixel rule: the contact blob's centroid on the plane; pose
            rule: the pose contact, :func:`~depthhand.interact.position.pose_contact`; fused rule: the first where
            trusted, else the second: :func:`~depthhand.interact.position.locate`), camera mm; ``None`` when not
            touching.
    """

    finger: Finger
    state: TouchState
    height_mm: float
    px: tuple[float, float] | None
    uv: tuple[float, float] | None
    contact_id: int
    rule: str = "pose"
    touch_xyz_mm: tuple[float, float, float] | None = None


@dataclass(frozen=True, slots=True)
class HandInteraction:
    """Interaction state of one tracked hand.

    Attributes:
        hand_id: Track id.
        fingers: Per-finger readings (the fingers in the touch settings).
        pinch: Pinch status.
        joints_projector_px: (J, 2) float64 joints in projector pixels when calibrated, else ``None``.
    """

    hand_id: int
    fingers: tuple[FingerReading, ...]
    pinch: PinchReading
    joints_projector_px: npt.NDArray[np.float64] | None


@dataclass(frozen=True, slots=True)
class InteractionFrame:
    """Everything stage 6 computed for one frame."""

    hands: dict[int, HandInteraction]
    events: tuple[InteractionEvent, ...]


@dataclass
class Interaction:
    """Stateful touch/hover/pinch processor for a stream of :class:`~depthhand.structures.FrameResult`.

    Without a plane (not calibrated yet) no touch/hover decisions are made; pinches still are. With
    ``touch.rule == "pixels"`` and the frame's depth given to :meth:`process`, a
    :class:`~depthhand.interact.surface.SurfaceModel` learns the table (its first ``learn_frames`` frames) and each
    fingertip near the table is decided from its pixels (:func:`~depthhand.interact.contact.measure_hand`); the pose
    rule decides until then and wherever the pixels are missing.

    Example:
        >>> engine = Interaction(touch=TouchSettings(), plane=Plane.facing_camera(900.0))
        >>> # frame = engine.process(result); frame.events → touch_down / move / up ...
    """

    touch: TouchSettings = field(default_factory=TouchSettings)
    pinch: PinchSettings = field(default_factory=PinchSettings)
    calibration: Calibration = field(default_factory=Calibration)
    plane: Plane | None = None
    contact: ContactSettings = field(default_factory=ContactSettings)
    surface_settings: SurfaceSettings = field(default_factory=SurfaceSettings)
    surface: SurfaceModel | None = None
    _touch: TouchTracker = field(init=False)
    _pinch: PinchTracker = field(init=False)
    _rest: RestState = field(init=False)

    def __post_init__(self) -> None:
        self._touch = TouchTracker(self.touch)
        self._rest = RestState({})
        self._pinch = PinchTracker(self.pinch)
        if self.plane is None:
            self.plane = self.calibration.plane

    def set_calibration(self, calibration: Calibration) -> None:
        """Use a new calibration (and its plane, when it has one)."""
        self.calibration = calibration
        if calibration.plane is not None:
            self.plane = calibration.plane

    def _map(self, xyz: np.ndarray) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
        if not self.calibration.can_map:
            return None, None
        px = self.calibration.to_projector(np.asarray(xyz, dtype=np.float64).reshape(1, 3))[0]
        w, h = self.calibration.projector_size
        return (float(px[0]), float(px[1])), (float(px[0]) / w, float(px[1]) / h)

    def _pixel_readings(
        self, result: FrameResult, depth_mm: npt.NDArray[np.floating] | None
    ) -> dict[tuple[int, Finger], ContactReading] | None:
        """Observe the depth in the surface model and measure the fingertips (``None``: the pose rule decides)."""
        k, plane = result.intrinsics, self.plane
        if self.touch.rule == "pose" or depth_mm is None or k is None or plane is None:
            return None
        if np.shape(depth_mm) != (k.height, k.width):
            return None
        s = self.surface
        if s is None or s.plane is not plane or s.intrinsics != k:
            s = self.surface = SurfaceModel(k, plane, self.surface_settings)
        boxes = [b for b in (hand_box(th.pose.joints_xyz_mm, s) for th in result.hands) if b is not None]
        s.observe(depth_mm, boxes)
        if not s.ready:
            return None
        out: dict[tuple[int, Finger], ContactReading] = {}
        for th in result.hands:
            readings = measure_hand(
                depth_mm, s, plane, th.pose.joints_xyz_mm, th.pose.joint_set, self.touch.fingers, self.contact
            )
            out.update({(th.track_id, f): r for f, r in readings.items()})
        return out

    def _resting(self, result: FrameResult, depth_mm: npt.NDArray[np.floating] | None, pixels: bool) -> set[int]:
        """Hands whose palm rests on the table this frame (palm rejection; see :mod:`depthhand.interact.fused`)."""
        t, plane, s = self.touch, self.plane, self.surface
        if plane is None or t.palm_rest_mm <= 0:
            return set()
        out = set()
        for th in result.hands:
            pose_mm = palm_joint_height(th.pose.joints_xyz_mm, th.pose.joint_set, plane)
            pix = None
            if pixels and depth_mm is not None and s is not None and s.ready:
                pix = palm_pixel_height(depth_mm, s, th.pose.joints_xyz_mm, th.pose.joint_set)
            self._rest.update(th.track_id, pose_mm, pix, t.palm_rest_mm, t.palm_rest_pixels_mm, t.palm_release_mm)
            if self._rest.rejected(th.track_id, pose_mm, t.palm_hold_frames, t.palm_clear_mm):
                out.add(th.track_id)
        self._rest.forget({th.track_id for th in result.hands})
        return out

    def process(self, result: FrameResult, depth_mm: npt.NDArray[np.floating] | None = None) -> InteractionFrame:
        """Update the state machines with one frame's hands.

        Args:
            result: The pipeline's frame.
            depth_mm: Its (H, W) depth image, mm (used by the pixel rule; ignored by the pose rule).
        """
        tips_by_hand = {th.track_id: fingertips(th.pose.joints_xyz_mm, th.pose.joint_set) for th in result.hands}
        events: list[InteractionEvent] = []
        pixels = self._pixel_readings(result, depth_mm)
        resting = self._resting(result, depth_mm, pixels is not None)
        if self.plane is not None:
            r_mm = self.touch.position_tip_radius_mm
            contacts = {
                th.track_id: pose_contacts(th.pose.joints_xyz_mm, th.pose.joint_set, self.plane, r_mm)
                for th in result.hands
            }
            events.extend(self._touch.update(tips_by_hand, self.plane, result.timestamp_us, pixels, resting, contacts))
        hands: dict[int, HandInteraction] = {}
        for th in result.hands:
            tips = tips_by_hand[th.track_id]
            reading = self._pinch.update(th.track_id, tips[Finger.THUMB], tips[Finger.INDEX])
            if reading.started or reading.ended:
                etype = EventType.PINCH_START if reading.started else EventType.PINCH_END
                mid = np.asarray(reading.midpoint_xyz_mm)
                h = float(signed_height(mid, self.plane)) if self.plane is not None else float("nan")
                events.append(self._pinch_event(etype, reading.contact_id, th.track_id, result.timestamp_us, mid, h))
            fingers = []
            for finger in self.touch.fingers:
                key = (th.track_id, finger)
                st = self._touch.states.get(key, FingerState())
                rule = self._touch.rules.get(key, "pose")
                h = point_height(tips[finger], self.plane) if self.plane is not None else float("nan")
                at = tips[finger]
                if st.state is TouchState.TOUCH:  # where the rule reports the touch
                    reported = self._touch.reported_xyz(key)
                    at = at if reported is None else reported
                if rule == "fused":
                    h = st.height_mm
                elif rule == "pixels" and pixels is not None and key in pixels:
                    h = pixels[key].height_mm
                    if pixels[key].xyz_mm is not None:
                        at = np.asarray(pixels[key].xyz_mm)
                touch_xyz = (float(at[0]), float(at[1]), float(at[2])) if st.state is TouchState.TOUCH else None
                px, uv = self._map(at)
                fingers.append(FingerReading(finger, st.state, h, px, uv, st.contact_id, rule, touch_xyz))
            joints_projector_px = None
            if self.calibration.can_map:
                joints_projector_px = np.asarray(self.calibration.to_projector(th.pose.joints_xyz_mm), dtype=np.float64)
            hands[th.track_id] = HandInteraction(th.track_id, tuple(fingers), reading, joints_projector_px)
        for hand_id, contact in self._pinch.end_missing(set(hands)):
            events.append(self._pinch_event(EventType.PINCH_END, contact, hand_id, result.timestamp_us, np.zeros(3), 0))
        mapped = []
        for ev in events:
            px, uv = self._map(np.asarray(ev.xyz_mm))
            mapped.append(ev if px is None and ev.px is None and ev.uv is None else replace(ev, px=px, uv=uv))
        return InteractionFrame(hands, tuple(mapped))

    def _pinch_event(
        self, etype: EventType, contact: int, hand_id: int, t_us: int, xyz: np.ndarray, h: float
    ) -> InteractionEvent:
        ev = InteractionEvent(
            etype,
            self._touch._next_event,
            contact,
            hand_id,
            Finger.INDEX,
            t_us,
            (float(xyz[0]), float(xyz[1]), float(xyz[2])),
            h,
        )
        self._touch._next_event += 1
        return ev
