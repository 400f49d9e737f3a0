"""Torch datasets that turn reader samples (depth frame + joints + centre) into training tensors.

Two entry points:

* :class:`HandCropDataset` takes any indexable of samples with ``.frame`` (:class:`DepthFrame`), ``.pose``
  (:class:`HandPose`) and optionally ``.center_xyz_mm``: public dataset readers, recorded sessions, or a synthetic
  generator's frames. It crops with :mod:`depthhand.geometry.crop` and augments with
  :mod:`depthhand.geometry.augment` (one fresh draw per sample and epoch, reproducible from the seed).
* :class:`CropArrayDataset` takes pre-made crops (patch + joints) held in memory, e.g. from a generator callable
  (:meth:`CropArrayDataset.from_generator`) or an ``.npz`` file, and augments them in the crop frame
  (:func:`depthhand.geometry.augment.augment_patch`) when given a recipe.

Each item is a dict of tensors: ``patch`` (1, S, S), ``joints_crop`` (J, 3) xyz_crop, ``joints_uvd_crop`` (J, 3),
``heatmaps`` (J, S/4, S/4) when asked for, and the geometry needed to score in mm: ``joints_xyz_mm`` (J, 3)
(augmented), ``center_xyz_mm`` (3,), ``cube_mm`` (3,), ``crop_affine`` (3, 3) (the un-rotated crop in which the
augmented joints project onto the patch), ``intrinsics`` (4,) = fx, fy, cx, cy (zeros when unknown).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset

from depthhand.geometry.augment import (
    IDENTITY,
    AugmentRecipe,
    augment_crop,
    augment_crop_joints,
    augment_patch,
    sample_augment,
)
from depthhand.geometry.camera import xyz_to_uvd
from depthhand.geometry.crop import crop_depth, image_to_crop_uvd, joints_to_crop, make_crop
from depthhand.pose.decode import xyz_to_uvd_crop
from depthhand.skeleton import JointSet, joint_mapping
from depthhand.structures import DepthFrame, HandPose

__all__ = [
    "CropArrayDataset",
    "HandCropDataset",
    "HandSample",
    "SampleConfig",
    "SampleSource",
    "heatmaps_from_crop_uv",
    "heatmaps_from_uvd_crop",
]

HEATMAP_STRIDE = 4


class SampleSource(Protocol):
    """An indexable of samples (a dataset reader, a list, ...)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


class HandSample(Protocol):
    """What a reader sample provides (structural type; readers need not inherit from it)."""

    @property
    def frame(self) -> DepthFrame: ...  # noqa: D102

    @property
    def pose(self) -> HandPose: ...  # noqa: D102


