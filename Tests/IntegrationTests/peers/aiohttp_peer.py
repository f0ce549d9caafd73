"""aiohttp as a permessage-deflate peer, for the lab's interop tests.

Usage:
  aiohttp_peer.py client URL MESSAGE...   connects with compress=15, prints {"extensions": ...},
                                          each reply as a JSON line, then {"done": true}
  aiohttp_peer.py server                  prints its port, echoes every message (compressed when
                                          the client offers deflate) until stdin closes
"""
import asyncio
import json
import sys

import aiohttp
from aiohttp import web


async def client(url, messages):
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, compress=15, autoping=True) as ws:
            print(json.dumps({"extensions": ws._response.headers.get("Sec-WebSocket-Extensions")}), flush=True)
            for message in messages:
                await ws.send_str(message)
                reply = await ws.receive(timeout=10)
                print(json.dumps({"reply": reply.data}), flush=True)
    print(json.dumps({"done": True}), flush=True)


async def echo(request):
    ws = web.WebSocketResponse(compress=True)
    await ws.prepare(request)
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


async def server():
    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if sys.argv[1] == "client":
    asyncio.run(client(sys.argv[2], sys.argv[3:]))
else:
    asyncio.run(server())
