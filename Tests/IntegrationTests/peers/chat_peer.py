"""A chat participant on Python's websockets, for interoperability tests.

Usage: chat_peer.py URL

Connects, prints {"open": true}, then prints every message the server sends as a JSON line
{"received": "<the message text, exactly as sent>"}. Each line read from stdin is sent as one
text message. When stdin ends, it closes with 1000 and prints {"closed": CODE}; if the server
closes first it prints {"close_code": N, "close_reason": "..."}. The test reads the lines.
"""
import json
import sys
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def emit(value):
    print(json.dumps(value), flush=True)


def receive(connection):
    try:
        for message in connection:
            if isinstance(message, bytes):
                message = "hex:" + message.hex()
            emit({"received": message})
    except ConnectionClosed:
        pass
    rcvd = connection.protocol.close_rcvd
    if rcvd is not None:
        emit({"close_code": rcvd.code, "close_reason": rcvd.reason})


url = sys.argv[1]
with connect(url, open_timeout=10, close_timeout=10) as connection:
    emit({"open": True})
    reader = threading.Thread(target=receive, args=(connection,), daemon=True)
    reader.start()
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line:
            try:
                connection.send(line)
            except ConnectionClosed:
                break
    connection.close(1000, "stdin ended")
    reader.join(timeout=10)
    emit({"closed": 1000})
