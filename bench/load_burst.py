"""A burst on wirelab's chat: healthy readers keep everything, the never-reader is cut off.

Usage: load_burst.py --port N [--pid SERVER_PID] [--clients 100] [--burst 1000] [--size 8192] ...
(`scripts/load-test.sh burst` starts the server with --message-rate 0, runs this, and stops it.)

What it does, in order:
  1. `never-reader` connects on a raw socket, syncs, and never reads again.
  2. `steady` connects on a raw socket read by a thread of its own at a fixed pace (--steady-rate,
     default 2 MB/s): a healthy reader slower than the burst.
  3. r000…r099 connect on Python's websockets, all in this one process, and sync.
  4. `sender` sends --burst messages of --size bytes of JSON as fast as the lab takes them (open
     loop: no window, no pause).
  5. Waits until every reader has every message, or --timeout.

Checks: every healthy reader (the steady one included) got every message once, in order, and
was not closed; every reader saw the never-reader leave (the lab cut it off; scripts/load-test.sh
checks from the lab's log that the stall rule did it); the server's peak RSS stays under
--max-rss-mib. A count limit on the queue (the rule this replaced) cut off 295 of 300 healthy
readers in such a burst.
"""
import argparse
import asyncio
import json
import sys
import threading
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from load_chat import RawClient, MemorySampler, memory_kib, cpu_seconds, parse_frames, print_report

NEVER_READER = "never-reader"
STEADY = "steady"
SENDER = "sender"


def prefix(seq):
    return f"burst:{seq:05d}:"


class Reader:
    """A healthy reader on websockets: checks each burst message's sequence number."""

    def __init__(self, run, index):
        self.run, self.id = run, f"r{index:03d}"
        self.next_seq = 0
        self.bad = 0  # duplicates, gaps or disorder
        self.left = set()
        self.closed = None
        self.done_at = None
        self.synced = asyncio.Event()

    async def open(self):
        self.ws = await connect(f"ws://127.0.0.1:{self.run.args.port}/ws/chat/{self.id}",
                                ping_interval=None, close_timeout=5, max_queue=None, open_timeout=30,
                                max_size=None, compression=None)  # as load_chat.py: no zlib state per connection
        self.task = asyncio.ensure_future(self.read())
        await self.ws.send("{}")
        await self.synced.wait()

    async def read(self):
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "message" and message.get("from") == SENDER:
                    if message.get("text", "").startswith(prefix(self.next_seq)):
                        self.next_seq += 1
                        if self.next_seq == self.run.args.burst:
                            self.done_at = time.monotonic()
                            self.run.note_done()
                    else:
                        self.bad += 1
                elif kind == "user_left":
                    self.left.add(message.get("client_id"))
                elif kind == "error":
                    self.synced.set()
        except ConnectionClosed as closed:
            if not self.run.closing:
                self.closed = closed.rcvd.code if closed.rcvd else 1006
        self.synced.set()


class Steady:
    """A raw reader in its own thread, reading at most `rate` bytes a second."""

    def __init__(self, run):
        self.run = run
        self.client = RawClient(run.args.port, STEADY, receive_buffer=64 << 10)
        self.next_seq = 0
        self.bad = 0
        self.closed = None
        self.done_at = None
        self.stop = threading.Event()

    def run_reader(self):
        rate, chunk = self.run.args.steady_rate, 16 << 10
        started, taken = time.monotonic(), 0
        sock = self.client.sock
        sock.settimeout(1)
        while not self.stop.is_set() and self.next_seq < self.run.args.burst:
            pause = started + taken / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            try:
                data = sock.recv(chunk)
            except TimeoutError:
                continue
            except OSError:
                self.closed = "reset"
                return
            if not data:
                self.closed = "EOF"
                return
            taken += len(data)
            self.client.buffer += data
            frames, self.client.buffer = parse_frames(self.client.buffer)
            for opcode, payload in frames:
                if opcode == 0x8:
                    self.closed = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                    return
                if opcode == 0x1:
                    message = json.loads(payload)
                    if message.get("type") == "message" and message.get("from") == SENDER:
                        if message.get("text", "").startswith(prefix(self.next_seq)):
                            self.next_seq += 1
                        else:
                            self.bad += 1
        if self.next_seq == self.run.args.burst:
            self.done_at = time.monotonic()


