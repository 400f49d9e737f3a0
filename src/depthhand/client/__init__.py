"""A Python client of a depthhand server's hand stream (``/ws/hands``), torch-free.

::

    import asyncio
    from depthhand.client import Frame, TouchEvent, connect

    async def main():
        async with connect("ws://127.0.0.1:8000/ws/hands", token) as client:
            async for msg in client:
                if isinstance(msg, Frame):
                    for hand in msg.hands:
                        print(hand.track_id, hand.joints_xyz_mm[8])  # index fingertip, camera mm
                elif isinstance(msg, TouchEvent):
                    print(msg.type, msg.projector_px)

    asyncio.run(main())

:func:`connect` yields typed messages (:mod:`depthhand.client.messages`): the server's :class:`Hello` first (joint
names, camera intrinsics, calibration, flow control), then :class:`Frame`, :class:`TouchEvent` /
:class:`HoverEvent` / :class:`PinchEvent`, :class:`SourceState` changes, and :class:`Reconnecting` notices when the
connection dropped (then a new :class:`Hello`). :func:`messages` and :func:`frames` are blocking iterators for code
without asyncio. Needs the ``websockets`` package (the ``client`` extra); imported when a connection opens.
"""

from depthhand.client.connection import (
    AuthenticationError,
    ClientError,
    ClientStats,
    ConnectError,
    HandsClient,
    connect,
)
from depthhand.client.messages import (
    DepthPreview,
    Event,
    Finger,
    Flow,
    Frame,
    Hand,
    Hello,
    HoverEvent,
    Message,
    MessageError,
    Pinch,
    PinchEvent,
    Reconnecting,
    Skeleton,
    SourceState,
    TouchEvent,
)
from depthhand.client.parse import parse_message
from depthhand.client.sync import SyncClient, frames, messages

__all__ = [
    "AuthenticationError",
    "ClientError",
    "ClientStats",
    "ConnectError",
    "DepthPreview",
    "Event",
    "Finger",
    "Flow",
    "Frame",
    "Hand",
    "HandsClient",
    "Hello",
    "HoverEvent",
    "Message",
    "MessageError",
    "Pinch",
    "PinchEvent",
    "Reconnecting",
    "Skeleton",
    "SourceState",
    "SyncClient",
    "TouchEvent",
    "connect",
    "frames",
    "messages",
    "parse_message",
]
