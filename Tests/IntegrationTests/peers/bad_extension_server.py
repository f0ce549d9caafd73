"""A WebSocket server that answers every upgrade with 101 and a Sec-WebSocket-Extensions of
the test's choosing, whatever the client offered: a server that breaks RFC 6455 §4.1 or
RFC 7692 §7.1, for testing that a client fails the connection.

Usage: bad_extension_server.py 'EXTENSIONS VALUE'
Prints "listening PORT" once, then for each connection "offered: VALUE" (the request's
Sec-WebSocket-Extensions, or "-") and, when the client has closed TCP, "closed after N bytes"
(what the client sent after the request head). Only the standard library: the point is a server
that no library would let us write.
"""
import asyncio
import base64
import hashlib
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


async def handle(reader, writer, extensions):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
        return
    fields = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip()
    print("offered: " + fields.get("sec-websocket-extensions", "-"), flush=True)
    key = fields.get("sec-websocket-key", "").encode()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    writer.write(
        (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n"
            f"Sec-WebSocket-Extensions: {extensions}\r\n"
            "\r\n"
        ).encode()
    )
    await writer.drain()
    after = 0
    try:
        # A client that accepts the answer would send frames; one that fails it closes TCP.
        while True:
            data = await asyncio.wait_for(reader.read(65536), timeout=10)
            if not data:
                break
            after += len(data)
    except (asyncio.TimeoutError, ConnectionError):
        pass
    print(f"closed after {after} bytes", flush=True)
    writer.close()


async def main():
    extensions = sys.argv[1]
    server = await asyncio.start_server(lambda r, w: handle(r, w, extensions), "127.0.0.1", 0)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
