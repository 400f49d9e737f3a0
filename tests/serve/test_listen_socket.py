"""The server's pre-bound listening socket: accepted connections must have Nagle's algorithm off."""

from __future__ import annotations

import asyncio
import socket

from depthhand.serve.server import listen_socket


def test_accepted_connections_have_tcp_nodelay() -> None:
    """With Nagle on, a frame smaller than the MSS waits for the client's delayed ACK (40 ms) once it sends acks.

    asyncio turns Nagle off only on accepted sockets whose ``proto`` is TCP; a socket made with proto 0 kept it on.
    """
    sock = listen_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    assert sock.proto == socket.IPPROTO_TCP

    async def main() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=sock)  # how uvicorn serves a pre-bound socket
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            nodelay = await asyncio.wait_for(accepted, 5)
            writer.close()
        return nodelay

    assert asyncio.run(main()) != 0
