"""The guide's echo and chat on Python's `websockets` alone, with its `broadcast()`, for `make bench`.

`broadcast()` serializes once and writes to each connection without awaiting it (a connection
whose buffer is full is skipped): the per-delivery cost to compare the lab's with. Same paths and
JSON shapes as the guide. Run: python ws_broadcast.py 9003
"""
import asyncio
import json
import logging
import sys
from datetime import datetime, timezone

from websockets.asyncio.server import broadcast, serve
from websockets.exceptions import ConnectionClosed

chat = {}


def send_all(message, exclude=None):
    broadcast([ws for cid, ws in chat.items() if cid != exclude], json.dumps(message))


async def handler(ws):
    try:
        await serve_one(ws)
    except ConnectionClosed:
        pass  # the bench drops its clients without a close frame


async def serve_one(ws):
    path = ws.request.path.split("?")[0]
    if path == "/ws/echo":
        async for data in ws:
            await ws.send(f"Echo: {data}")
        return
    if not path.startswith("/ws/chat/"):
        await ws.close(1008, "unknown path")
        return
    client_id = path[len("/ws/chat/"):]
    chat[client_id] = ws
    send_all({"type": "user_joined", "client_id": client_id, "online_count": len(chat)}, exclude=client_id)
    try:
        async for data in ws:
            try:
                text = json.loads(data).get("text")
            except (ValueError, AttributeError):
                continue
            send_all({"type": "message", "from": client_id, "text": text,
                      "timestamp": datetime.now(timezone.utc).isoformat()})
    finally:
        chat.pop(client_id, None)
        send_all({"type": "user_left", "client_id": client_id})


async def main(port):
    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    async with serve(handler, "127.0.0.1", port, ping_interval=None, max_size=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9003))
