#!/usr/bin/env bash
# Builds each fuzz target with libFuzzer and AddressSanitizer, then runs it FUZZ_RUNS times on a
# copy of its seed corpus (see FUZZING.md). Exits non-zero if any target crashed or broke an
# invariant; the input that did it is saved under fuzz/crashes/.
#
#   FUZZ_RUNS      iterations per target (default 1000000)
#   FUZZ_TARGETS   which targets (default: all of them)
#   FUZZ_MAX_LEN   largest input the fuzzer makes, in bytes (default 4096)
#   FUZZ_SANITIZERS  default fuzzer,address
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${FUZZ_RUNS:-1000000}
TARGETS=${FUZZ_TARGETS:-wire frames sse http json utf8 text tls}
MAX_LEN=${FUZZ_MAX_LEN:-4096}
SANITIZERS=${FUZZ_SANITIZERS:-fuzzer,address}
SWIFTC=${SWIFTC:-swiftc}
BUILD=.build-fuzz
CRASHES=fuzz/crashes
# Swift's crash backtracer outlives a crashed fuzzer and keeps its output open: libFuzzer's own
# report says enough.
export SWIFT_BACKTRACE=enable=no

mkdir -p "$BUILD" "$CRASHES"
# swiftc adds to an existing archive: start afresh, or objects of removed files would stay.
rm -f "$BUILD"/lib*.a
swift_flags=(-parse-as-library -O -swift-version 6 -enable-upcoming-feature ExistentialAny)

echo "building the fuzz targets (-sanitize=$SANITIZERS) in $BUILD"
# Crypto: a SHA-1 stand-in, the one part of swift-crypto that WireProtocol uses.
"$SWIFTC" "${swift_flags[@]}" -emit-library -static -module-name Crypto fuzz/support/Crypto.swift \
    -emit-module-path "$BUILD/Crypto.swiftmodule" -o "$BUILD/libCrypto.a"
# WireProtocol as it is, instrumented for coverage and address checks.
"$SWIFTC" "${swift_flags[@]}" -emit-library -static -wmo -sanitize="$SANITIZERS" -module-name WireProtocol -I "$BUILD" \
    Sources/WireProtocol/*.swift -emit-module-path "$BUILD/WireProtocol.swiftmodule" -o "$BUILD/libWireProtocol.a"
# The REPL's renderer needs only Styler from Console.swift, whose other types need SwiftNIO.
awk '/^public struct Styler/,/^}/' Sources/WirelabREPL/Console.swift > "$BUILD/Styler.swift"
grep -q 'struct Styler' "$BUILD/Styler.swift" || { echo "Styler not found in Sources/WirelabREPL/Console.swift" >&2; exit 1; }

for target in $TARGETS; do
    extra=()
    [ "$target" = http ] && extra=(Sources/WirelabREPL/WireRenderer.swift "$BUILD/Styler.swift")
    "$SWIFTC" "${swift_flags[@]}" -sanitize="$SANITIZERS" -module-name "fuzz_$target" -I "$BUILD" \
        "fuzz/$target.swift" fuzz/support/FuzzSupport.swift "${extra[@]}" \
        "$BUILD/libWireProtocol.a" "$BUILD/libCrypto.a" -o "$BUILD/fuzz-$target" 2> "$BUILD/link-$target.log" \
        || { cat "$BUILD/link-$target.log" >&2; exit 1; }
done

printf '\n%-7s %10s %9s %9s  %s\n' target runs seconds 'exec/s' result
failed=0
for target in $TARGETS; do
    # New inputs the fuzzer finds go to a scratch copy, never into the committed corpus.
    work=$(mktemp -d)
    cp -R "fuzz/corpus/$target/." "$work/"
    log="$BUILD/fuzz-$target.log"
    start=$(date +%s%N)
    set +e
    "$BUILD/fuzz-$target" -runs="$RUNS" -max_len="$MAX_LEN" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$CRASHES/$target-" "$work" > "$log" 2>&1
    status=$?
    set -e
    tenths=$(( ($(date +%s%N) - start) / 100000000 ))
    rm -rf "$work"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    # libFuzzer's own average divides by whole seconds (0 for a short run): measure it here.
    speed='?'
    case "$runs" in ''|*[!0-9]*) ;; *) [ "$tenths" -gt 0 ] && speed=$(( runs * 10 / tenths )) ;; esac
    if [ "$status" -eq 0 ]; then
        result=ok
    else
        failed=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        result="FAILED (exit $status): ${artifact:-see $log}"
    fi
    printf '%-7s %10s %7d.%d %9s  %s\n' "$target" "${runs:-?}" $((tenths / 10)) $((tenths % 10)) "$speed" "$result"
    [ "$status" -eq 0 ] || grep -m1 -E 'invariant broken|Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer' "$log" | cut -c1-300 || true
done
exit $failed
