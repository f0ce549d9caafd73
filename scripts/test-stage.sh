#!/usr/bin/env bash
# One stage of `make test`: runs the command with its output shown and kept in
# .build/test-logs/NAME.log (with its exit status beside it) for the closing summary
# (scripts/test-summary.py). A failing stage prints the summary so far and fails.
set -uo pipefail
name=$1
shift
logs=.build/test-logs
mkdir -p "$logs"
"$@" 2>&1 | tee "$logs/$name.log"
status=${PIPESTATUS[0]}
echo "$status" >"$logs/$name.status"
if [ "$status" -ne 0 ]; then
    python3 "$(dirname "$0")/test-summary.py" "$logs"
fi
exit "$status"
