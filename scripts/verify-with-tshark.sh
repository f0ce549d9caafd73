#!/bin/sh
# Checks a `wirelab compare` run against a packet capture of the same run: the TCP payload bytes
# tshark sees each way must equal the bytes wirelab reports (the measured clients plus helpers).
#
#   scripts/verify-with-tshark.sh [SCENARIO [COMPARE OPTIONS…]]    e.g. chat --duration 3s
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

"$wirelab" serve --port "$port" 2>"$work/server.log" &
server=$!
tshark -i lo -f "tcp port $port" -w "$work/capture.pcapng" 2>"$work/tshark.log" &
capture=$!
# Wait until both listen: the server's log line and tshark's "Capturing on".
for _ in $(seq 100); do
    grep -q listening "$work/server.log" 2>/dev/null && grep -q Capturing "$work/tshark.log" 2>/dev/null && break
    sleep 0.1
done
sleep 1  # tshark says "Capturing" a moment before its filter is in place
if ! kill -0 $server 2>/dev/null; then
    echo "wirelab serve did not start on port $port (another server there? PORT=N picks another):" >&2
    cat "$work/server.log" >&2
    exit 1
fi

"$wirelab" compare "$scenario" --url "http://127.0.0.1:$port" --json "$@" >"$work/compare.json"
sleep 1
kill -INT $capture
wait $capture 2>/dev/null || true
kill $server
wait $server 2>/dev/null || true

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
