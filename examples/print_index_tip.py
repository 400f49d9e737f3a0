r"""Print every hand's index fingertip in projector pixels, live from a depthhand server.

Needs a server with a projector calibration (its data folder's ``calibration.json``, written by ``/calibrate``).
For a try-out without a projector, give the scripted scene its true calibration::

    python -c "from depthhand.interact.calibration import save_calibration; \\
from depthhand.synth.calibration_user import scripted_calibration; \\
save_calibration(scripted_calibration(), 'demo-data/calibration.json')"
    DEPTHHAND_TOKEN=secret depthhand serve --source scripted://demo --data-dir demo-data &
    DEPTHHAND_TOKEN=secret python examples/print_index_tip.py --url ws://127.0.0.1:8000/ws/hands

One line per hand and frame: ``seq``, ``track_id``, handedness, the tip in projector px, its finger state (``none``
/ ``hover`` / ``touch``) and the tip in camera mm; touch events on their own lines. Without a calibration it says so
and prints the camera mm only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from depthhand.client import AuthenticationError, ConnectError, Frame, Hello, Reconnecting, TouchEvent, connect


async def main(url: str, token: str, count: int, flow: str) -> int:
    """Print ``count`` frames' index tips (0: until interrupted)."""
    frames = 0
    tip = 8
    async with connect(url, token, flow=flow) as client:
        async for msg in client:
            if isinstance(msg, Hello):
                if msg.skeleton is not None:
                    tip = msg.skeleton.tips["index"]
                if msg.calibration is None or not msg.calibration.can_map:
                    print("# the server has no projector calibration: camera mm only", flush=True)
            elif isinstance(msg, Reconnecting):
                print(f"# {msg.reason}; reconnecting in {msg.delay_s:.1f} s", flush=True)
            elif isinstance(msg, TouchEvent):
                print(f"{msg.type} track {msg.track_id} {msg.finger} at {msg.projector_px} px", flush=True)
            elif isinstance(msg, Frame):
                for hand in msg.hands:
                    x, y, z = hand.joints_xyz_mm[tip]
                    proj = hand.joints_projector_px
                    px = "-" if proj is None else f"{proj[tip, 0]:.2f},{proj[tip, 1]:.2f}"
                    state = hand.fingers["index"].state if "index" in hand.fingers else "-"
                    print(
                        f"seq {msg.seq} track {hand.track_id} {hand.handedness} index_tip_px {px} {state} "
                        f"xyz_mm {x:.2f},{y:.2f},{z:.2f}",
                        flush=True,
                    )
                frames += 1
                if count and frames >= count:
                    break
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8000/ws/hands", help="the server's /ws/hands URL")
    parser.add_argument("--token", default=os.environ.get("DEPTHHAND_TOKEN", ""), help="default $DEPTHHAND_TOKEN")
    parser.add_argument("--count", type=int, default=0, help="stop after this many frames (default: never)")
    parser.add_argument("--flow", choices=("latest", "ack"), default="latest")
    args = parser.parse_args()
    try:
        sys.exit(asyncio.run(main(args.url, args.token, args.count, args.flow)))
    except (AuthenticationError, ConnectError, ValueError) as exc:
        print(f"print_index_tip: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
