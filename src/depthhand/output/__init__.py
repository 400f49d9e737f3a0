"""Stage 7, without a server: each frame's hands and events out over UDP as OSC and TUIO 1.1.

``depthhand run`` and ``depthhand serve`` hand every frame's :class:`~depthhand.structures.FrameResult` and its
:class:`~depthhand.interact.engine.InteractionFrame` to the outputs asked for (``--osc HOST:PORT``,
``--tuio HOST:PORT``):

* :mod:`depthhand.output.osc`: one OSC bundle per frame in depthhand's own address space (hands, joints in camera mm
  and projector pixels, touch / hover / pinch events), for TouchDesigner, Max/MSP, Unity, Processing.
* :mod:`depthhand.output.tuio`: TUIO 1.1 ``/tuio/2Dcur`` bundles (``source``, ``alive``, ``set``, ``fseq``) of the
  touches, normalised to the projector image, for table software and the reacTIVision clients.
* :mod:`depthhand.output.udp`: ``HOST:PORT`` parsing and the non-blocking sender both use: a send that fails is
  counted and logged once, never raised into the live loop.

Nothing here imports Django; python-osc (the ``[osc]`` extra, also in ``[serve]``) is imported by
:func:`open_outputs` when an output is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from depthhand.interact.engine import InteractionFrame
    from depthhand.structures import FrameResult


class FrameOutput(Protocol):
    """Where a live loop sends each frame besides its own output (an OSC or TUIO target)."""

    name: str

    def send(self, result: FrameResult, interaction: InteractionFrame | None) -> None:
        """Encode and send one frame; never raises (failures are counted in :meth:`stats`)."""
        ...

    def stats(self) -> dict[str, Any]:
        """Target, datagrams sent, send errors and the last error, as JSON."""
        ...

    def close(self) -> None:
        """Release the socket."""
        ...


def open_outputs(osc: str | None = None, tuio: str | None = None) -> list[FrameOutput]:
    """The outputs asked for, sockets open; ``HOST:PORT`` strings as the command line gives them.

    Args:
        osc: ``--osc`` target, or ``None``.
        tuio: ``--tuio`` target, or ``None``.

    Raises:
        ValueError: A target is not ``HOST:PORT`` or its host cannot be resolved (naming the option).
        MissingExtraError: python-osc is not installed.
    """
    from depthhand.output.udp import parse_target

    targets = {"--osc": osc, "--tuio": tuio}
    parsed = {opt: parse_target(opt, text) for opt, text in targets.items() if text is not None}
    if not parsed:
        return []
    try:
        import pythonosc  # noqa: F401
    except ImportError as exc:
        from depthhand.capture.base import MissingExtraError

        raise MissingExtraError(
            f"{' and '.join(parsed)} need python-osc: pip install python-osc (or pip install 'depthhand[osc]')"
        ) from exc
    outputs: list[FrameOutput] = []
    if "--osc" in parsed:
        from depthhand.output.osc import OscOutput

        outputs.append(OscOutput(parsed["--osc"]))
    if "--tuio" in parsed:
        from depthhand.output.tuio import TuioOutput

        outputs.append(TuioOutput(parsed["--tuio"]))
    return outputs
