"""Readers of the public hand datasets (NYU, ICVL, MSRA, HANDS2017, FPHA): frames + ground truth.

Open one with :func:`open_dataset` (``"nyu:DIR:test"``, ``"msra:DIR:test3"``, ...) or the reader classes in the
submodules (:mod:`~depthhand.datasets.nyu`, :mod:`~depthhand.datasets.icvl`, :mod:`~depthhand.datasets.msra`,
:mod:`~depthhand.datasets.hands17`, :mod:`~depthhand.datasets.fpha`). Each reader is a :class:`HandDataset` whose
items are :class:`DatasetSample` (``DepthFrame`` + ground-truth ``HandPose`` in depthhand's y-down camera frame).
Readers only read; cropping lives in ``depthhand.geometry.crop``.
"""

from depthhand.datasets.base import DatasetSample, HandDataset
from depthhand.datasets.registry import DATASET_NAMES, open_dataset

__all__ = ["DATASET_NAMES", "DatasetSample", "HandDataset", "open_dataset"]
