"""Another host on the loopback network: a TCP relay whose connections to the target leave from
127.0.0.2, so that the target sees the attacker as a caller of its own address (Linux routes all
of 127.0.0.0/8 to the loopback interface). Per-address rate limits then tell it apart from the
honest UE at 127.0.0.1, as they would tell two hosts apart in a real network.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

ATTACKER_HOST = "127.0.0.2"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def foreign_source(target_port: int) -> AsyncIterator[str]:
    """A target (host:port) that reaches 127.0.0.1:``target_port`` from ``ATTACKER_HOST``."""
    pipes: set[asyncio.Task[None]] = set()

    async def relay(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        target_reader, target_writer = await asyncio.open_connection(
            "127.0.0.1", target_port, local_addr=(ATTACKER_HOST, 0)
        )
        for task in (
            asyncio.create_task(_pipe(client_reader, target_writer)),
            asyncio.create_task(_pipe(target_reader, client_writer)),
        ):
            pipes.add(task)
            task.add_done_callback(pipes.discard)

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.close()
        for task in list(pipes):
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        await server.wait_closed()
