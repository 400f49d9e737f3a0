"""``--data`` specs of ``depthhand train`` → torch datasets.

Grammar::

    nyu:DIR | icvl:DIR | hands17:DIR | fpha:DIR   the reader's training split (":train" is implied)
    msra:DIR[:k]                                   leave-one-subject-out: train on all subjects but P<k>
    crops:FILE.npz[,FILE2.npz...]                  pre-made crops (patches, joints_crop[, joints_uvd_crop]),
                                                   augmented in the crop frame with the config's recipe
    synth:DIR                                      synthetic data (an opener registered by depthhand.synth)

Test splits are refused: training and model selection never see the test set. Public readers are opened with
:func:`depthhand.datasets.registry.open_dataset` (imported lazily).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from torch.utils.data import ConcatDataset, Dataset

from depthhand.geometry.augment import AugmentRecipe
from depthhand.train.data import CropArrayDataset, HandCropDataset, SampleConfig

__all__ = ["crop_file_paths", "open_training_data", "register_data_opener", "split_train_val", "training_reader_spec"]

Opener = Callable[[str, SampleConfig], Dataset[Any]]
_OPENERS: dict[str, Opener] = {}
_MSRA_FOLD = re.compile(r"^(.*):(?:train)?([0-8])$")


def register_data_opener(prefix: str, opener: Opener) -> None:
    """Register ``opener(rest_of_spec, sample_config) -> Dataset`` for ``prefix:...`` specs (e.g. ``synth``).

    The opener may return :class:`~depthhand.train.data.HandCropDataset` over any indexable of samples with
    ``.frame`` / ``.pose`` / ``.center_xyz_mm``, or a :class:`~depthhand.train.data.CropArrayDataset`.
    """
    _OPENERS[prefix] = opener


def training_reader_spec(spec: str) -> str:
    """Rewrite a reader spec to its training split; raises ``ValueError`` for test splits.

    Example:
        >>> training_reader_spec("msra:/data/msra:3")
        'msra:/data/msra:train3'
    """
    name, _, rest = spec.partition(":")
    name = name.lower()
    tail = rest.rsplit(":", 1)[-1] if ":" in rest else ""
    if tail.startswith("test"):
        raise ValueError(f"refusing to train on a test split ({spec!r}); give the training data instead")
    if name in ("nyu", "icvl"):
        return spec if tail == "train" else f"{spec}:train"
    if name == "msra":
        match = _MSRA_FOLD.match(rest)
        if match:
            return f"msra:{match.group(1)}:train{match.group(2)}"
        return spec
    return spec


class _CropFiles(ConcatDataset[Any]):
    """Several crop files as one dataset; forwards ``set_epoch`` and ``with_recipe`` to each."""

    def __init__(self, parts: Sequence[CropArrayDataset]) -> None:
        super().__init__(parts)  # every part was opened with the model's cube (from_npz refuses another)
        self.parts = list(parts)

    def set_epoch(self, epoch: int) -> None:
        for part in self.parts:
            part.set_epoch(epoch)

    def with_recipe(self, recipe: AugmentRecipe | None) -> _CropFiles:
        return _CropFiles([part.with_recipe(recipe) for part in self.parts])


def crop_file_paths(rest: str) -> list[str]:
    """The files of a ``crops:FILE.npz[,FILE2.npz...]`` spec (``rest`` is the part after ``crops:``)."""
    return [p for p in rest.split(",") if p]


def _open_crops(rest: str, config: SampleConfig) -> Dataset[Any]:
    parts = [
        CropArrayDataset.from_npz(
            path,
            cube_mm=config.cube_mm,
            make_heatmaps=config.heatmaps,
            joint_set=config.joint_set.name,
            recipe=config.recipe,
            # each file draws its own augmentations (a file index in the seed keeps them apart)
            seed=int(np.random.SeedSequence((config.seed, k)).generate_state(1)[0]) if k else config.seed,
        )
        for k, path in enumerate(crop_file_paths(rest))
    ]
    if not parts:
        raise ValueError(f"crops:{rest} names no file; expected crops:FILE.npz[,FILE2.npz...]")
    return parts[0] if len(parts) == 1 else _CropFiles(parts)


def _default_synth(rest: str, config: SampleConfig) -> Dataset[Any]:
    from depthhand.train.synth_data import open_synth

    dataset: Dataset[Any] = open_synth(rest, config)
    return dataset


def open_training_data(spec: str, config: SampleConfig) -> Dataset[Any]:
    """Open a ``--data`` spec as a torch dataset of training items.

    Args:
        spec: See the module docstring.
        config: Crop, augmentation and target options for reader samples.

    Raises:
        ValueError: For an unknown prefix or a test split.
        FileNotFoundError: If the data is missing.
    """
    prefix, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ValueError(
            f"data spec {spec!r} must look like PREFIX:PATH (nyu:, icvl:, msra:, hands17:, crops:, synth:)"
        )
    if prefix in _OPENERS:
        return _OPENERS[prefix](rest, config)
    if prefix == "synth":
        return _default_synth(rest, config)
    if prefix == "crops":
        return _open_crops(rest, config)
    from depthhand.datasets.registry import open_dataset

    reader = open_dataset(training_reader_spec(spec))
    if getattr(reader, "split", "") == "test":
        raise ValueError(f"{spec!r} opened a test split; training never uses the test set")
    return HandCropDataset(reader, config)


class _Subset(Dataset[Any]):
    """A view of some items of a dataset that forwards ``set_epoch``."""

    def __init__(self, base: Dataset[Any], indices: Sequence[int]) -> None:
        self.base, self.indices = base, list(indices)

    def set_epoch(self, epoch: int) -> None:
        set_epoch = getattr(self.base, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        return self.base[self.indices[i]]


def split_train_val(dataset: Dataset[Any], val_fraction: float) -> tuple[Dataset[Any], Dataset[Any] | None]:
    """Hold out the last ``val_fraction`` of the items (a contiguous block: neighbouring frames are near-copies).

    The validation items are served without augmentation (a :class:`HandCropDataset` or
    :class:`CropArrayDataset` is re-opened without its recipe for them).
    """
    n = len(dataset)  # type: ignore[arg-type]
    n_val = round(n * val_fraction)
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if n_val == 0:
        return dataset, None
    train_idx, val_idx = range(n - n_val), range(n - n_val, n)
    val_base = dataset
    if isinstance(dataset, HandCropDataset):
        cfg = dataset.config
        val_cfg = SampleConfig(cfg.joint_set, cfg.crop_size, cfg.cube_mm, 0, None, cfg.heatmaps, cfg.seed)
        val_base = HandCropDataset(dataset.samples, val_cfg)
    elif isinstance(dataset, CropArrayDataset | _CropFiles):
        val_base = dataset.with_recipe(None)
    return _Subset(dataset, train_idx), _Subset(val_base, val_idx)
