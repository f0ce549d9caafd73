"""A TCP proxy that counts the bytes of each connection, independently of wirelab's taps.

Usage: byte_counting_proxy.py TARGET_PORT
Prints "listening PORT" once, then "closed up=N down=M" for each connection when both of its
directions have ended. "up" is client to server.
"""
import asyncio
import sys


async def pump(reader, writer, counts, key):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            counts[key] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        # Half-close: the other direction may still carry bytes (a close frame's answer).
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except Exception:
            pass


async def handle(client_reader, client_writer, target_port):
    counts = {"up": 0, "down": 0}
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    up = asyncio.ensure_future(pump(client_reader, server_writer, counts, "up"))
    down = asyncio.ensure_future(pump(server_reader, client_writer, counts, "down"))
    # When one side has finished, the other gets a moment to finish too: a server answering a
    # close frame, or ending an event stream when the client half-closes. Then both are cut.
    await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
    await asyncio.wait([up, down], timeout=2)
    for task in (up, down):
        task.cancel()
    await asyncio.gather(up, down, return_exceptions=True)
    client_writer.close()
    server_writer.close()
    print(f"closed up={counts['up']} down={counts['down']}", flush=True)


async def main():
    target_port = int(sys.argv[1])
    server = await asyncio.start_server(lambda r, w: handle(r, w, target_port), "127.0.0.1", 0)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
