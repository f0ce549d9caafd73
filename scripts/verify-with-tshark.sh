#!/bin/sh
# Checks a `wirelab compare` run against a packet capture of the same run: the TCP payload bytes
# tshark sees each way must equal the bytes wirelab reports (the measured clients plus helpers).
#
#   scripts/verify-with-tshark.sh [SCENARIO [COMPARE OPTIONS…]]    e.g. chat --duration 3s
#   scripts/verify-with-tshark.sh tls
#
# `tls` checks the lab's TLS port instead: curl --cacert (a login, then /events?token=…) and a
# Python websockets client over wss:// go through it while tshark captures; the capture must
# hold only TLS records on that port (no segment that is not TLS, no HTTP, no WebSocket), the
# ClientHello's server name must be readable (SNI is in the clear), and neither the token, the
# paths nor the messages may appear anywhere in the captured bytes.
#
# Needs tshark (Debian: apt-get install tshark) and the right to capture on lo (root, or the
# wireshark group). WIRELAB=path/to/wirelab and PORT=N override the defaults.
set -eu
scenario=${1:-chat}
[ $# -gt 0 ] && shift
wirelab=${WIRELAB:-.build/release/wirelab}
port=${PORT:-8765}
work=$(mktemp -d)
trap 'kill $server $capture 2>/dev/null || true; [ -n "${KEEP:-}" ] && cp "$work/capture.pcapng" /tmp/last-capture.pcapng; rm -rf "$work"' EXIT

# Starts `wirelab serve "$@"` and tshark on port $1, and waits until both listen.
start_capture() {
    capture_port=$1
    shift
    "$wirelab" serve "$@" 2>"$work/server.log" &
    server=$!
    tshark -i lo -f "tcp port $capture_port" -w "$work/capture.pcapng" 2>"$work/tshark.log" &
    capture=$!
    # Wait until both listen: the server's log line and tshark's "Capturing on".
    for _ in $(seq 100); do
        grep -q listening "$work/server.log" 2>/dev/null && grep -q Capturing "$work/tshark.log" 2>/dev/null && break
        sleep 0.1
    done
    sleep 1  # tshark says "Capturing" a moment before its filter is in place
    if ! kill -0 $server 2>/dev/null; then
        echo "wirelab serve did not start (another server on its ports? PORT=N and TLS_PORT=N pick others):" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
}

stop_capture() {
    sleep 1
    kill -INT $capture
    wait $capture 2>/dev/null || true
    kill $server
    wait $server 2>/dev/null || true
}

if [ "$scenario" = tls ]; then
    tls_port=${TLS_PORT:-8766}
    python=${PYTHON:-.venv/bin/python}
    marker="seen-only-by-the-endpoints-$$"
    start_capture "$tls_port" --port "$port" --tls-port "$tls_port" --save-cert "$work/lab.pem"
    base="https://localhost:$tls_port"
    token=$(curl -sS --cacert "$work/lab.pem" -H 'Content-Type: application/json' \
        -d '{"username":"alice","password":"wonderland"}' "$base/auth/token" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
    # An event stream never ends by itself: curl stops it after 2 s (exit code 28).
    curl -sS -N --max-time 2 --cacert "$work/lab.pem" "$base/events?token=$token&marker=$marker" >"$work/events.txt" 2>"$work/curl.log" || [ $? -eq 28 ]
    grep -q '^retry:' "$work/events.txt" || { echo "curl --cacert got no event stream:" >&2; cat "$work/events.txt" >&2; exit 1; }
    "$python" - "$work/lab.pem" "wss://localhost:$tls_port/ws/echo?token=$token&marker=$marker" "$marker" <<'PY'
import ssl, sys
from websockets.sync.client import connect
context = ssl.create_default_context(cafile=sys.argv[1])
with connect(sys.argv[2], ssl=context, open_timeout=10) as connection:
    connection.send("message " + sys.argv[3])
    assert connection.recv(timeout=10) == "Echo: message " + sys.argv[3]
PY
    stop_capture
    # The port is TLS for every dissector; anything that does not decode as TLS shows up.
    decode="tcp.port==$tls_port,tls"
    not_tls=$(tshark -r "$work/capture.pcapng" -d "$decode" -Y 'tcp.len > 0 && !tls' 2>/dev/null | wc -l)
    clear=$(tshark -r "$work/capture.pcapng" -d "$decode" -Y 'http || websocket' 2>/dev/null | wc -l)
    names=$(tshark -r "$work/capture.pcapng" -d "$decode" -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.extensions_server_name 2>/dev/null | sort -u | tr '\n' ' ')
    # TLS 1.3 calls an encrypted record's type its opaque_type.
    records=$(tshark -r "$work/capture.pcapng" -d "$decode" -Y tls -T fields -E separator=, -e tls.record.content_type -e tls.record.opaque_type 2>/dev/null |
        tr ',' '\n' | grep -v '^$' | sort | uniq -c | awk '{ printf " %s of type %s", $1, $2 }')
    echo "tshark on the TLS port: TLS records:$records; segments that are not TLS: $not_tls; HTTP or WebSocket in the clear: $clear; SNI: $names"
    [ "$not_tls" -eq 0 ] || { echo "some TCP payload on the TLS port is not TLS" >&2; exit 1; }
    [ "$clear" -eq 0 ] || { echo "HTTP or WebSocket in the clear on the TLS port" >&2; exit 1; }
    [ "$names" = "localhost " ] || { echo "expected the server name localhost in every ClientHello, got: $names" >&2; exit 1; }
    tshark -r "$work/capture.pcapng" -T fields -e tcp.payload 2>/dev/null >"$work/payloads.hex"
    python3 - "$work/payloads.hex" "$marker" "$token" <<'PY'
import sys
wire = b"".join(bytes.fromhex(line.strip().replace(":", "")) for line in open(sys.argv[1]) if line.strip())
for secret in (sys.argv[2], sys.argv[3], "/ws/echo", "/events", "Upgrade: websocket"):
    if secret.encode() in wire:
        sys.exit(f"{secret[:40]} is on the wire in the clear")
print(f"{len(wire)} bytes captured; no path, token or message among them in the clear")
PY
    exit 0
fi

start_capture "$port" --port "$port"
"$wirelab" compare "$scenario" --url "http://127.0.0.1:$port" --json "$@" >"$work/compare.json"
stop_capture

# tcp.len is each segment's payload: SYN, FIN and bare ACK segments carry 0 bytes.
tshark -r "$work/capture.pcapng" -T fields -e tcp.dstport -e tcp.len 2>/dev/null |
    awk -v port="$port" '$1 == port { up += $2 } $1 != port { down += $2 } END { printf "%d %d\n", up, down }' >"$work/captured"
python3 - "$work/compare.json" "$work/captured" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
up = sum(r["bytes_up"]["total"] + r["helpers"]["bytes_up"]["total"] for r in report["results"])
down = sum(r["bytes_down"]["total"] + r["helpers"]["bytes_down"]["total"] for r in report["results"])
seen_up, seen_down = map(int, open(sys.argv[2]).read().split())
print(f"wirelab reports  {up:>8} bytes up  {down:>8} bytes down")
print(f"tshark captured  {seen_up:>8} bytes up  {seen_down:>8} bytes down")
if (up, down) != (seen_up, seen_down):
    sys.exit("they differ")
print("they match, to the byte")
PY
