"""The held-out synthetic hard set (issue 17 §1): generation, a small on-disk cache, and per-case evaluation.

Frame ``i`` of case ``c`` is :func:`depthhand.synth.hard_scenes.sample_hard_scene` with
``np.random.default_rng([seed, case_index, i])`` and rendered with the same generator, so the set is fixed by
(:data:`HARD_SEED`, the count per case) and regenerated identically wherever it is needed; nothing large is
committed. :func:`write_hard_set` / :func:`read_hard_set` keep a copy on disk (tests use a small one in their tmp dir).

Evaluation (:func:`evaluate_hard_set`) runs a pipeline as ``depthhand predict`` does (single-image mode, birth
threshold 0.5 unless the options say otherwise) and matches each frame's hands to the truth with the detector
protocol of :mod:`depthhand.evaluate.detector` (a hand counts when its palm centre projects into the image and ≥ 4
joints are visible; match: 3-D centre within 30 mm or box IoU ≥ 0.5). Per case: recall, false hands per frame,
centre error (mm), handedness accuracy (the pipeline's final call) and the whole-pipeline mean joint error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand.structures import CameraIntrinsics, Handedness

F64 = npt.NDArray[np.float64]
HARD_SEED = 170_017
"""Seed of the hard set (no training data uses it)."""
DEFAULT_PER_CASE = 48
"""Frames per case of the benchmark (4 per sensor family)."""


@dataclass(frozen=True, slots=True, eq=False)
class HardFrame:
    """One frame of the hard set with its labels (attribute names as :class:`~depthhand.synth.scenes.SynthSample`).

    Attributes:
        case: Case name.
        family: Sensor family name.
        index: Frame number within the case.
        depth_mm: (H, W) float32 sensor depth, mm, 0 = invalid.
        intrinsics: The camera.
        joints_xyz_mm: (K, 21, 3) canonical joints, camera mm.
        visibility: (K, 21) visible joints.
        boxes_xyxy: (K, 4) hand boxes, pixels.
        center_xyz_mm: (K, 3) palm centres, camera mm.
        handedness: Per hand.
    """

    case: str
    family: str
    index: int
    depth_mm: npt.NDArray[np.float32]
    intrinsics: CameraIntrinsics
    joints_xyz_mm: F64
    visibility: npt.NDArray[np.bool_]
    boxes_xyxy: npt.NDArray[np.float32]
    center_xyz_mm: F64
    handedness: tuple[Handedness, ...]


def hard_frame(case: str, index: int, seed: int = HARD_SEED) -> HardFrame:
    """Frame ``index`` of ``case`` (deterministic in ``seed``)."""
    from depthhand.synth.hard_scenes import HARD_CASES, render_hard_scene, sample_hard_scene

    rng = np.random.default_rng([seed, HARD_CASES.index(case), index])
    hs = sample_hard_scene(case, rng, index)
    sample, depth = render_hard_scene(hs, rng)
    s: Any = sample
    return HardFrame(case, hs.family.name, index, depth, s.intrinsics, s.joints_xyz_mm, s.visibility,
                     s.boxes_xyxy, s.center_xyz_mm, s.handedness)  # fmt: skip


def generate_hard_set(
    per_case: int = DEFAULT_PER_CASE, seed: int = HARD_SEED, cases: Iterable[str] | None = None
) -> list[HardFrame]:
    """Every frame of the hard set, case by case.

    Raises:
        ValueError: For an unknown case or a count below 1.
    """
    from depthhand.synth.hard_scenes import HARD_CASES

    if per_case < 1:
        raise ValueError(f"per_case must be at least 1, got {per_case}")
    chosen = tuple(cases) if cases is not None else HARD_CASES
    for c in chosen:
        if c not in HARD_CASES:
            raise ValueError(f"hard case must be one of {HARD_CASES}, got {c!r}")
    return [hard_frame(c, i, seed) for c in chosen for i in range(per_case)]


def write_hard_set(frames: Sequence[HardFrame], out_dir: str | Path) -> Path:
    """Write ``frames`` to ``out_dir/hard_set.npz`` (arrays) and ``hard_set.json`` (the rest), atomically."""
    from depthhand import atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, npt.NDArray[Any]] = {}
    meta = []
    for n, f in enumerate(frames):
        arrays[f"{n}_depth"] = f.depth_mm
        arrays[f"{n}_joints"] = f.joints_xyz_mm
        arrays[f"{n}_vis"] = f.visibility
        arrays[f"{n}_boxes"] = f.boxes_xyxy
        arrays[f"{n}_centers"] = f.center_xyz_mm
        k = f.intrinsics
        meta.append({"case": f.case, "family": f.family, "index": f.index,
                     "handedness": [h.value for h in f.handedness],
                     "intrinsics": [k.fx, k.fy, k.cx, k.cy, k.width, k.height, k.depth_unit_mm]})  # fmt: skip
    with atomic.atomic_path(out / "hard_set.npz") as tmp:
        np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
    atomic.write_json(out / "hard_set.json", {"frames": meta}, indent=1)
    return out


def read_hard_set(folder: str | Path) -> list[HardFrame]:
    """The frames :func:`write_hard_set` wrote to ``folder``.

    Raises:
        FileNotFoundError: ``hard_set.npz`` or ``hard_set.json`` is missing.
        ValueError: The JSON does not describe the arrays (naming the file and the frame).
    """
    folder = Path(folder)
    meta_path, npz_path = folder / "hard_set.json", folder / "hard_set.npz"
    for p in (meta_path, npz_path):
        if not p.is_file():
            raise FileNotFoundError(f"hard set file missing: {p}")
    meta = json.loads(meta_path.read_text())["frames"]
    out = []
    with np.load(npz_path) as z:
        for n, m in enumerate(meta):
            try:
                fx, fy, cx, cy, w, h, unit = m["intrinsics"]
                out.append(HardFrame(m["case"], m["family"], int(m["index"]), z[f"{n}_depth"],
                                     CameraIntrinsics(fx, fy, cx, cy, int(w), int(h), unit), z[f"{n}_joints"],
                                     z[f"{n}_vis"], z[f"{n}_boxes"], z[f"{n}_centers"],
                                     tuple(Handedness(v) for v in m["handedness"])))  # fmt: skip
            except (KeyError, ValueError, TypeError) as exc:
                raise ValueError(f"{meta_path}: frame {n} does not match {npz_path.name}: {exc}") from None
    return out


def evaluate_hard_set(frames: Sequence[HardFrame], options: Any = None) -> dict[str, Any]:
    """Run a pipeline on every frame (single-image mode) and score it per case, per sensor family and overall.

    Args:
        frames: The hard set.
        options: :class:`~depthhand.pipeline.PipelineOptions` (default: ``predict``'s defaults).

    Returns:
        ``per_case`` and ``per_family`` (name → :func:`_summary` fields) and ``all``.
    """
    import dataclasses

    from depthhand.evaluate.detector import DetectionTally, tally_frame
    from depthhand.evaluate.live import LiveAccuracy
    from depthhand.pipeline import HandPipeline, PipelineOptions
    from depthhand.structures import DepthFrame
    from depthhand.train.detector_data import labelled_hands

    image_mode = dataclasses.replace(options or PipelineOptions(), mode="image")
    groups: dict[str, dict[str, tuple[DetectionTally, LiveAccuracy, list[int]]]] = {"case": {}, "family": {}, "all": {}}
    with HandPipeline(image_mode) as pipe:
        js = pipe.joint_set
        for f in frames:
            frame = DepthFrame(f.depth_mm, f.intrinsics, 0, f"hard:{f.case}", f.index)
            hands = pipe.process(frame).hands
            dets = [dataclasses.replace(h.box, handedness=h.pose.handedness) for h in hands if h.box is not None]
            counted = labelled_hands(f)
            pred = np.array([h.pose.joints_xyz_mm for h in hands]).reshape(-1, js.num_joints, 3)
            vis = np.repeat(counted[:, None], 21, axis=1)
            for kind, key in (("case", f.case), ("family", f.family), ("all", "all")):
                if key not in groups[kind]:
                    groups[kind][key] = (DetectionTally(), LiveAccuracy(js), [0])
                tally, acc, n = groups[kind][key]
                tally_frame(tally, dets, f, counted)  # type: ignore[arg-type]
                acc.add(pred, f.joints_xyz_mm, vis, pred_handedness=[h.pose.handedness for h in hands],
                        true_handedness=f.handedness)  # fmt: skip
                n[0] += 1
    return {
        "per_case": {k: _summary(*v) for k, v in groups["case"].items()},
        "per_family": {k: _summary(*v) for k, v in groups["family"].items()},
        "all": _summary(*groups["all"]["all"]),
    }


def _summary(tally: Any, acc: Any, n: list[int]) -> dict[str, float]:
    s = tally.summary()
    a = acc.summary()
    frames = max(1, n[0])
    return {
        "frames": float(n[0]),
        "gt_hands": float(tally.gt),
        "recall": s["recall"] if tally.gt else float("nan"),
        "false_hands_per_frame": tally.fp / frames,
        "center_error_mean_mm": s["center_error_mean_mm"],
        "center_error_median_mm": s["center_error_median_mm"],
        "handedness_accuracy": s["handedness_accuracy"] if tally.tp else float("nan"),
        "pose_mean_error_mm": a["mean_error_mm"],
    }


def format_cases(result: dict[str, Any], key: str = "per_case") -> str:
    """A Markdown table of :func:`evaluate_hard_set`'s ``per_case`` (or ``per_family``) figures and the total."""
    head = (
        "| case | frames | hands | recall | false hands / frame | centre error mean / median (mm) | handedness "
        "| pose error (mm) |"
    )
    rows = [head, "|" + "---|" * 8]
    items = list(result[key].items()) + [("**all**", result["all"])]
    for name, s in items:
        rows.append(
            f"| {name} | {s['frames']:.0f} | {s['gt_hands']:.0f} | {s['recall']:.3f} | "
            f"{s['false_hands_per_frame']:.3f} | "
            f"{s['center_error_mean_mm']:.1f} / {s['center_error_median_mm']:.1f} | {s['handedness_accuracy']:.3f} | "
            f"{s['pose_mean_error_mm']:.1f} |"
        )
    return "\n".join(rows)


__all__ = [
    "DEFAULT_PER_CASE",
    "HARD_SEED",
    "HardFrame",
    "evaluate_hard_set",
    "format_cases",
    "generate_hard_set",
    "hard_frame",
    "read_hard_set",
    "write_hard_set",
]
