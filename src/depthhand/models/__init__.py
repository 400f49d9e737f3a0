"""PyTorch pose networks (training and export only; never imported by the runtime path)."""

from depthhand.models.registry import ModelCfg as ModelCfg
from depthhand.models.registry import create_model as create_model
from depthhand.models.registry import get_model_cfg as get_model_cfg
from depthhand.models.registry import list_models as list_models
from depthhand.models.registry import register_model as register_model
