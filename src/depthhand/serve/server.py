"""Run the server: embedded (uvicorn + pipeline thread in one process), web-only, or pipeline worker-only."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading

from depthhand import atomic
from depthhand.serve import configure, runtime
from depthhand.serve.options import ServeOptions
from depthhand.serve.publisher import Publisher

log = logging.getLogger("depthhand.serve")


def prepare(options: ServeOptions) -> None:
    """Configure Django, create the data folder (``0700``) and the SQLite tables (``0600``; admin users, sessions)."""
    if not options.data_dir.is_dir():
        options.data_dir.mkdir(parents=True, mode=0o700)
        options.data_dir.chmod(0o700)  # mkdir's mode is masked by the umask
    configure(options)
    if options.mode == "worker":  # the pipeline worker has no database
        return
    from django.core.management import call_command

    db = options.data_dir / "db.sqlite3"
    db.touch(mode=0o600, exist_ok=True)
    db.chmod(0o600)
    call_command("migrate", interactive=False, verbosity=0)


def make_publisher(options: ServeOptions) -> Publisher:
    """Open the source and wrap it in a :class:`Publisher`."""
    from depthhand.output import open_outputs
    from depthhand.serve.pipeline import open_pipeline

    rt = runtime.get()
    outputs = open_outputs(options.osc, options.tuio)
    handle = open_pipeline(options.source, options.pipeline, rt.state)
    publisher = Publisher(
        handle,
        rt.state,
        options.data_dir,
        depth_every=options.depth_every,
        outputs=outputs,
    )
    if options.fit_plane_on_start and publisher.engine.plane is None:
        publisher.request_plane_fit()
    return publisher


def startup_banner(options: ServeOptions, terminal: bool) -> str:
    """The line printed once at start: the URL with the token only on a terminal, else where the token is.

    A generated token (no ``DEPTHHAND_TOKEN`` / ``DEPTHHAND_TOKEN_FILE``) that cannot be shown is written to
    ``<data dir>/token`` (``0600``).
    """
    url = f"http://{options.host}:{options.port}/"
    if terminal:
        return f"depthhand serve: listening on {url}?token={options.token}"
    if os.environ.get("DEPTHHAND_TOKEN") == options.token:
        where = "the token is $DEPTHHAND_TOKEN"
    elif os.environ.get("DEPTHHAND_TOKEN_FILE"):
        where = f"the token is in {os.environ['DEPTHHAND_TOKEN_FILE']}"
    else:
        token_file = options.data_dir / "token"
        atomic.write_text(token_file, options.token + "\n", mode=0o600)
        where = f"the token is in {token_file}"
    return f"depthhand serve: listening on {url} ({where}; open {url}?token=<token>)"


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
    # proto IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on accepted sockets whose
    # proto says TCP. With Nagle on, every frame (smaller than the loopback MSS) waited for the client's delayed
    # ACK once the client sent anything back (acks): 40 ms stalls.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets on Linux
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
            print(startup_banner(options, sys.stdout.isatty()), flush=True)
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
