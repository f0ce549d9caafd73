#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target to fuzz/corpus/<target>/ (see FUZZING.md).

Each seed is a small, real input in the target's format: handshakes, frames of every length
form, SSE streams, HTTP heads and bodies, JSON, UTF-8 edge cases. Run it again after changing a
target's input format; the files it writes are committed.
"""
import base64
import hashlib
import os
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(opcode, payload=b"", fin=True, mask=None, rsv=0, form=None):
    """A frame; `form` forces a length form ('16' or '64') even where a shorter one fits."""
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    length = len(payload)
    bit = 0x80 if mask else 0
    if form == "64" or (form is None and length > 0xFFFF):
        head = bytes([first, bit | 127]) + struct.pack(">Q", length)
    elif form == "16" or (form is None and length > 125):
        head = bytes([first, bit | 126]) + struct.pack(">H", length)
    else:
        head = bytes([first, bit | length])
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def close(code, reason=b"", mask=None):
    return frame(0x8, struct.pack(">H", code) + reason, mask=mask)


REQUEST = (
    b"GET /echo HTTP/1.1\r\nHost: localhost:8765\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\nOrigin: http://localhost:8765\r\n\r\n"
)
ACCEPT = base64.b64encode(hashlib.sha1(KEY + GUID).digest())
SWITCH = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
    b"Sec-WebSocket-Accept: " + ACCEPT + b"\r\n\r\n"
)
REFUSED = b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n\r\norigin not allowed :(\n"
POLL = b"GET /poll?since=3 HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n"
POLL_REPLY = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{"messages":[],"since":3}\r\n'
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
)
SSE_STREAM = b"id: 1\nevent: tick\ndata: {\"n\":1}\n\n: keep-alive\n\nretry: 3000\r\ndata: two\r\ndata: lines\r\n\r\n"
SSE_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n" + SSE_STREAM


def write(target, name, data):
    directory = os.path.join(ROOT, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def records(*pieces):
    """The `wire` format: (direction, bytes) pieces as records of at most 127 bytes."""
    out = b""
    for direction, data in pieces:
        bit = 0x80 if direction == "down" else 0
        for start in range(0, len(data), 127):
            chunk = data[start:start + 127]
            out += bytes([bit | len(chunk)]) + chunk
    return out


def wire():
    hello_up = frame(0x1, b"Hello", mask=MASK)
    hello_down = frame(0x1, b"Hello")
    write("wire", "echo-session", records(
        ("up", REQUEST), ("down", SWITCH), ("up", hello_up), ("down", hello_down),
        ("up", close(1000, b"bye", mask=MASK)), ("down", close(1000, b"bye"))))
    write("wire", "frames-with-the-101", records(("up", REQUEST), ("down", SWITCH + hello_down + frame(0x9, b"p"))))
    write("wire", "client-does-not-wait", records(("up", REQUEST + hello_up), ("down", SWITCH)))
    write("wire", "fragmented-message", records(
        ("up", REQUEST), ("down", SWITCH), ("up", frame(0x1, b"Hel", fin=False, mask=MASK)),
        ("up", frame(0x9, b"", mask=MASK)), ("up", frame(0x0, b"lo", mask=MASK))))
    write("wire", "refused-upgrade", records(("up", REQUEST), ("down", REFUSED)))
    write("wire", "polling", records(("up", POLL), ("down", POLL_REPLY), ("up", POLL), ("down", POLL_REPLY)))
    write("wire", "chunked", records(("up", POLL), ("down", CHUNKED)))
    write("wire", "sse", records(("up", b"GET /events HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n"), ("down", SSE_RESPONSE)))
    write("wire", "bad-chunk-size", records(("up", POLL), ("down", CHUNKED.replace(b"7;ext", b"x;ext"))))
    write("wire", "unreadable-frame", records(
        ("up", REQUEST), ("down", SWITCH + bytes([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]) + b"rest")))
    write("wire", "no-colon", records(("down", b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n")))


def frames():
    # byte 0: 0 = client frames, 1 = server frames; bytes 1-2: piece sizes.
    client, server = b"\x00\x01\x07", b"\x01\x03\xff"
    write("frames", "rfc-unmasked-hello", server + frame(0x1, b"Hello"))
    write("frames", "rfc-masked-hello", client + frame(0x1, b"Hello", mask=MASK))
    write("frames", "rfc-fragments", server + frame(0x1, b"Hel", fin=False) + frame(0x0, b"lo"))
    write("frames", "fragments-around-a-ping", client + frame(0x1, b"Hel", fin=False, mask=MASK)
          + frame(0x9, b"?", mask=MASK) + frame(0x0, b"lo", mask=MASK))
    write("frames", "ping-pong", server + frame(0x9, b"Hello") + frame(0xA, b"Hello"))
    write("frames", "16-bit-length", server + frame(0x2, bytes(range(256))))
    write("frames", "64-bit-length-not-minimal", client + frame(0x2, b"short", mask=MASK, form="64"))
    write("frames", "16-bit-length-not-minimal", server + frame(0x1, b"x", form="16"))
    write("frames", "64-bit-length-truncated", server + bytes([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]) + b"partial")
    write("frames", "64-bit-top-bit-set", server + bytes([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]) + b"x")
    write("frames", "beyond-the-limit", server + bytes([0x82, 127, 0, 0, 0, 1, 0, 0, 0, 1]))
    write("frames", "close-with-reason", client + close(1000, b"normal closure", mask=MASK))
    write("frames", "close-one-byte", server + frame(0x8, b"\x03"))
    write("frames", "close-bad-code", server + close(1005))
    write("frames", "close-bad-utf8", server + close(1001, b"\xff\xfe"))
    write("frames", "text-bad-utf8", server + frame(0x1, b"caf\xc3"))
    write("frames", "utf8-split-across-fragments", server + frame(0x1, b"caf\xc3", fin=False) + frame(0x0, b"\xa9"))
    write("frames", "reserved-opcode-and-rsv", server + frame(0x3, b"?", rsv=0b100) + frame(0xB, b""))
    write("frames", "continuation-alone", server + frame(0x0, b"orphan"))
    write("frames", "fragmented-ping", server + frame(0x9, b"x", fin=False))
    write("frames", "unmasked-from-client", client + frame(0x1, b"Hello"))
    write("frames", "masked-from-server", server + frame(0x1, b"Hello", mask=MASK))


def sse():
    pieces = b"\x05\x01"
    write("sse", "guide-stream", pieces + SSE_STREAM)
    write("sse", "crlf-cr-lf", pieces + b"data: a\r\ndata: b\rdata: c\n\r\n")
    write("sse", "bom", pieces + b"\xef\xbb\xbfdata: after a BOM\n\n")
    write("sse", "not-a-bom", pieces + b"\xef\xbbdata\n\n")
    write("sse", "comments-and-unknown", pieces + b": comment\n:\nfoo: bar\nData: ignored\ndata\n\n")
    write("sse", "ids", pieces + b"id: 7\ndata: x\n\nid\ndata: y\n\nid: a\x00b\ndata: z\n\n")
    write("sse", "retry", pieces + b"retry: 10\nretry:  5\nretry: 1x\nretry\nretry: 99999999999999999999999\n\n")
    write("sse", "event-type", pieces + b"event: update\ndata: 1\n\nevent: \ndata: 2\n\nevent: gone\n\n")
    write("sse", "unfinished", pieces + b"data: kept\n\ndata: lost")
    write("sse", "ends-in-cr", pieces + b"data: x\r\r")
    write("sse", "utf8", pieces + "data: h\u00e9llo \u4e16\u754c \U0001F600\n\n".encode() + b"data: \xc3\n\n")
    write("sse", "round-trip-fields", b"\x80\x1e" + b"multi\r\nline\rdata\x1fid-1\x1ftick")


def http():
    # byte 0: bits 0-1 view level, bit 2 up, bits 3-7 width.
    write("http", "request", b"\x05" + REQUEST)
    write("http", "switch-and-frames", b"\x01" + SWITCH + frame(0x1, b'{"type":"chat","text":"hi"}')
          + frame(0x1, b"Hel", fin=False) + frame(0x0, b"lo") + close(1000, b"bye"))
    write("http", "switch-bytes-view", b"\x02" + SWITCH + frame(0x2, bytes(range(40))) + frame(0x8, b""))
    write("http", "refused", b"\x41" + REFUSED)
    write("http", "poll-reply", b"\x00" + POLL_REPLY)
    write("http", "chunked", b"\x02" + CHUNKED)
    write("http", "sse", b"\x01" + SSE_RESPONSE)
    write("http", "no-colon", b"\x01" + b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n")
    write("http", "bare-lf", b"\x01" + b"HTTP/1.1 204 No Content\nDate: today\r\n\r\n")
    write("http", "unrecognised-start", b"\x01" + b"HELLO\r\nA: b\r\n\r\n")
    write("http", "binary-body", b"\x02" + b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n\x00\x01\x02\xff\xfe\x1b[0m")
    # Escape sequences from the wire in every place the renderer once printed them as they came.
    esc = b"\x1b[2J\x1b]0;owned\x07"
    write("http", "escape-in-reason", b"\x01HTTP/1.1 200 " + esc + b"\r\nContent-Length: 0\r\n\r\n")
    write("http", "escape-in-unreadable-head", b"\x01HTTP/1.1 200 OK\r\nno colon " + esc + b"\r\n\r\n")
    write("http", "escape-in-sse-type-and-id", b"\x00" + SSE_RESPONSE.split(b"\r\n\r\n")[0] + b"\r\n\r\nevent: " + esc
          + b"\nid: " + esc + b"\ndata: x\n\n")
    write("http", "escape-in-sse-field-name", b"\x01" + SSE_RESPONSE.split(b"\r\n\r\n")[0] + b"\r\n\r\n" + esc + b": x\n\n")
    write("http", "escape-in-accept", b"\x01HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " + esc + b"\r\n\r\n")
    write("http", "escape-in-json-type", b"\x00" + SWITCH + frame(0x1, b'{"type":"\\u001b[2J"}'))


def json():
    samples = {
        "chat": b'{"type":"chat","room":"general","text":"hello"}',
        "message": b'{"from": "c1", "data": {"n": 1, "ok": true, "none": null}, "timestamp": 1700000000.25}',
        "escapes": b'["\\"\\\\\\/\\b\\f\\n\\r\\t", "\\u00e9\\ud83d\\ude00", "\\u0000"]',
        "numbers": b"[0, -0, 1.5, -2.5e-3, 1E10, 123456789012345678, 1e308, 5e-324]",
        "nested": b"[" * 40 + b"{}" + b"]" * 40,
        "whitespace": b' \t\r\n{ "a" : [ 1 , 2 ] } \n',
        "trailing-comma": b'{"a":1,}',
        "single-quotes": b"{'a':1}",
        "leading-zero": b"[01]",
        "lone-surrogate": b'"\\ud800x"',
        "control-in-string": b'"a\x01b"',
        "utf8": '{"text":"h\u00e9llo \u4e16\u754c"}'.encode(),
    }
    for name, data in samples.items():
        write("json", name, data)


def utf8():
    pieces = b"\x03\x01"
    samples = {
        "ascii": b"Hello, world! " * 4,
        "two-three-four-bytes": "\u00e9\u20ac\U0001F600".encode(),
        "largest": b"\xf4\x8f\xbf\xbf",
        "beyond-largest": b"\xf4\x90\x80\x80",
        "surrogate": b"\xed\xa0\x80",
        "overlong-two": b"\xc0\x80",
        "overlong-three": b"\xe0\x80\x80",
        "overlong-four": b"\xf0\x80\x80\x80",
        "truncated": b"abc\xe2\x82",
        "stray-continuation": b"abcdefgh\x80",
        "ascii-then-multibyte": b"abcdefghijklmnop\xc3\xa9qrstuvwx",
    }
    for name, data in samples.items():
        write("utf8", name, pieces + data)


def text():
    samples = {
        "words": b"\x14the quick brown fox jumps over the lazy dog",
        "escape-sequence": b"\x28colour \x1b[31mred\x1b[0m and a bell\x07 and DEL\x7f",
        "tabs-and-newlines": b"\x10a\tb\nc\r\nd  e",
        "long-word": b"\x05supercalifragilisticexpialidocious and more",
        "wide-and-combining": "\x0a\u4e16\u754c e\u0301 \U0001F468\u200d\U0001F469\u200d\U0001F467 \u0601x".encode(),
        "dump-limit": b"\x84" + bytes(range(0, 256, 7)),
    }
    for name, data in samples.items():
        write("text", name, data)


def tls_record(content_type, body, version=0x0303):
    return struct.pack(">BHH", content_type, version, len(body)) + body


def client_hello(server_name=b"localhost", protocols=(b"http/1.1",)):
    extensions = b""
    if server_name:
        entry = b"\x00" + struct.pack(">H", len(server_name)) + server_name
        extensions += struct.pack(">HHH", 0x0000, len(entry) + 2, len(entry)) + entry
    if protocols:
        names = b"".join(bytes([len(p)]) + p for p in protocols)
        extensions += struct.pack(">HHH", 0x0010, len(names) + 2, len(names)) + names
    body = b"\x03\x03" + bytes(32) + b"\x20" + bytes(32) + struct.pack(">H", 2) + b"\x13\x01" + b"\x01\x00"
    body += struct.pack(">H", len(extensions)) + extensions
    return b"\x01" + len(body).to_bytes(3, "big") + body


def tls():
    """Pieces (2 control bytes), then one direction of a TLS connection."""
    pieces = b"\x05\x40"
    hello = client_hello()
    write("tls", "client-flight", pieces + tls_record(22, hello, 0x0301) + tls_record(20, b"\x01") + tls_record(23, bytes(range(40))))
    write("tls", "hello-in-two-records", pieces + tls_record(22, hello[:30]) + tls_record(22, hello[30:]))
    write("tls", "hello-to-an-address", pieces + tls_record(22, client_hello(server_name=None)))
    write("tls", "server-flight", pieces + tls_record(22, b"\x02\x00\x00\x04" + bytes(4)) + tls_record(20, b"\x01")
          + tls_record(23, bytes(100)) + tls_record(21, b"\x01\x00"))
    write("tls", "plain-http", pieces + b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    write("tls", "truncated-hello", pieces + tls_record(22, hello)[:60])


if __name__ == "__main__":
    shutil.rmtree(ROOT, ignore_errors=True)
    for make in (wire, frames, sse, http, json, utf8, text, tls):
        make()
    for target in sorted(os.listdir(ROOT)):
        print(f"{target}: {len(os.listdir(os.path.join(ROOT, target)))} seeds")
