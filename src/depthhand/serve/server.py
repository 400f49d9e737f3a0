"""Run the server: embedded (Daphne + pipeline thread in one process), web-only, or pipeline worker-only."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

from depthhand.serve import configure, runtime
from depthhand.serve.options import ServeOptions
from depthhand.serve.publisher import Publisher

log = logging.getLogger("depthhand.serve")


def prepare(options: ServeOptions) -> None:
    """Configure Django, create the data folder and the SQLite tables (admin users, sessions)."""
    options.data_dir.mkdir(parents=True, exist_ok=True)
    configure(options)
    if options.mode == "worker":  # the pipeline worker has no database
        return
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def make_publisher(options: ServeOptions) -> Publisher:
    """Open the source and wrap it in a :class:`Publisher`."""
    from depthhand.serve.pipeline import open_pipeline

    rt = runtime.get()
    handle = open_pipeline(options.source, options.pipeline, rt.state)
    publisher = Publisher(handle, rt.state, options.data_dir, window=options.window, depth_every=options.depth_every)
    if options.fit_plane_on_start and publisher.engine.plane is None:
        publisher.request_plane_fit()
    return publisher


def run_web(options: ServeOptions, with_pipeline: bool) -> None:
    """Serve HTTP + WebSocket with Daphne; in embedded mode also run the pipeline on Daphne's event loop."""
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server

    from depthhand.serve.asgi import application

    publisher = make_publisher(options) if with_pipeline else None

    def ready() -> None:
        if publisher is not None:
            publisher.start(asyncio.get_event_loop())
        print(f"depthhand serve: listening on http://{options.host}:{options.port}/?token={options.token}", flush=True)

    server = Server(
        application,
        endpoints=build_endpoint_description_strings(host=options.host, port=options.port),
        ready_callable=ready,
        verbosity=0,
    )
    try:
        server.run()
    finally:
        if publisher is not None:
            publisher.stop()


def run_worker(options: ServeOptions, stop: threading.Event | None = None) -> None:
    """Run only the pipeline, publishing through the Redis channel layer (one worker per camera)."""
    publisher = make_publisher(options)
    stop_event = stop or threading.Event()

    async def main() -> None:
        publisher.start(asyncio.get_running_loop())
        print(f"depthhand serve: worker publishing {options.source} via {options.redis_url}", flush=True)
        while not stop_event.is_set() and publisher.running:
            await asyncio.sleep(0.2)

    if stop is None:
        signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
        signal.signal(signal.SIGINT, lambda *_: stop_event.set())
    try:
        asyncio.run(main())
    finally:
        publisher.stop()
