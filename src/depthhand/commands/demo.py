"""``depthhand demo``: the main job on the embedded default — synthetic scene, shipped weights, local server."""

from __future__ import annotations

import argparse

NAME = "demo"
HELP = "Serve the live pipeline on the synthetic top-down scene with the shipped models (open the printed URL)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--source", default="synthetic://topdown", help="any source URL (default: synthetic)")


def run(args: argparse.Namespace) -> int:
    """Run the verb: ``depthhand serve`` with the demo defaults."""
    from depthhand.commands import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    serve_args = parser.parse_args(
        ["--host", args.host, "--port", str(args.port), "--source", args.source, "--fit-plane"]
    )
    print("depthhand demo: synthetic top-down table scene -> detect -> pose (ONNX Runtime) -> track -> touch events")
    return serve.run(serve_args)
