"""Model registry: ``register_model``, ``create_model``, ``list_models`` (timm's pattern, re-implemented).

Every builder is registered under a variant name (``crossinfonet_nyu14``, ``depthhand_fast``) and returns a
:class:`torch.nn.Module` that follows the :class:`PoseNet` conventions: ``forward(patch)`` → dict of tensors with
at least ``"joints"`` (B, J, 3), ``loss(outputs, targets)`` → (scalar, parts) and a :class:`ModelCfg`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

__all__ = ["ModelCfg", "create_model", "get_model_cfg", "list_models", "register_model"]

OUTPUT_SPACES = ("xyz_crop", "uvd_crop")
"""Conventions of a model's ``"joints"`` output.

* ``xyz_crop``: ``(xyz − centre) / (cube / 2)`` in camera mm (CrossInfoNet); uncrop with
  :func:`depthhand.geometry.crop.joints_from_crop`.
* ``uvd_crop``: crop pixels and depth normalised to [−1, 1]: ``u_n = (u_crop − (S − 1)/2) / (S / 2)``, likewise
  v, ``d_n = (d − z_c) / (cube_z / 2)``; uncrop with :func:`depthhand.pose.decode.uvd_crop_to_xyz`.
"""


@dataclass(frozen=True, slots=True)
class ModelCfg:
    """What a model expects and produces (written to checkpoints and ONNX metadata).

    Attributes:
        name: Registry name of the variant.
        joint_set: Name of the output skeleton (:func:`depthhand.skeleton.get_joint_set`).
        input_size: Side of the square input patch, pixels.
        cube_mm: Default cube side, mm (x = y = z).
        output_space: ``"xyz_crop"`` or ``"uvd_crop"`` (see :data:`OUTPUT_SPACES`).
        normalisation: How the input patch is normalised.
        heatmaps: Whether the model's loss needs 24×24 heat-map targets.
    """

    name: str
    joint_set: str
    input_size: int = 96
    cube_mm: float = 250.0
    output_space: str = "xyz_crop"
    normalisation: str = "depth: (d - z_c)/(cube_z/2) clipped to [-1, 1]; invalid/far = +1 (DeepPrior++)"
    heatmaps: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "name": self.name,
            "joint_set": self.joint_set,
            "input_size": self.input_size,
            "cube_mm": self.cube_mm,
            "output_space": self.output_space,
            "normalisation": self.normalisation,
            "heatmaps": self.heatmaps,
        }


Builder = Callable[..., nn.Module]
_MODELS: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Register a builder under ``name`` (decorator)."""

    def wrap(fn: Builder) -> Builder:
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        _MODELS[name] = fn
        return fn

    return wrap


def _load_all() -> None:
    # Importing the model files runs their @register_model decorators.
    from depthhand.models import crossinfonet, fast  # noqa: F401


def list_models() -> list[str]:
    """All registered model names, sorted."""
    _load_all()
    return sorted(_MODELS)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model.

    Args:
        name: Variant name, e.g. ``"crossinfonet_nyu14"`` or ``"depthhand_fast"``.
        **kwargs: Passed to the builder (``joint_set=``, ``input_size=``, ...).

    Raises:
        ValueError: For an unknown name.

    Example:
        >>> model = create_model("depthhand_fast", joint_set="nyu14")  # doctest: +SKIP
    """
    _load_all()
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(sorted(_MODELS))}")
    return _MODELS[name](**kwargs)


def get_model_cfg(model: nn.Module) -> ModelCfg:
    """The :class:`ModelCfg` of a registry model (unwrapping DistributedDataParallel).

    Raises:
        ValueError: If the model was not built by :func:`create_model`.
    """
    inner = getattr(model, "module", model)
    cfg = getattr(inner, "cfg", None)
    if not isinstance(cfg, ModelCfg):
        raise ValueError(f"{type(inner).__name__} has no ModelCfg; build models with depthhand.models.create_model")
    return cfg
