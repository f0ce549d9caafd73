"""A Python websockets client that offers permessage-deflate (as it does by default), for the
lab's interop tests.

Usage: deflate_client.py URL [--no-context-takeover] MESSAGE...
Prints {"extensions": "..."} (the server's answer), then each reply as a JSON line, then closes.
"""
import json
import sys

from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.sync.client import connect

url, rest = sys.argv[1], sys.argv[2:]
no_context_takeover = "--no-context-takeover" in rest
messages = [m for m in rest if m != "--no-context-takeover"]
factory = ClientPerMessageDeflateFactory(
    client_max_window_bits=True,
    server_no_context_takeover=no_context_takeover,
    client_no_context_takeover=no_context_takeover,
)
with connect(url, open_timeout=10, close_timeout=10, extensions=[factory], compression=None) as connection:
    print(json.dumps({"extensions": connection.response.headers.get("Sec-WebSocket-Extensions")}), flush=True)
    for message in messages:
        connection.send(message)
        print(json.dumps({"reply": connection.recv(timeout=10)}), flush=True)
print(json.dumps({"done": True}), flush=True)
