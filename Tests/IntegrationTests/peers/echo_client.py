"""An independent WebSocket client (Python websockets) for interoperability tests.

Usage: echo_client.py [--cafile PEM] URL MESSAGE...
For wss:// URLs, --cafile trusts that certificate (the lab's, generated at start) instead of the
system's authorities. Sends each message, prints each reply as a JSON line, then waits for the server to close and
prints {"close_code": N, "close_reason": "..."}. The test reads the lines.
"""
import json
import ssl
import sys

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

arguments = sys.argv[1:]
context = None
if arguments[:1] == ["--cafile"]:
    context = ssl.create_default_context(cafile=arguments[1])
    arguments = arguments[2:]
url, messages = arguments[0], arguments[1:]
options = {"ssl": context} if context else {}
with connect(url, open_timeout=10, close_timeout=10, **options) as connection:
    for message in messages:
        payload = bytes.fromhex(message[4:]) if message.startswith("hex:") else message
        connection.send(payload)
        reply = connection.recv(timeout=10)
        if isinstance(reply, bytes):
            reply = "hex:" + reply.hex()
        print(json.dumps({"reply": reply}), flush=True)
    print(json.dumps({"ready": True}), flush=True)
    try:
        connection.recv(timeout=30)
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        reason = closed.rcvd.reason if closed.rcvd else None
        print(json.dumps({"close_code": code, "close_reason": reason}), flush=True)
