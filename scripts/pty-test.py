#!/usr/bin/env python3
"""The REPL on a real pseudo-terminal, as a person at a terminal uses it.

Pastes lines of 8 KiB, 64 KiB and 1 MiB, types a command after each, and leaves by `quit`, by
Ctrl-D, by SIGTERM, by SIGHUP (the terminal closing) and by a crash (SIGSEGV). After each way out the terminal's settings (`stty -g`) must be what they
were before, and the history must hold what was typed. Only the standard library.

usage: scripts/pty-test.py [PATH_TO_WIRELAB]   (default .build/debug/wirelab)
"""
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

BINARY = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/wirelab"
PASTES = [8 * 1024, 64 * 1024, 1024 * 1024]
LONGEST_LINE = 262_144  # TerminalUI.maxLineLength
TIMEOUT = 120.0


class Failure(Exception):
    pass


def stty(fd):
    return subprocess.run(["stty", "-g"], stdin=fd, capture_output=True, text=True, check=True).stdout.strip()


class Session:
    """wirelab on the slave side of a new pty, its controlling terminal; we hold the master."""

    def __init__(self, state_dir):
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.settings_before = stty(self.slave)
        # The Swift runtime's backtracer would wait up to 45 s for a key after the crash.
        env = dict(os.environ, TERM="xterm-256color", XDG_STATE_HOME=state_dir, LANG="C.UTF-8",
                   SWIFT_BACKTRACE=os.environ.get("SWIFT_BACKTRACE", "interactive=no"))
        env.pop("NO_COLOR", None)

        def controlling_terminal():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            [BINARY, "--no-lab"], stdin=self.slave, stdout=self.slave, stderr=self.slave,
            env=env, preexec_fn=controlling_terminal, close_fds=True,
        )
        os.set_blocking(self.master, False)
        self.output = bytearray()

    def pump(self, to_write=b"", until=None, then=None, timeout=TIMEOUT):
        """Writes while reading (the pty's buffers are small both ways) until `until` (and then
        `then` after it) has been read after this call began, or, without `until`, until
        everything is written."""
        start = len(self.output)
        deadline = time.monotonic() + timeout
        pending = memoryview(to_write)

        def seen():
            found = self.output.find(until, start)
            return found >= 0 and (then is None or self.output.find(then, found + len(until)) >= 0)

        while True:
            if not pending and (until is None or seen()):
                return
            if time.monotonic() > deadline:
                tail = bytes(self.output[-600:])
                raise Failure(f"timed out waiting for {until!r}; {len(pending)} bytes unwritten; screen ends with {tail!r}")
            if self.process.poll() is not None and until is not None:
                self.read_available()
                if seen():
                    return
                raise Failure(f"wirelab exited ({self.process.returncode}) before {until!r}; output ends with {bytes(self.output[-600:])!r}")
            readable, writable, _ = select.select([self.master], [self.master] if pending else [], [], 0.2)
            if readable:
                self.read_available()
            if writable and pending:
                try:
                    written = os.write(self.master, pending[:4096])
                    pending = pending[written:]
                except BlockingIOError:
                    pass

    def read_available(self):
        try:
            while True:
                chunk = os.read(self.master, 65536)
                if not chunk:
                    return
                self.output += chunk
        except (BlockingIOError, OSError):
            return

    def wait(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise Failure("wirelab did not exit")
            self.read_available()
            time.sleep(0.05)
        self.read_available()
        return self.process.returncode

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)
        os.close(self.slave)


def check(condition, message):
    if not condition:
        raise Failure(message)


def run(way_out):
    with tempfile.TemporaryDirectory() as state_dir:
        session = Session(state_dir)
        try:
            session.pump(until=b"wirelab> ")
            typed = []
            for size in PASTES:
                line = "send " + "x" * (size - len("send "))
                started = time.monotonic()
                if size > LONGEST_LINE:
                    session.pump((line + "\r").encode(), until=b"so it was not run", then=b"wirelab> ")
                else:
                    session.pump((line + "\r").encode(), until=b"no client yet", then=b"wirelab> ")
                    typed.append(line)
                pasted = time.monotonic() - started
                command = "help quit"
                session.pump((command + "\r").encode(), until=b"close every client and leave", then=b"wirelab> ")
                typed.append(command)
                print(f"  {way_out}: pasted {size:>8} bytes in {pasted:5.2f} s, then typed {command!r}: answered")
            if way_out == "quit":
                session.pump(b"quit\r")
                typed.append("quit")
                expected = 0
            elif way_out == "ctrl-d":
                mark = len(session.output)
                session.pump(b"\x04")
                expected = 0
            else:
                number = {"sigterm": signal.SIGTERM, "sighup": signal.SIGHUP, "crash": signal.SIGSEGV}[way_out]
                time.sleep(0.2)
                session.process.send_signal(number)
                expected = -number
            status = session.wait()
            check(status == expected, f"{way_out}: exit status {status}, expected {expected}")
            after = stty(session.slave)
            check(after == session.settings_before,
                  f"{way_out}: terminal settings changed:\n  before {session.settings_before}\n  after  {after}")
            if way_out == "ctrl-d":
                check(b"\n" in session.output[mark:], f"ctrl-d: no newline after the prompt: {bytes(session.output[mark:])!r}")
            history_file = os.path.join(state_dir, "wirelab", "history")
            check(os.path.exists(history_file), f"{way_out}: no history saved at {history_file}")
            saved = open(history_file, encoding="utf-8", errors="replace").read()
            # libedit's history file escapes spaces (vis(3)): compare with them escaped.
            for entry in set(typed):
                check(entry.replace(" ", "\\040") in saved, f"{way_out}: {entry[:20]!r}… (length {len(entry)}) missing from the history")
            print(f"  {way_out}: exit {status}, stty -g unchanged, history has the {len(set(typed))} distinct lines typed")
        finally:
            session.close()


def main():
    if not os.access(BINARY, os.X_OK):
        print(f"pty test: {BINARY} is not built", file=sys.stderr)
        return 2
    passed = failed = 0
    for way_out in os.environ.get("PTY_TEST_WAYS", "quit ctrl-d sigterm sighup crash").split():
        try:
            run(way_out)
            passed += 1
        except Failure as failure:
            print(f"FAIL {way_out}: {failure}")
            failed += 1
    print(f"pty test: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
