#!/bin/sh
# The chat under load, with faulty clients: starts `wirelab serve` on a free port, runs the load
# against it, stops it with SIGTERM. Exits non-zero if a check failed, if the server's log does
# not show the never-reader cut off by the stall rule (and only it), or if the server did not live
# to the end and stop cleanly.
#
#   scripts/load-test.sh [LOAD OPTIONS…]         bench/load_chat.py: many senders, a dropper
#   scripts/load-test.sh burst [LOAD OPTIONS…]   bench/load_burst.py: one sender's burst, a steady
#                                                slow reader (message rate off for the burst)
#
# WIRELAB=path/to/wirelab and PYTHON=path/to/python (with websockets) override the defaults;
# LAB_OPTIONS adds options to `wirelab serve` (the chat run uses a 3 s stall limit by default, so
# that the never-reader is cut off within a short run).
set -eu
cd "$(dirname "$0")/.."
wirelab=${WIRELAB:-.build/release/wirelab}
python=${PYTHON:-.venv/bin/python}
log=$(mktemp)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -f "$log"' EXIT

# 502 connections and the Python side's own descriptors: more than a default 1024 would allow.
ulimit -n 4096 2>/dev/null || true

scenario=chat
if [ "${1:-}" = burst ]; then
    scenario=burst
    shift
fi
if [ "$scenario" = burst ]; then
    load=bench/load_burst.py
    lab_options=${LAB_OPTIONS:---message-rate 0}
else
    load=bench/load_chat.py
    lab_options=${LAB_OPTIONS:---stall-limit 3}
fi

# shellcheck disable=SC2086 # the options are words
"$wirelab" serve --port 0 --only chat $lab_options 2>"$log" &
server=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*wirelab lab server listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "load-test: the server did not start:" >&2
    cat "$log" >&2
    exit 1
fi

status=0
"$python" "$load" --port "$port" --pid "$server" "$@" || status=1

# The server's own account: who it cut off, and why.
echo
if ! kill -0 $server 2>/dev/null; then
    echo "FAIL the server is not running any more (crashed?); its log ends:"
    tail -20 "$log"
    status=1
else
    cut=$(grep -c 'cutting off' "$log" || true)
    if grep -q 'cutting off never-reader (stalled: its socket took no bytes' "$log" && [ "$cut" -eq 1 ]; then
        echo "ok   server log: never-reader cut off by the stall rule, nobody else"
    else
        echo "FAIL server log: $cut cut off; expected the never-reader alone:"
        grep 'cutting off' "$log" | head -5
        status=1
    fi
    kill -TERM $server
    # A clean stop closes what is still open with 1001 and exits 0 within a few seconds.
    for _ in $(seq 100); do kill -0 $server 2>/dev/null || break; sleep 0.1; done
    if kill -0 $server 2>/dev/null; then
        echo "FAIL the server did not stop within 10 s of SIGTERM"
        status=1
    elif wait $server; then
        echo "ok   server stopped on SIGTERM (exit 0)"
    else
        echo "FAIL server exited with status $? on SIGTERM"
        status=1
    fi
    server=
fi
exit $status