def heatmaps_from_crop_uv(joints_crop_uv: npt.ArrayLike, crop_size: int, stride: int = HEATMAP_STRIDE) -> np.ndarray:
    """CrossInfoNet's heat-map targets: a one-hot cell per joint blurred with the 3×3 binomial kernel, peak 1.

    Args:
        joints_crop_uv: (J, 2) joint positions in crop pixels.
        crop_size: Side of the crop, pixels.
        stride: Crop pixels per heat-map cell (4 → 24×24 maps for a 96 crop).

    Returns:
        (J, S/stride, S/stride) float32; the cell is ``floor(round(u) / stride)``, clamped to the last cell; a
        joint with a negative coordinate gets an empty map. Centre 1, edge neighbours 0.5, corners 0.25.
    """
    uv = np.asarray(joints_crop_uv, np.float64)
    size = crop_size // stride
    maps = np.zeros((uv.shape[0], size + 2, size + 2), np.float32)  # one cell of margin on each side
    kernel = np.outer([0.5, 1.0, 0.5], [0.5, 1.0, 0.5]).astype(np.float32)
    pix = np.floor(uv + 0.5)
    for j, (u, v) in enumerate(pix):
        if not np.all(np.isfinite((u, v))) or u < 0 or v < 0:
            continue
        cu, cv = min(int(u) // stride, size - 1), min(int(v) // stride, size - 1)
        maps[j, cv : cv + 3, cu : cu + 3] = kernel
    return maps[:, 1:-1, 1:-1].copy()


def heatmaps_from_uvd_crop(joints_uvd_crop: npt.ArrayLike, crop_size: int) -> np.ndarray:
    """:func:`heatmaps_from_crop_uv` for (J, 3) normalised uvd_crop joints (u, v in [−1, 1] across the crop)."""
    uv = np.asarray(joints_uvd_crop, np.float64)[:, :2]
    return heatmaps_from_crop_uv(uv * (crop_size / 2) + (crop_size - 1) / 2, crop_size)


@dataclass(frozen=True, slots=True)
class SampleConfig:
    """How reader samples become crops.

    Attributes:
        joint_set: Output skeleton; samples in another set are mapped with :func:`depthhand.skeleton.joint_mapping`.
        crop_size: Patch side, pixels.
        cube_mm: Cube side, mm.
        cube_jitter_steps: NYU recipe: a fixed per-sample cube of ``cube_mm + 10·randint(0..steps)`` (0 = off).
        recipe: Augmentation recipe, or ``None`` for none (validation).
        heatmaps: Also produce heat-map targets (CrossInfoNet).
        seed: Seed of the per-sample, per-epoch augmentation draws.
    """

    joint_set: JointSet
    crop_size: int = 96
    cube_mm: float = 250.0
    cube_jitter_steps: int = 0
    recipe: AugmentRecipe | None = None
    heatmaps: bool = False
    seed: int = 0


def _geometry_tensors(intrinsics: npt.ArrayLike, **arrays: npt.ArrayLike) -> dict[str, torch.Tensor]:
    out = {k: torch.as_tensor(np.asarray(v, np.float32)) for k, v in arrays.items()}
    out["intrinsics"] = torch.as_tensor(np.asarray(intrinsics, np.float32))
    return out


class HandCropDataset(Dataset[dict[str, torch.Tensor]]):
    """Reader samples → augmented crops and targets.

    Args:
        samples: Indexable of samples with ``.frame``, ``.pose`` and optionally ``.center_xyz_mm`` (when absent or
            ``None`` the mean of the joints is used).
        config: Crop, augmentation and target options.
    """

    def __init__(self, samples: SampleSource, config: SampleConfig) -> None:
        self.samples = samples
        self.config = config
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of ``epoch`` (call before iterating)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        cfg = self.config
        sample = self.samples[index]
        frame, pose = sample.frame, sample.pose
        joints = np.asarray(pose.joints_xyz_mm, np.float64)
        if pose.joint_set.name != cfg.joint_set.name:
            joints = joint_mapping(pose.joint_set.name, cfg.joint_set.name).apply(joints)
        center = getattr(sample, "center_xyz_mm", None)
        center = joints.mean(axis=0) if center is None else np.asarray(center, np.float64)
        cube = cfg.cube_mm
        if cfg.cube_jitter_steps > 0:
            cube += 10.0 * int(np.random.default_rng((cfg.seed, 7, index)).integers(0, cfg.cube_jitter_steps + 1))
        params = IDENTITY
        if cfg.recipe is not None:
            params = sample_augment(np.random.default_rng((cfg.seed, self.epoch, index)), cfg.recipe)
        intr = frame.intrinsics
        crop, joints_aug = augment_crop(center, cube, joints, intr, params, cfg.crop_size)
        patch = crop_depth(frame.depth_mm, crop)
        # The patch shows the image rotated about the centre; the augmented joints live in that rotated image,
        # which the *plain* crop (same centre and cube, no rotation) maps to the patch.
        target_crop = make_crop(crop.center_xyz_mm, crop.cube_mm, intr, cfg.crop_size)
        item = _geometry_tensors(
            (intr.fx, intr.fy, intr.cx, intr.cy),
            joints_crop=joints_to_crop(joints_aug, target_crop),
            joints_uvd_crop=xyz_to_uvd_crop(joints_aug, target_crop, intr),
            joints_xyz_mm=joints_aug,
            center_xyz_mm=target_crop.center_xyz_mm,
            cube_mm=target_crop.cube_mm,
            crop_affine=target_crop.image_to_crop,
        )
        item["patch"] = torch.from_numpy(patch[None])
        if cfg.heatmaps:
            crop_uv = image_to_crop_uvd(xyz_to_uvd(joints_aug, intr), target_crop)[:, :2]
            item["heatmaps"] = torch.from_numpy(heatmaps_from_crop_uv(crop_uv, cfg.crop_size))
        return item


class CropArrayDataset(Dataset[dict[str, torch.Tensor]]):
    """Pre-made crops held in memory, optionally augmented in the crop frame.

    With a ``recipe`` each item gets one fresh draw per sample and epoch (reproducible from ``seed``): the patch is
    warped by :func:`~depthhand.geometry.augment.augment_patch` and the targets moved by
    :func:`~depthhand.geometry.augment.augment_crop_joints` (exact for uvd_crop targets; heat maps are rebuilt from
    the moved uvd_crop joints).

    Args:
        patches: (N, S, S) normalised depth patches.
        joints_crop: (N, J, 3) xyz_crop targets.
        joints_uvd_crop: (N, J, 3) uvd_crop targets (needed by uvd_crop models such as ``depthhand_fast``).
        cube_mm: Cube side used to report errors in mm (``|Δ| · cube/2``).
        heatmaps: (N, J, S/4, S/4) heat-map targets (needed by CrossInfoNet); built from ``joints_uvd_crop`` when
            ``None`` and ``make_heatmaps`` is set.
        make_heatmaps: Build heat maps from ``joints_uvd_crop``.
        recipe: Augmentation recipe, or ``None`` for the crops as they are (validation).
        seed: Seed of the per-sample, per-epoch augmentation draws.
    """

    def __init__(
        self,
        patches: npt.ArrayLike,
        joints_crop: npt.ArrayLike,
        joints_uvd_crop: npt.ArrayLike | None = None,
        cube_mm: float = 250.0,
        heatmaps: npt.ArrayLike | None = None,
        make_heatmaps: bool = False,
        recipe: AugmentRecipe | None = None,
        seed: int = 0,
    ) -> None:
        self.recipe, self.seed, self.epoch = recipe, int(seed), 0
        self.patches = np.asarray(patches, np.float32)
        self.joints_crop = np.asarray(joints_crop, np.float32)
        if self.patches.ndim != 3 or self.patches.shape[1] != self.patches.shape[2]:
            raise ValueError(f"patches must be (N, S, S), got {self.patches.shape}")
        n = self.patches.shape[0]
        if self.joints_crop.ndim != 3 or self.joints_crop.shape[0] != n or self.joints_crop.shape[2] != 3:
            raise ValueError(f"joints_crop must be ({n}, J, 3), got {self.joints_crop.shape}")
        self.joints_uvd_crop = None if joints_uvd_crop is None else np.asarray(joints_uvd_crop, np.float32)
        if self.joints_uvd_crop is not None and self.joints_uvd_crop.shape != self.joints_crop.shape:
            raise ValueError(f"joints_uvd_crop must be {self.joints_crop.shape}, got {self.joints_uvd_crop.shape}")
        self.cube_mm = float(cube_mm)
        self.heatmaps = None if heatmaps is None else np.asarray(heatmaps, np.float32)
        if self.heatmaps is None and make_heatmaps:
            if self.joints_uvd_crop is None:
                raise ValueError("heat maps need joints_uvd_crop (crop positions of the joints)")
            size = self.patches.shape[1]
            self.heatmaps = np.stack([heatmaps_from_uvd_crop(j, size) for j in self.joints_uvd_crop])
        self._check_recipe()

    def _check_recipe(self) -> None:
        if self.recipe is not None and self.heatmaps is not None and self.joints_uvd_crop is None:
            raise ValueError("augmenting crops with heat maps needs joints_uvd_crop to rebuild the maps")

    def with_recipe(self, recipe: AugmentRecipe | None) -> CropArrayDataset:
        """The same crops (arrays shared, not copied) with another augmentation recipe (``None``: validation)."""
        other = copy.copy(self)
        other.recipe = recipe
        other._check_recipe()
        return other

    @classmethod
    def from_generator(
        cls,
        generate: Callable[[np.random.Generator], dict[str, npt.ArrayLike]],
        count: int,
        seed: int = 0,
        cube_mm: float = 250.0,
        make_heatmaps: bool = False,
    ) -> CropArrayDataset:
        """Build the dataset from ``count`` calls of ``generate(rng)``.

        Each call returns ``patch`` (S, S), ``joints_crop`` (J, 3) and optionally ``joints_uvd_crop`` (J, 3).
        """
        rng = np.random.default_rng(seed)
        items = [generate(rng) for _ in range(count)]
        uvd = [it["joints_uvd_crop"] for it in items] if all("joints_uvd_crop" in it for it in items) else None
        return cls(
            np.stack([np.asarray(it["patch"]) for it in items]),
            np.stack([np.asarray(it["joints_crop"]) for it in items]),
            None if uvd is None else np.stack([np.asarray(u) for u in uvd]),
            cube_mm=cube_mm,
            make_heatmaps=make_heatmaps,
        )

    @classmethod
    def from_npz(
        cls,
        path: str,
        cube_mm: float | None = None,
        make_heatmaps: bool = False,
        joint_set: str | None = None,
        recipe: AugmentRecipe | None = None,
        seed: int = 0,
    ) -> CropArrayDataset:
        """Load ``patches``, ``joints_crop`` and optionally ``joints_uvd_crop`` / ``heatmaps`` / ``cube_mm``.

        Args:
            path: The ``.npz`` (e.g. from :func:`depthhand.train.synth_data.save_crop_arrays`).
            cube_mm: The model's cube side; must match the file's ``cube_mm`` when it stores one (the crops were cut
                with that cube, and the exported model will crop with its own).
            make_heatmaps: Build CrossInfoNet heat-map targets.
            joint_set: The model's joint set; joints are mapped from the file's (``joint_set`` key, else
                ``canonical21``) when it differs, and refused when the file's set cannot give every joint.
            recipe: Augmentation recipe (``None``: the crops as they are).
            seed: Seed of the augmentation draws.

        Raises:
            ValueError: Missing arrays, a cube mismatch or a joint set the file cannot provide.
        """
        from depthhand.skeleton import get_joint_set, joint_mapping

        with np.load(path) as data:
            missing = [k for k in ("patches", "joints_crop") if k not in data]
            if missing:
                raise ValueError(f"{path}: missing array(s) {missing}; expected patches (N,S,S), joints_crop (N,J,3)")
            stored_cube = float(data["cube_mm"]) if "cube_mm" in data else None
            if stored_cube is not None and cube_mm is not None and abs(stored_cube - cube_mm) > 1e-6:
                raise ValueError(
                    f"{path}: crops were cut with a {stored_cube:g} mm cube but the model uses {cube_mm:g} mm; "
                    f"train with --cube {stored_cube:g}"
                )
            joints, uvd = data["joints_crop"], data.get("joints_uvd_crop")
            n_joints = int(joints.shape[1]) if joints.ndim == 3 else -1
            # files without the key: 21 joints are the generator's canonical hand, any other count the model's set
            source = str(data["joint_set"]) if "joint_set" in data else ("canonical21" if n_joints == 21 else None)
            source = source or joint_set or "canonical21"
            expected = get_joint_set(source).num_joints
            if n_joints != expected:
                raise ValueError(f"{path}: joints_crop has {n_joints} joints per crop; {source} has {expected}")
            if joint_set is not None and joint_set != source:
                mapping = joint_mapping(source, joint_set)
                if not mapping.defined.all():
                    raise ValueError(f"{path}: its {source} joints cannot give every {joint_set} joint")
                joints = mapping.apply(joints).astype(np.float32)
                uvd = None if uvd is None else mapping.apply(uvd).astype(np.float32)
            return cls(
                data["patches"],
                joints,
                uvd,
                cube_mm=stored_cube or cube_mm or 250.0,
                heatmaps=data.get("heatmaps") if joint_set in (None, source) else None,
                make_heatmaps=make_heatmaps,
                recipe=recipe,
                seed=seed,
            )

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of ``epoch`` (call before iterating; no effect without a recipe)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return int(self.patches.shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        cube = np.full(3, self.cube_mm)
        patch, joints = self.patches[index], self.joints_crop[index]
        uvd = None if self.joints_uvd_crop is None else self.joints_uvd_crop[index]
        heatmaps = None if self.heatmaps is None else self.heatmaps[index]
        if self.recipe is not None:
            params = sample_augment(np.random.default_rng((self.seed, self.epoch, index)), self.recipe)
            patch = augment_patch(patch, params, cube)
            joints = augment_crop_joints(joints, params, cube).astype(np.float32)
            if uvd is not None:
                uvd = augment_crop_joints(uvd, params, cube).astype(np.float32)
                if heatmaps is not None:
                    heatmaps = heatmaps_from_uvd_crop(uvd, patch.shape[0])
        item = _geometry_tensors(
            np.zeros(4),
            joints_crop=joints,
            joints_xyz_mm=joints * (cube / 2),
            center_xyz_mm=np.zeros(3),
            cube_mm=cube,
            crop_affine=np.eye(3),
        )
        item["patch"] = torch.from_numpy(np.array(patch[None], np.float32))
        if uvd is not None:
            item["joints_uvd_crop"] = torch.from_numpy(np.array(uvd, np.float32))
        if heatmaps is not None:
            item["heatmaps"] = torch.from_numpy(np.array(heatmaps, np.float32))
        return item
