#!/usr/bin/env bash
# `make bench`: the same load on wirelab's server, the guide's FastAPI server (uvicorn) and Node's
# ws, one after the other on this machine. Installs the peers: FastAPI + uvicorn from PyPI in
# .venv-bench, node-ws from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-system-deps.sh nodejs node-ws
if [ ! -x .venv-bench/bin/uvicorn ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet --disable-pip-version-check fastapi==0.165.0 uvicorn==0.54.0 websockets==17.4
fi
bench=.build/release/wirelab
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

echo "== wirelab serve"
"$bench" bench "$@"

echo; echo "== the guide's FastAPI server (uvicorn, one worker)"
.venv-bench/bin/uvicorn --app-dir bench/peers guide_fastapi:app --host 127.0.0.1 --port 9000 --log-level error 2>/dev/null &
pids+=($!)
sleep 2
"$bench" bench --url ws://127.0.0.1:9000 --pid "${pids[-1]}" --skip-repl "$@"

echo; echo "== Node ws (Debian node-ws)"
node bench/peers/ws_server.js 9001 &
pids+=($!)
sleep 1
"$bench" bench --url ws://127.0.0.1:9001 --pid "${pids[-1]}" --skip-repl "$@"
