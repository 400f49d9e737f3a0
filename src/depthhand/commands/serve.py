"""``depthhand serve``: the live server (Django + Channels): WebSocket stream, REST API, viewer, calibration."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from depthhand.commands._pipeline_args import add_output_arguments, add_pipeline_arguments
from depthhand.serve.options import DEFAULT_SOURCE

NAME = "serve"
HELP = "Run the live server: WebSocket /ws/hands, REST /api/*, three.js viewer and projector calibration."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this verb's arguments (with the pipeline options ``run`` and ``predict`` share)."""
    add_pipeline_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--source",
        default=DEFAULT_SOURCE,
        help=f"source URL (default {DEFAULT_SOURCE}: the full pipeline on the synthetic table scene); also "
        "scripted://demo, scripted://calibration, scripted://paint (poses from a script), "
        "synthetic://topdown?poses=truth, a folder, a recording or a sensor (see the README)",
    )
    parser.add_argument("--redis", metavar="URL", help="Redis channel layer + state (needed for the split modes)")
    split = parser.add_mutually_exclusive_group()
    split.add_argument("--worker-only", action="store_true", help="run only the pipeline (publishes to Redis)")
    split.add_argument("--web-only", action="store_true", help="run only the web server (reads from Redis)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="database, calibration.json (default $DEPTHHAND_DATA or ~/.local/share/depthhand/serve)",
    )
    parser.add_argument("--production", action="store_true", help="HTTPS-only cookies, HSTS, SSL redirect")
    parser.add_argument("--check-deploy", action="store_true", help="run Django's deployment checks and exit")
    parser.add_argument("--allowed-host", action="append", default=[], help="extra host name to answer to")
    parser.add_argument(
        "--public-read",
        action="store_true",
        help="let GET /api/status, /api/config and /api/calibration* answer without the token (writes still need it)",
    )
    parser.add_argument("--admin", action="store_true", help="serve Django's /admin/ (off by default)")
    parser.add_argument(
        "--fit-plane",
        action="store_true",
        help="fit the table plane from the first frames when the calibration has none (RANSAC; hands are outliers)",
    )
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run the verb."""
    from depthhand.commands._pipeline_args import pipeline_options
    from depthhand.serve.options import ServeOptions, default_data_dir

    mode = "worker" if args.worker_only else "web" if args.web_only else "embedded"
    options = ServeOptions(
        host=args.host,
        port=args.port,
        source=args.source,
        mode=mode,
        redis_url=args.redis,
        data_dir=args.data_dir or default_data_dir(),
        production=args.production,
        allowed_hosts=tuple(args.allowed_host),
        pipeline=pipeline_options(args),
        fit_plane_on_start=args.fit_plane,
        public_read=args.public_read,
        admin=args.admin,
        osc=args.osc,
        tuio=args.tuio,
    )
    from depthhand.serve.server import prepare, run_web, run_worker

    if args.check_deploy:
        from depthhand.serve import configure

        configure(options)
        from django.core.management import call_command
        from django.core.management.base import SystemCheckError

        try:
            call_command("check", deploy=True, fail_level="WARNING")
        except SystemCheckError as exc:
            ids = sorted(set(re.findall(r"\((security\.\w+)\)", str(exc))))
            hint = "" if args.production else " (these are the development settings: add --production)"
            raise ValueError(f"the deployment checks found issues {', '.join(ids) or str(exc)}{hint}") from None
        return 0
    prepare(options)
    if mode == "worker":
        run_worker(options)
    else:
        run_web(options, with_pipeline=mode == "embedded")
    return 0
