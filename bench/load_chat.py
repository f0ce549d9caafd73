"""Load and faults on wirelab's chat (`/ws/chat/{client_id}`), from an independent client.

Usage: load_chat.py --port N [--pid SERVER_PID] [--clients 500] [--messages 20] ...
(`scripts/load-test.sh` starts the server, runs this, and stops it.)

What it does, in order:
  1. `never-reader` connects on a raw socket, syncs (sends `{}`, reads up to the server's error
     reply, which shows its session is subscribed), and from then on never calls recv().
  2. `dropper` connects on a raw socket and syncs the same way.
  3. c000…c499 connect on Python's websockets (at most 50 handshakes at a time) and sync.
  4. Everyone has joined: each healthy client sends N messages {"text": "<id>:<seq>"}, at least
     --interval apart (default 0.1 s: half the lab's default rate of 20 a second, and never near
     its burst of 40), and only while fewer than --in-flight messages (default 100) are still
     missing at some healthy client; otherwise it waits for a slot. Meanwhile the dropper sends 3
     messages, reads until its own third one comes back, and resets its TCP connection
     (SO_LINGER 0: RST, no close frame).
  5. Waits until every healthy client has every healthy message, or --timeout (default 300 s: a
     full run took 150 s on a busy two-core machine).
  6. Checks, prints a table, closes everyone, and exits 1 if any check failed.

Checks: every healthy client got each healthy message exactly once, in each sender's order, and
the dropper's 3; it got a user_left for the dropper and for the never-reader (cut off by the lab's
slow-reader rule: its socket took no bytes for the stall limit); the never-reader's socket, read
at last, ends (EOF or reset); no error replies other than the sync's; the server's peak RSS stays
under --max-rss-mib (default 256 MiB: a full run peaks near 80 MiB; a server that kept what it
sends, 460 MB, would not).

Why the in-flight limit: it keeps latencies readable. Without it (`--in-flight 0`), 500 clients
× 10 messages a second ask for 2.5 million deliveries a second, some sixty times what two cores
manage: the lab's budget for queued bytes makes the senders wait, and every message still
arrives, but seconds late. (A count limit on each queue, the rule before this one, cut off every
healthy client in that run.)
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import resource
import socket
import struct
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
NEVER_READER = "never-reader"
DROPPER = "dropper"
DROPPER_MESSAGES = 3


# MARK: Server memory (/proc/PID/status, as Sources/Bench's ProcessStats reads it)

def memory_kib(pid):
    """VmRSS and VmHWM of `pid` in KiB, or (None, None) when it cannot be read."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
    except OSError:
        return None, None
    return values.get("VmRSS"), values.get("VmHWM")


def cpu_seconds(pid):
    """User + system CPU time of `pid` so far, in seconds (fields 14 and 15 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class MemorySampler:
    """Samples the server's VmRSS every `period` seconds while the run goes on."""

    def __init__(self, pid, progress, period=0.1):
        self.pid, self.progress, self.period = pid, progress, period
        self.samples = []  # (seconds since start, KiB, progress() then)
        self.task = None

    def now_kib(self):
        return memory_kib(self.pid)[0] if self.pid else None

    def start(self):
        if self.pid:
            self.task = asyncio.ensure_future(self._run())

    async def _run(self):
        started = time.monotonic()
        while True:
            rss = self.now_kib()
            if rss is not None:
                self.samples.append((time.monotonic() - started, rss, self.progress()))
            await asyncio.sleep(self.period)

    def stop(self):
        if self.task:
            self.task.cancel()

    @property
    def peak_sampled(self):
        return max((kib for _, kib, _ in self.samples), default=None)

    def at_progress(self, at_least):
        """The first RSS sampled once progress() had reached `at_least`."""
        return next((kib for _, kib, done in self.samples if done >= at_least), None)


# MARK: A raw WebSocket client on a plain socket, for the two misbehaving clients

