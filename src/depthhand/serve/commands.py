"""Commands from the web side to the pipeline side, typed (they travel through the state store as JSON).

The REST views validate a request and push one of these; the pipeline's
:class:`~depthhand.serve.controller.InstallationController` applies it between two frames (or, when the source has
sent nothing for a second, from the publisher's status thread). In the split modes the
command crosses processes through Redis, so each has a JSON form (:func:`command_to_dict` /
:func:`command_from_dict`, inverse of each other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias


@dataclass(frozen=True, slots=True)
class ReloadCalibration:
    """Re-read ``calibration.json`` (after the calibration page solved a new one)."""


@dataclass(frozen=True, slots=True)
class FitPlane:
    """Fit the table plane from the next ``frames`` depth frames (RANSAC: hands and objects are outliers).

    Attributes:
        frames: Depth frames to collect, ≥ 1.
        request_id: Echoed in the status, so a client can tell its request's result.
    """

    frames: int = 15
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetConfig:
    """Change touch and pinch settings (validated by the view; fields of the settings dataclasses).

    Attributes:
        touch: ``TouchSettings`` fields to change (``fingers`` as names).
        pinch: ``PinchSettings`` fields to change.
    """

    touch: Mapping[str, Any] = field(default_factory=dict)
    pinch: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Record:
    """Start or stop recording the source.

    Attributes:
        action: ``"start"`` or ``"stop"``.
        path: Where to record (start only; ``None``: the recorder's default).
    """

    action: str
    path: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ("start", "stop"):
            raise ValueError(f"Record.action must be 'start' or 'stop', got {self.action!r}")


Command: TypeAlias = ReloadCalibration | FitPlane | SetConfig | Record
_NAMES: dict[type, str] = {
    ReloadCalibration: "reload_calibration",
    FitPlane: "fit_plane",
    SetConfig: "set_config",
    Record: "record",
}


def command_to_dict(command: Command) -> dict[str, Any]:
    """The JSON form: ``{"cmd": NAME, **fields}``."""
    from dataclasses import asdict

    return {
        "cmd": _NAMES[type(command)],
        **{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(command).items()},
    }


def command_from_dict(data: Mapping[str, Any]) -> Command:
    """Inverse of :func:`command_to_dict`.

    Raises:
        ValueError: Unknown command, or fields it does not have (the message names them).
    """
    by_name = {v: k for k, v in _NAMES.items()}
    name = data.get("cmd")
    if name not in by_name:
        raise ValueError(f"unknown command {name!r}; known: {sorted(by_name)}")
    fields = {k: v for k, v in data.items() if k != "cmd"}
    try:
        command: Command = by_name[name](**fields)
    except TypeError as exc:
        raise ValueError(f"command {name!r}: {exc}") from exc
    return command
