"""Synthetic training data for the pose networks: ``synth:`` data specs.

Two forms:

* ``synth:DIR`` — a dataset written by ``depthhand synth`` (every hand of every frame becomes a sample; crops and
  augmentation as for the public datasets).
* ``synth:@N?scenes=topdown,frontal,egocentric&seed=S&noise=random&in_image=F&centre_in_image=B`` — ``N`` crops
  rendered in memory by :func:`depthhand.synth.crops.generate_crops` (the scene mix cycles over ``scenes``;
  ``in_image`` keeps only hands with at least that fraction of their joints inside the camera image;
  ``centre_in_image=1`` then drops the crops centred outside the image, so fewer than ``N`` remain).

:func:`generate_crop_arrays` also backs ``depthhand synth --crops N --out FILE.npz`` (pre-rendered crops for
``--data crops:FILE.npz``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from depthhand import atomic
from depthhand.pose.decode import xyz_to_uvd_crop
from depthhand.skeleton import CANONICAL21
from depthhand.structures import DepthFrame, HandPose

SCENES = ("topdown", "frontal", "egocentric")


def generate_crop_arrays(
    n: int,
    seed: int,
    scenes: tuple[str, ...] = SCENES,
    crop_size: int = 96,
    cube_mm: float = 250.0,
    noise: str | None = "random",
    chunk: int = 64,
    progress: bool = True,
    min_in_image: float = 0.0,
    max_in_image: float = 1.0,
) -> dict[str, npt.NDArray[Any]]:
    """Render ``n`` labelled crops, cycling through ``scenes`` in chunks.

    ``min_in_image`` and ``max_in_image`` are passed to :func:`depthhand.synth.crops.generate_crops` (bounds on the
    fraction of the hand's joints inside the camera image).

    Returns:
        ``patches`` (N, S, S) float32, ``joints_crop`` (N, 21, 3) float32 (xyz_crop), ``joints_uvd_crop``
        (N, 21, 3) float32, ``joints_xyz_mm`` (N, 21, 3) float32, ``scene`` (N,) int8 index into ``scenes``,
        ``in_image`` (N,) float32 fraction of the joints inside the camera image, ``centre_in_image`` (N,) bool
        (the crop's centre projects inside the image), ``cube_mm`` scalar.
    """
    from tqdm import tqdm

    from depthhand.synth.crops import generate_crops

    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    for s in scenes:
        if s not in SCENES:
            raise ValueError(f"unknown scene {s!r}; expected some of {SCENES}")
    rng = np.random.default_rng(seed)
    out: dict[str, list[npt.NDArray[Any]]] = {
        k: [] for k in ("patches", "joints_crop", "uvd", "xyz", "scene", "in_image", "centre_in_image")
    }
    done = 0
    bar = tqdm(total=n, desc="rendering crops", unit="crop", disable=not progress)
    while done < n:
        k = min(chunk, n - done)
        scene_index = (done // chunk) % len(scenes)
        patches, joints_crop, meta = generate_crops(
            k,
            rng,
            scenes[scene_index],
            crop_size=crop_size,
            cube_mm=cube_mm,
            noise=noise,
            min_in_image=min_in_image,
            max_in_image=max_in_image,
        )
        uvd = np.stack(
            [
                xyz_to_uvd_crop(j, c, intr)
                for j, c, intr in zip(meta.joints_xyz_mm, meta.crops, meta.intrinsics, strict=True)
            ]
        )
        out["patches"].append(patches)
        out["joints_crop"].append(joints_crop)
        out["uvd"].append(uvd.astype(np.float32))
        out["xyz"].append(meta.joints_xyz_mm.astype(np.float32))
        out["scene"].append(np.full(k, scene_index, np.int8))
        out["in_image"].append(meta.in_image.astype(np.float32))
        out["centre_in_image"].append(meta.centre_in_image())
        done += k
        bar.update(k)
    bar.close()
    return {
        "patches": np.concatenate(out["patches"]),
        "joints_crop": np.concatenate(out["joints_crop"]),
        "joints_uvd_crop": np.concatenate(out["uvd"]),
        "joints_xyz_mm": np.concatenate(out["xyz"]),
        "scene": np.concatenate(out["scene"]),
        "in_image": np.concatenate(out["in_image"]),
        "centre_in_image": np.concatenate(out["centre_in_image"]),
        "cube_mm": np.asarray(cube_mm, np.float32),
        "joint_set": np.asarray("canonical21"),
    }


def save_crop_arrays(arrays: dict[str, npt.NDArray[Any]], path: str | Path) -> Path:
    """Write crop arrays as an NPZ, atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(path, suffix=".npz") as tmp:  # .npz: np.savez would append it to a bare name
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
    return path


@dataclass(frozen=True, slots=True)
class _HandSample:
    frame: DepthFrame
    pose: HandPose
    center_xyz_mm: npt.NDArray[np.float64]


class SynthHandSamples:
    """Every hand of a ``depthhand synth`` dataset as a reader sample (``.frame``, ``.pose``, ``.center_xyz_mm``)."""

    def __init__(self, root: str | Path) -> None:
        from depthhand.synth.dataset import SynthDatasetReader

        self.reader = SynthDatasetReader(root)
        index: list[tuple[int, int]] = []
        for i in range(len(self.reader)):
            index.extend((i, h) for h in range(self.reader.num_hands(i)))
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> _HandSample:
        frame_i, hand = self.index[i]
        rec = self.reader[frame_i]
        frame = DepthFrame(rec.depth_mm, rec.intrinsics, 0, f"synth:{frame_i}", frame_i)
        pose = HandPose(
            rec.joints_xyz_mm[hand].astype(np.float32),
            rec.joints_uvd[hand].astype(np.float32),
            CANONICAL21,
            handedness=rec.handedness[hand],
        )
        return _HandSample(frame, pose, rec.center_xyz_mm[hand])


def open_synth(rest: str, config: Any) -> Any:
    """The ``synth:`` opener for :func:`depthhand.train.spec.open_training_data` (see the module docstring)."""
    from depthhand.train.data import CropArrayDataset, HandCropDataset

    if rest.startswith("@"):
        from depthhand.synth.crops import parse_crops_spec

        spec = parse_crops_spec(rest, SCENES)
        arrays = generate_crop_arrays(
            spec.count,
            spec.seed,
            spec.scenes,
            config.crop_size,
            config.cube_mm,
            spec.noise,
            min_in_image=spec.min_in_image,
        )
        keep = arrays["centre_in_image"] if spec.centre_in_image else slice(None)  # a view, not a copy
        return CropArrayDataset(
            arrays["patches"][keep],
            arrays["joints_crop"][keep],
            arrays["joints_uvd_crop"][keep],
            config.cube_mm,
            make_heatmaps=config.heatmaps,
        )
    root = Path(rest)
    if not (root / "dataset.json").is_file():
        raise FileNotFoundError(f"synth:{rest}: {root / 'dataset.json'} not found (write one with depthhand synth)")
    return HandCropDataset(SynthHandSamples(root), config)
