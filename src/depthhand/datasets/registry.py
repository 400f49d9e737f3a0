"""Open a dataset reader from a one-string spec, as used by the CLI (``dataset=nyu:/data/nyu:test``).

Grammar::

    nyu:DIR[:train|test]                       default test
    icvl:DIR[:train|test|test_seq_1|test_seq_2] default test
    msra:DIR[:all|test<k>|train<k>|<k>]        default all; <k> alone = test fold k (subject P<k> held out)
    hands17:DIR
    fpha:DIR

The trailing field is only taken as an option when it is a valid value for that dataset, so directory names
containing ``:`` still work.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from depthhand.datasets.base import HandDataset

DATASET_NAMES = ("nyu", "icvl", "msra", "hands17", "fpha")
_MSRA_FOLD = re.compile(r"^(?:(train|test))?([0-8])$")


def _split_option(rest: str, valid: tuple[str, ...] | None, pattern: re.Pattern[str] | None = None) -> tuple[str, str]:
    if ":" in rest:
        head, tail = rest.rsplit(":", 1)
        if (valid is not None and tail in valid) or (pattern is not None and pattern.match(tail)):
            return head, tail
    return rest, ""


def open_dataset(spec: str, **kwargs: Any) -> HandDataset:
    """Open the dataset named by ``spec`` (see the module docstring for the grammar).

    Args:
        spec: ``name:DIR[:option]``.
        **kwargs: Passed to the reader's constructor (e.g. ``intrinsics="icvl_deepprior"``, ``center_file=...``).

    Returns:
        The reader (labels indexed, images read lazily).

    Raises:
        ValueError: For an unknown dataset name, a missing directory part or an invalid option.
        FileNotFoundError: If the dataset's files are missing.

    Example:
        >>> ds = open_dataset("msra:/data/msra:test3")  # doctest: +SKIP
        >>> ds.split, ds.test_subject
        ('test', 3)
    """
    name, sep, rest = spec.partition(":")
    name = name.strip().lower()
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r} in spec {spec!r}; expected one of {', '.join(DATASET_NAMES)}")
    if not sep or not rest:
        raise ValueError(f"dataset spec {spec!r} has no directory; expected '{name}:DIR[:option]'")
    if name == "nyu":
        from depthhand.datasets.nyu import NYU_SPLITS, NyuDataset

        root, split = _split_option(rest, NYU_SPLITS)
        return NyuDataset(Path(root), split or "test", **kwargs)
    if name == "icvl":
        from depthhand.datasets.icvl import ICVL_SPLIT_FILES, IcvlDataset

        root, split = _split_option(rest, tuple(ICVL_SPLIT_FILES))
        return IcvlDataset(Path(root), split or "test", **kwargs)
    if name == "msra":
        from depthhand.datasets.msra import MsraDataset

        root, fold = _split_option(rest, ("all",), _MSRA_FOLD)
        match = _MSRA_FOLD.match(fold)
        if match is None:
            return MsraDataset(Path(root), None, "all", **kwargs)
        return MsraDataset(Path(root), int(match.group(2)), match.group(1) or "test", **kwargs)
    if name == "hands17":
        from depthhand.datasets.hands17 import Hands17Dataset

        return Hands17Dataset(Path(rest), **kwargs)
    from depthhand.datasets.fpha import FphaDataset

    return FphaDataset(Path(rest), **kwargs)
