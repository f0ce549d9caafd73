#!/usr/bin/env bash
# `make bench`: the same load on wirelab's server, the guide's FastAPI server (uvicorn), Python's
# websockets with its broadcast() and Node's ws, one after the other on this machine, twice: unpinned, then with each server pinned to one
# core (taskset -c 1) and the load generator to the other (taskset -c 0), where every hop between
# threads costs a context switch. Installs the peers: FastAPI + uvicorn from PyPI in .venv-bench,
# node-ws from Debian. Options go to every `wirelab bench` (e.g. --fan-out-sizes 64,1024,8192,32768).
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

# run LABEL SERVER_PREFIX LOAD_PREFIX [BENCH OPTIONS…]: the three servers, one after the other.
run() {
  local label=$1 server=$2 load=$3
  shift 3
  echo; echo "=== $label"
  echo "== wirelab serve"
  $server "$bench" serve --port 9002 --ping-interval 0 --message-rate 0 2>/dev/null &
  pids+=($!)
  sleep 1
  $load "$bench" bench --url ws://127.0.0.1:9002 --pid "${pids[-1]}" --skip-repl "$@"
  kill "${pids[-1]}"

  echo; echo "== the guide's FastAPI server (uvicorn, one worker)"
  $server .venv-bench/bin/uvicorn --app-dir bench/peers guide_fastapi:app --host 127.0.0.1 --port 9000 --log-level error 2>/dev/null &
  pids+=($!)
  sleep 2
  $load "$bench" bench --url ws://127.0.0.1:9000 --pid "${pids[-1]}" --skip-repl "$@"
  kill "${pids[-1]}"

  echo; echo "== Python websockets with its broadcast() (one process)"
  $server .venv-bench/bin/python bench/peers/ws_broadcast.py 9003 &
  pids+=($!)
  sleep 1
  $load "$bench" bench --url ws://127.0.0.1:9003 --pid "${pids[-1]}" --skip-repl "$@"
  kill "${pids[-1]}"

  echo; echo "== Node ws (Debian node-ws)"
  $server node bench/peers/ws_server.js 9001 &
  pids+=($!)
  sleep 1
  $load "$bench" bench --url ws://127.0.0.1:9001 --pid "${pids[-1]}" --skip-repl "$@"
  kill "${pids[-1]}"
}

run "unpinned: servers and load share both cores" "" "" "$@"
run "one core: each server on CPU 1, the load on CPU 0" "taskset -c 1" "taskset -c 0" "$@"
echo; echo "== REPL start-up"
"$bench" bench --connections 1 --receivers 1 --fan-out-sizes 64 --idle 1 --duration 0.1 | tail -1