class Run:
    def __init__(self, args):
        self.args = args
        self.readers = [Reader(self, i) for i in range(args.clients)]
        self.done = 0
        self.all_done = asyncio.Event()
        self.closing = False
        self.memory = MemorySampler(args.pid, lambda: self.done)

    def note_done(self):
        self.done += 1
        if self.done == len(self.readers):
            self.all_done.set()

    async def main(self):
        args = self.args
        self.memory.start()
        rss_start = self.memory.now_kib()
        never = RawClient(args.port, NEVER_READER, receive_buffer=4096)
        await asyncio.to_thread(never.open)
        await asyncio.to_thread(never.sync)
        steady = Steady(self)
        await asyncio.to_thread(steady.client.open)
        await asyncio.to_thread(steady.client.sync)
        gate = asyncio.Semaphore(50)

        async def one(reader):
            async with gate:
                await reader.open()
        await asyncio.gather(*(one(r) for r in self.readers))
        sender = await connect(f"ws://127.0.0.1:{args.port}/ws/chat/{SENDER}", ping_interval=None,
                               close_timeout=5, max_queue=None, max_size=None, compression=None)
        await asyncio.sleep(0.5)
        rss_joined = self.memory.now_kib()

        steady_thread = threading.Thread(target=steady.run_reader, daemon=True)
        steady_thread.start()
        padding = "x" * max(0, args.size - len('{"text":""}') - len(prefix(0)))
        cpu_start = cpu_seconds(args.pid) if args.pid else None
        start = time.monotonic()
        for seq in range(args.burst):
            await sender.send('{"text":"' + prefix(seq) + padding + '"}')
        sent_at = time.monotonic()
        try:
            await asyncio.wait_for(self.all_done.wait(), args.timeout)
        except asyncio.TimeoutError:
            pass
        finished = time.monotonic()
        server_cpu = cpu_seconds(args.pid) - cpu_start if args.pid and cpu_start is not None else None
        await asyncio.to_thread(steady_thread.join, max(1.0, args.timeout - (finished - start)))
        steady.stop.set()
        # The never-reader's user_left comes once the stall rule has acted.
        until = time.monotonic() + args.stall_wait
        while time.monotonic() < until and not all(NEVER_READER in r.left for r in self.readers if r.closed is None):
            await asyncio.sleep(0.1)
        rss_end, hwm = memory_kib(args.pid) if args.pid else (None, None)
        self.closing = True
        await asyncio.gather(*(r.ws.close() for r in self.readers), sender.close(), return_exceptions=True)
        never.close()
        steady.client.close()
        self.memory.stop()

        readers = self.readers
        complete = sum(r.next_seq == args.burst for r in readers)
        bad = sum(r.bad for r in readers)
        closed = [f"{r.id} ({r.closed})" for r in readers if r.closed is not None]
        saw_never_leave = sum(NEVER_READER in r.left for r in readers)
        deliveries = sum(r.next_seq for r in readers) + steady.next_seq
        peak = hwm or self.memory.peak_sampled
        last = max((r.done_at for r in readers if r.done_at), default=None)

        def mib(kib):
            return f"{kib / 1024:.1f} MiB" if kib is not None else "–"

        facts = [
            ("clients", f"{args.clients} readers + {STEADY} ({args.steady_rate / 1e6:.1f} MB/s) + {NEVER_READER} + {SENDER}"),
            ("burst", f"{args.burst} messages of {args.size} bytes, sent in {sent_at - start:.2f} s"),
            ("time until every reader had all", f"{last - start:.2f} s" if last and complete == len(readers) else f"not within {args.timeout:.0f} s"),
            ("steady reader had all after", f"{steady.done_at - start:.2f} s" if steady.done_at else f"{steady.next_seq} of {args.burst}"),
            ("deliveries", f"{deliveries:,} ({deliveries * args.size / (finished - start) / 1e6:.0f} MB/s)"),
            ("server CPU per delivery", f"{server_cpu / deliveries * 1e6:.1f} µs" if server_cpu is not None and deliveries else "–"),
            ("server RSS at start · joined · end", f"{mib(rss_start)} · {mib(rss_joined)} · {mib(rss_end)}"),
            ("server peak RSS (VmHWM)", mib(peak)),
        ]
        checks = [
            ("every reader got every message", complete == len(readers), f"{complete} of {len(readers)}"),
            ("none twice, none out of order, none missing on the way", bad == 0, str(bad)),
            ("healthy readers closed by the server", not closed, f"{len(closed)}" + (f": {', '.join(closed[:5])}" if closed else "")),
            ("the steady reader got every message, in order", steady.next_seq == args.burst and steady.bad == 0 and steady.closed is None,
             f"{steady.next_seq} of {args.burst}, {steady.bad} out of order, closed: {steady.closed}"),
            ("every reader saw the never-reader leave", saw_never_leave == len(readers), f"{saw_never_leave} of {len(readers)}"),
        ]
        if args.pid:
            checks.append((f"server peak RSS under {args.max_rss_mib} MiB", peak is not None and peak < args.max_rss_mib * 1024, mib(peak)))
        failed = print_report(f"burst test · wirelab chat on 127.0.0.1:{args.port}", facts, checks)
        return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, help="the server's process id, for its memory and CPU")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--burst", type=int, default=1000, help="messages the sender sends back to back")
    parser.add_argument("--size", type=int, default=8192, help="bytes of JSON per message")
    parser.add_argument("--steady-rate", type=float, default=2e6, help="bytes a second the steady reader takes")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--stall-wait", type=float, default=20, help="seconds to wait for the never-reader's user_left")
    parser.add_argument("--max-rss-mib", type=float, default=320)
    args = parser.parse_args()
    sys.exit(asyncio.run(Run(args).main()))


if __name__ == "__main__":
    main()