def parse_frames(buffer):
    """Whole server frames at the front of `buffer`: ([(opcode, payload)], rest). Server frames are
    unmasked; fragments are returned as they come (the lab sends small messages whole)."""
    frames = []
    while len(buffer) >= 2:
        opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
        offset = 2
        if length == 126:
            if len(buffer) < 4:
                break
            length, offset = struct.unpack("!H", buffer[2:4])[0], 4
        elif length == 127:
            if len(buffer) < 10:
                break
            length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
        if buffer[1] & 0x80:
            offset += 4  # a masked server frame would be a server bug; skip the key, read on
        if len(buffer) < offset + length:
            break
        frames.append((opcode, bytes(buffer[offset:offset + length])))
        buffer = buffer[offset + length:]
    return frames, buffer


def masked_frame(opcode, payload):
    key = os.urandom(4)
    header = bytes([0x80 | opcode])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 1 << 16:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawClient:
    """A WebSocket client that reads only when told to: blocking socket calls, run in a thread."""

    def __init__(self, port, client_id, receive_buffer=0):
        self.port, self.client_id, self.receive_buffer = port, client_id, receive_buffer
        self.sock = None
        self.buffer = b""
        self.bytes_read = 0

    def open(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.receive_buffer:
            # Before connecting, so that the window the server is offered is small from the start.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", self.port))
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            b"GET /ws/chat/" + self.client_id.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1:" + str(self.port).encode()
            + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key
            + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        while b"\r\n\r\n" not in self.buffer:
            self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if not head.startswith(b"HTTP/1.1 101") or accept not in head:
            raise RuntimeError(f"{self.client_id}: handshake refused: {head.decode(errors='replace')}")

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"{self.client_id}: the server closed the connection")
        self.bytes_read += len(data)
        self.buffer += data

    def send_text(self, text):
        self.sock.sendall(masked_frame(0x1, text.encode()))

    def read_until(self, predicate):
        """Reads text messages until `predicate(message)` holds; returns the messages read."""
        seen = []
        while True:
            frames, self.buffer = parse_frames(self.buffer)
            for opcode, payload in frames:
                if opcode == 0x1:
                    seen.append(json.loads(payload))
                    if predicate(seen[-1]):
                        return seen
                elif opcode == 0x8:
                    raise ConnectionError(f"{self.client_id}: closed by the server: {payload[:2].hex()}")
            self._recv()

    def sync(self):
        """`{}` is not a chat message: the lab answers with an error, through this client's queue,
        so the answer shows that its session is running and subscribed to the chat."""
        self.send_text("{}")
        self.read_until(lambda message: message.get("type") == "error")

    def drain(self, timeout):
        """Reads everything left until the server ends the connection. Returns how it ended ('EOF',
        'reset', or 'still open'), the bytes read, and the close code of a close frame, if any."""
        self.sock.settimeout(timeout)
        ended = "still open"
        try:
            while True:
                data = self.sock.recv(1 << 20)
                if not data:
                    ended = "EOF"
                    break
                self.bytes_read += len(data)
                self.buffer += data
        except ConnectionResetError:
            ended = "reset"
        except socket.timeout:
            pass
        close_code = None
        frames, _ = parse_frames(self.buffer)
        for opcode, payload in frames:
            if opcode == 0x8 and len(payload) >= 2:
                close_code = struct.unpack("!H", payload[:2])[0]
        return ended, self.bytes_read, close_code

    def reset(self):
        """Drops the TCP connection without a close frame: SO_LINGER 0 makes close() send RST."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# MARK: Healthy clients

class Healthy:
    """One healthy client: sends its messages, and checks every message it receives."""

    def __init__(self, run, index):
        self.run = run
        self.id = f"c{index:03d}"
        self.ws = None
        self.seen = {}         # sender id -> bitmask of the seqs received
        self.highest = {}      # sender id -> highest seq received
        self.unique = 0        # healthy messages received once
        self.duplicates = 0
        self.out_of_order = 0
        self.foreign = 0       # messages that are neither healthy nor the dropper's
        self.errors = []       # error replies beyond the sync's
        self.dropper = []      # the dropper's texts, in arrival order
        self.left = {}         # client id -> monotonic time its user_left arrived
        self.synced = asyncio.Event()
        self.all_at = None     # monotonic time the last healthy message arrived
        self.closed = None     # (code, reason) if the server closed this client

    async def open(self):
        # compression=None: websockets offers permessage-deflate by default, and the lab accepts it
        # now; this test measures the queues and the socket rules without zlib's state per
        # connection (as BENCHMARKS.md's figures were taken).
        self.ws = await connect(f"ws://127.0.0.1:{self.run.args.port}/ws/chat/{self.id}",
                                ping_interval=None, close_timeout=5, max_queue=None, open_timeout=30,
                                compression=None)
        self.reader = asyncio.ensure_future(self.read())
        await self.ws.send("{}")
        await self.synced.wait()

    async def read(self):
        run, expected = self.run, self.run.expected_per_client
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "message":
                    sender, text = message.get("from"), message.get("text", "")
                    if sender in run.healthy_ids:
                        prefix, _, seq_text = text.partition(":")
                        seq = int(seq_text) if seq_text.isdigit() and prefix == sender else -1
                        if not 0 <= seq < run.args.messages:
                            self.foreign += 1
                            continue
                        bit = 1 << seq
                        mask = self.seen.get(sender, 0)
                        if mask & bit:
                            self.duplicates += 1
                            continue
                        self.seen[sender] = mask | bit
                        if seq < self.highest.get(sender, -1):
                            self.out_of_order += 1
                        else:
                            self.highest[sender] = seq
                        now = time.monotonic()
                        sent = run.sent_at.get((sender, seq))
                        if sent is not None:
                            run.latencies.append(now - sent)
                        run.delivered((sender, seq))
                        run.received += 1
                        self.unique += 1
                        if self.unique == expected:
                            self.all_at = now
                            run.note_complete()
                    elif sender == DROPPER:
                        self.dropper.append(text if DROPPER not in self.left else "after its user_left: " + text)
                    else:
                        self.foreign += 1
                elif kind == "user_left":
                    who = message.get("client_id")
                    if who not in self.left:
                        self.left[who] = time.monotonic()
                        run.sent_when_left.setdefault(who, run.sent)
                elif kind == "error":
                    if self.synced.is_set():
                        self.errors.append(message.get("error"))
                    self.synced.set()
        except ConnectionClosed as closed:
            if closed.rcvd is not None and not run.closing:
                self.closed = (closed.rcvd.code, closed.rcvd.reason)
        except Exception as error:  # a message this script cannot read: a failure, not a hang
            run.client_errors.append(f"{self.id}: {error!r}")
            self.closed = (0, "the load generator failed")
        if not run.closing and self.closed is None:
            self.closed = (1006, "connection lost")
        if self.closed is not None:
            run.lost.set()  # its messages would hold their slots for ever: the run is over
        self.synced.set()

    async def send_all(self, start):
        """Sends seq 0…N-1, each at least `interval` after the last, each once a slot is free."""
        run, args = self.run, self.run.args
        await asyncio.sleep(max(0.0, start - time.monotonic()) + random.random() * args.interval)
        last = 0.0
        for seq in range(args.messages):
            delay = last + args.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await run.slots.acquire()
            if self.closed is not None:
                run.slots.release()
                return
            last = time.monotonic()
            run.sent_at[(self.id, seq)] = last
            run.waiting[(self.id, seq)] = len(run.healthy)
            try:
                await self.ws.send(f'{{"text":"{self.id}:{seq}"}}')
            except ConnectionClosed:
                return
            run.sent += 1

    def missing(self):
        full = (1 << self.run.args.messages) - 1
        return sum(self.run.args.messages - bin(self.seen.get(s, 0) & full).count("1") for s in self.run.healthy_ids)


def print_report(title, facts, checks):
    """Prints the facts, then each check as ok or FAIL, then PASS or FAIL. Returns the failures."""
    width = max(len(k) for k, _ in facts + [(c, 0) for c, _, _ in checks])
    print(title)
    for key, value in facts:
        print(f"{key:<{width}}  {value}")
    print()
    failed = 0
    for name, ok, detail in checks:
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:<{width}}  {detail}")
    print()
    print("PASS" if not failed else f"FAIL: {failed} check{'s' if failed > 1 else ''} failed")
    return failed


# MARK: The run

class Run:
    def __init__(self, args):
        self.args = args
        self.healthy = [Healthy(self, i) for i in range(args.clients)]
        self.healthy_ids = {client.id for client in self.healthy}
        self.expected_per_client = args.clients * args.messages
        self.sent_at = {}
        # A slot per message that some healthy client has not received yet: with at most
        # --in-flight of them, no healthy receiver can be as far behind as the lab's queue limit.
        self.slots = asyncio.Semaphore(args.in_flight or 1 << 30)  # 0: no limit (open loop)
        self.waiting = {}  # (sender, seq) -> healthy receivers still to get it
        self.sent = 0
        self.latencies = []
        self.completed = 0
        self.all_done = asyncio.Event()
        self.lost = asyncio.Event()  # a healthy client's connection was closed
        self.client_errors = []  # exceptions in the healthy clients' readers
        self.sent_when_left = {}  # client id -> healthy messages sent when its user_left first came
        self.closing = False
        self.received = 0  # healthy deliveries so far, all clients together
        self.memory = MemorySampler(args.pid, lambda: self.received)

    def delivered(self, key):
        left = self.waiting.get(key)
        if left is None:
            return
        if left == 1:
            del self.waiting[key]
            self.slots.release()
        else:
            self.waiting[key] = left - 1

    def note_complete(self):
        self.completed += 1
        if self.completed == len(self.healthy):
            self.all_done.set()

    async def connect_healthy(self):
        gate = asyncio.Semaphore(50)

        async def one(client):
            async with gate:
                await client.open()
        await asyncio.gather(*(one(client) for client in self.healthy))

    def dropper_act(self, dropper):
        """In a thread: three messages, read until the last comes back, then a reset."""
        for seq in range(DROPPER_MESSAGES):
            dropper.send_text(json.dumps({"text": f"{DROPPER}:{seq}"}))
        last = f"{DROPPER}:{DROPPER_MESSAGES - 1}"
        dropper.read_until(lambda m: m.get("type") == "message" and m.get("text") == last)
        dropper.reset()
        return time.monotonic()

    async def main(self):
        args = self.args
        report = {"clients": args.clients, "messages per client": args.messages}
        self.memory.start()
        rss_start = self.memory.now_kib()

        load_before = os.getloadavg()[0]
        never = RawClient(args.port, NEVER_READER, args.never_reader_rcvbuf)
        await asyncio.to_thread(never.open)
        await asyncio.to_thread(never.sync)
        dropper = RawClient(args.port, DROPPER)
        await asyncio.to_thread(dropper.open)
        await asyncio.to_thread(dropper.sync)

        connect_started = time.monotonic()
        await asyncio.wait_for(self.connect_healthy(), args.timeout)
        connected = time.monotonic()
        await asyncio.sleep(0.5)  # the last user_joined broadcasts settle before RSS is read
        rss_joined = self.memory.now_kib()

        # Everyone is in: send.
        start = time.monotonic() + 0.2
        server_cpu_start, own_cpu_start = cpu_seconds(args.pid) if args.pid else None, own_cpu_seconds()
        senders = [asyncio.ensure_future(client.send_all(start)) for client in self.healthy]
        dropped = asyncio.ensure_future(asyncio.to_thread(self.dropper_act, dropper))
        ends = [asyncio.ensure_future(self.all_done.wait()), asyncio.ensure_future(self.lost.wait())]
        await asyncio.wait(ends, timeout=args.timeout, return_when=asyncio.FIRST_COMPLETED)
        for end in ends:
            end.cancel()
        finished = time.monotonic()
        server_cpu = cpu_seconds(args.pid) - server_cpu_start if args.pid and server_cpu_start is not None else None
        own_cpu = own_cpu_seconds() - own_cpu_start
        load_after = os.getloadavg()[0]
        for task in senders:
            task.cancel()
        try:
            dropped_at = await asyncio.wait_for(dropped, 10)
        except (asyncio.TimeoutError, OSError, ConnectionError) as error:
            dropped_at = None
            print(f"the dropper failed: {error!r}", file=sys.stderr)
        # user_left for the dropper (and the never-reader, if it is late) may still be on its way.
        wait_left_until = time.monotonic() + 10
        while time.monotonic() < wait_left_until and not all(
                DROPPER in c.left and NEVER_READER in c.left for c in self.healthy if c.closed is None):
            await asyncio.sleep(0.1)
        rss_loaded = self.memory.now_kib()

        # The never-reader reads at last: what was buffered, then the end of the connection.
        never_end, never_bytes, never_code = await asyncio.to_thread(never.drain, 10)
        never.close()

        self.closing = True
        gate = asyncio.Semaphore(50)

        async def close(client):
            async with gate:
                await client.ws.close()
        await asyncio.gather(*(close(c) for c in self.healthy), return_exceptions=True)
        await asyncio.sleep(1)
        rss_end, hwm = memory_kib(args.pid) if args.pid else (None, None)
        self.memory.stop()

        # MARK: Checks
        clients, n = self.healthy, args.clients * args.messages
        received = sum(c.unique for c in clients)
        duplicates = sum(c.duplicates for c in clients)
        out_of_order = sum(c.out_of_order for c in clients)
        missing = sum(c.missing() for c in clients)
        foreign = sum(c.foreign for c in clients)
        errors = [e for c in clients for e in c.errors]
        cut_off_healthy = [c.id for c in clients if c.closed is not None]
        dropper_ok = sum(c.dropper == [f"{DROPPER}:{i}" for i in range(DROPPER_MESSAGES)] for c in clients)
        left_dropper = sum(DROPPER in c.left for c in clients)
        left_never = sum(NEVER_READER in c.left for c in clients)
        never_left_at = min((c.left[NEVER_READER] for c in clients if NEVER_READER in c.left), default=None)
        last_delivery = max((c.all_at for c in clients if c.all_at), default=None)
        latencies = sorted(self.latencies)

        def pct(p):
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else None

        checks = [
            ("every healthy message sent", self.sent == n, f"{self.sent} of {n}"),
            ("deliveries to healthy clients", received == n * len(clients), f"{received} of {n * len(clients)}"),
            ("duplicates", duplicates == 0, str(duplicates)),
            ("out of order (per sender)", out_of_order == 0, str(out_of_order)),
            ("missing", missing == 0, str(missing)),
            ("unexpected messages", foreign == 0, str(foreign)),
            ("load generator errors", not self.client_errors,
             f"{len(self.client_errors)}" + (f": {self.client_errors[0]}" if self.client_errors else "")),
            ("error replies (beyond the sync)", not errors, f"{len(errors)}" + (f": {errors[0]}" if errors else "")),
            ("healthy clients closed by the server", not cut_off_healthy,
             f"{len(cut_off_healthy)}" + (f" ({', '.join(cut_off_healthy[:5])}…)" if cut_off_healthy else "")),
            ("dropper's 3 messages, in order, before its user_left", dropper_ok == len(clients), f"{dropper_ok} of {len(clients)}"),
            ("dropper reset its connection", dropped_at is not None, "yes (RST, no close frame)" if dropped_at else "no"),
            ("user_left for the dropper", left_dropper == len(clients), f"{left_dropper} of {len(clients)}"),
            ("user_left for the never-reader", left_never == len(clients), f"{left_never} of {len(clients)}"),
            ("never-reader cut off", never_left_at is not None,
             f"{never_left_at - connected:.2f} s after the joins" + (f"; all delivered at {last_delivery - connected:.2f} s" if last_delivery else "")
             if never_left_at else "no"),
            ("never-reader's socket ended by the server", never_end in ("EOF", "reset"),
             f"{never_end} after {never_bytes} bytes" + (f", close frame {never_code}" if never_code else ", no close frame")),
        ]
        peak = hwm or self.memory.peak_sampled
        if args.pid:
            checks.append((f"server peak RSS under {args.max_rss_mib} MiB", peak is not None and peak < args.max_rss_mib * 1024,
                           f"{peak / 1024:.1f} MiB" if peak else "unknown"))

        def mib(kib):
            return f"{kib / 1024:.1f} MiB" if kib is not None else "–"

        facts = [
            ("clients", f"{args.clients} healthy + {NEVER_READER} + {DROPPER}"),
            ("messages sent", f"{self.sent} ({args.messages} each, ≥ {args.interval * 1000:.0f} ms apart, {f'≤ {args.in_flight} in flight' if args.in_flight else 'no in-flight limit'})"),
            ("deliveries expected / received", f"{n * len(clients)} / {received}"),
            ("duplicates · out of order · missing", f"{duplicates} · {out_of_order} · {missing}"),
            ("connect + sync all", f"{connected - connect_started:.2f} s"),
            ("time to deliver all", f"{last_delivery - start:.2f} s" if last_delivery and self.completed == len(clients) else f"not all within {args.timeout:.0f} s"),
            ("deliveries per second", f"{received / (finished - start):,.0f}" if received else "–"),
            ("delivery latency p50 · p99 · max", " · ".join(f"{x * 1000:.1f} ms" for x in (pct(0.5), pct(0.99), latencies[-1])) if latencies else "–"),
            ("CPU: server · load generator", f"{server_cpu:.1f} s · {own_cpu:.1f} s" if server_cpu is not None else f"– · {own_cpu:.1f} s"),
            ("server CPU per delivery", f"{server_cpu / received * 1e6:.1f} µs" if server_cpu is not None and received else "–"),
            ("load average (1 min), start · end", f"{load_before:.2f} · {load_after:.2f}"),
            ("never-reader", f"cut off {never_left_at - start:.2f} s into the sends, after {self.sent_when_left.get(NEVER_READER)} "
             f"messages; read {never_bytes} bytes at the end ({never_end})" if never_left_at
             else f"not cut off; read {never_bytes} bytes at the end ({never_end})"),
            ("server RSS at start", mib(rss_start)),
            ("server RSS, all joined", mib(rss_joined)),
            ("server RSS at 25 · 50 · 75 · 100 % delivered",
             " · ".join(mib(self.memory.at_progress(q * n * len(clients) // 4)) for q in (1, 2, 3, 4))),
            ("server RSS, after the load", mib(rss_loaded)),
            ("server RSS, all closed", mib(rss_end)),
            ("server peak RSS (VmHWM)", mib(hwm)),
            ("  peak sampled every 0.1 s", mib(self.memory.peak_sampled)),
            ("RSS per connection (joined)", f"{(rss_joined - rss_start) / (args.clients + 2):.1f} KiB" if rss_joined and rss_start else "–"),
        ]
        failed = print_report(f"load test · wirelab chat on 127.0.0.1:{args.port}", facts, checks)
        if args.json:
            report.update({k: v for k, v in facts})
            report["checks"] = {name: {"ok": ok, "detail": detail} for name, ok, detail in checks}
            report["rss_samples_kib"] = self.memory.samples
            with open(args.json, "w") as out:
                json.dump(report, out, indent=1)
        return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, help="the server's process id, for its memory")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--messages", type=int, default=20, help="messages each healthy client sends")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between one client's messages")
    parser.add_argument("--in-flight", type=int, default=100,
                        help="messages sent but not yet received by every healthy client, at most")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for every delivery")
    parser.add_argument("--never-reader-rcvbuf", type=int, default=0,
                        help="SO_RCVBUF of the never-reading client (0: the system's default)")
    parser.add_argument("--max-rss-mib", type=float, default=256, help="the server's peak RSS must stay under this")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args()
    random.seed(1)
    sys.exit(asyncio.run(Run(args).main()))


if __name__ == "__main__":
    main()
