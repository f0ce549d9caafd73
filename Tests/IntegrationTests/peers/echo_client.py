"""An independent WebSocket client (Python websockets) for interoperability tests.

Usage: echo_client.py URL MESSAGE...
Sends each message, prints each reply as a JSON line, then waits for the server to close and
prints {"close_code": N, "close_reason": "..."}. The test reads the lines.
"""
import json
import sys

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

url, messages = sys.argv[1], sys.argv[2:]
with connect(url, open_timeout=10, close_timeout=10) as connection:
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
