"""Run the server: embedded (uvicorn + pipeline thread in one process), web-only, or pipeline worker-only."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
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


def listen_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket, or a clear error (the port is taken, the host is not this machine's).

    Raises:
        ValueError: Naming the address and the reason.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ValueError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def run_web(options: ServeOptions, with_pipeline: bool) -> None:
    """Serve HTTP + WebSocket with uvicorn; in embedded mode also run the pipeline on the server's event loop.

    uvicorn with wsproto holds a WebSocket send back while the client's TCP buffer is full, which is what lets each
    client's outbox (:mod:`depthhand.serve.consumers`) keep a fixed size.

    Raises:
        ValueError: The address cannot be listened on, or the source cannot be opened (before anything runs).
    """
    import uvicorn

    from depthhand.serve.asgi import application

    sock = listen_socket(options.host, options.port)
    publisher = make_publisher(options) if with_pipeline else None
    config = uvicorn.Config(
        application,
        ws="wsproto",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        ws_max_size=64 * 1024,
        ws_per_message_deflate=False,  # compressing every frame for every client costs more than it saves here
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if server.started:
            if publisher is not None:
                publisher.start(asyncio.get_running_loop())
            print(
                f"depthhand serve: listening on http://{options.host}:{options.port}/?token={options.token}", flush=True
            )
        await serving

    try:
        asyncio.run(main())
    finally:
        sock.close()
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
