# The two commands of the README: `make run` and `make test`. Both install what they need.
SWIFT ?= swift
VENV := .venv
PYTHON := $(VENV)/bin/python
WEBSOCKETS_VERSION := 17.4
# aiohttp: a second permessage-deflate peer (compress=15), client and server.
AIOHTTP_VERSION := 3.14.5

.PHONY: run test browser-test conformance bench load load-small fuzz fuzz-smoke system-deps python-peers build-release build-tests transcripts overwrite-transcripts verify-capture pty-test pty-test-asan clean

run: system-deps build-release
	.build/release/wirelab

# The release build is part of the test: `make run` uses it, and the optimiser has failed on code
# that debug builds took. It comes first, so that the last lines are the test summaries.
# The conformance suite runs in a process of its own: its ~1,900 connections would take CPU
# from the tests that measure delays. The fuzz smoke run adds about 20 s.
# Each stage's output is kept (scripts/test-stage.sh) for one closing summary with its counts.
STAGE := scripts/test-stage.sh
test: system-deps python-peers build-release build-tests
	@rm -rf .build/test-logs
	$(STAGE) fuzz-smoke $(MAKE) --no-print-directory fuzz-smoke
	$(STAGE) swift-tests env WIRELAB_PYTHON=$(abspath $(PYTHON)) $(SWIFT) test --skip-build --skip ConformanceTests
	$(STAGE) conformance $(SWIFT) test --skip-build --filter ConformanceTests
	$(STAGE) transcripts .build/debug/wirelab replay transcripts/*.md
	$(STAGE) lessons .build/debug/wirelab lessons --check
	$(STAGE) pty $(PYTHON) scripts/pty-test.py .build/debug/wirelab
	$(STAGE) capture $(MAKE) --no-print-directory verify-capture
	$(STAGE) browser $(MAKE) --no-print-directory browser-test
	$(STAGE) load $(MAKE) --no-print-directory load-small
	@scripts/test-summary.py .build/test-logs

# Headless Chromium (Debian's) against the playground and a page on a second origin
# (http://localhost:4200): WebSocket, EventSource, long polls, preflighted POSTs, login, and the
# lab's tap of the browser's handshake; the playground again over https:// (openssl computes the
# key pin Chromium is given). A few seconds; fails, saying why, if Chromium cannot start.
browser-test: python-peers build-tests
	@scripts/ensure-system-deps.sh chromium openssl
	$(PYTHON) scripts/browser-test.py .build/debug/wirelab

# The RFC 6455 conformance suite alone (`make test` runs it too, after the other tests).
conformance: build-tests
	$(SWIFT) test --skip-build --filter ConformanceTests

# Load on loopback, measured (see BENCHMARKS.md); never part of `make test`: CI machines are noisy.
bench: system-deps build-release
	scripts/bench-with-peers.sh

# 500 chat clients send 20 messages each while one client never reads and one drops its TCP
# connection, then a burst: one sender, 1,000 messages of 8 KB to 100 readers and a steady reader
# slower than the burst. Every message must reach every healthy client once, in order, and only
# the never-reader be cut off, by the stall rule (BENCHMARKS.md, "Load test"). Takes a few minutes.
load: system-deps python-peers build-release
	scripts/load-test.sh
	scripts/load-test.sh burst

# The same checks at a smaller scale, part of `make test` (about 30 s). The never-reader gets a
# small receive buffer, so that its socket is full, and the stall rule can act, early in the run.
load-small: system-deps python-peers build-release
	scripts/load-test.sh --clients 100 --messages 50 --never-reader-rcvbuf 4096 --timeout 90
	scripts/load-test.sh burst --clients 20 --burst 300 --timeout 90

# `compare` against a packet capture of the same run: tshark must see exactly the bytes reported;
# then the TLS port: only TLS records on the wire, SNI readable, no path, token or message in it.
verify-capture: build-release python-peers
	@scripts/ensure-system-deps.sh tshark curl
	scripts/verify-with-tshark.sh chat --duration 3s --count 3
	scripts/verify-with-tshark.sh notifications --duration 3s --count 3
	PYTHON=$(PYTHON) scripts/verify-with-tshark.sh tls

# libFuzzer on the protocol code and the REPL's rendering, a million runs per target (FUZZ_RUNS
# to change it; see FUZZING.md). Never part of `make test`: it took an hour on two vCPUs.
fuzz:
	fuzz/run.sh

# The same targets built and run briefly: the seed corpus (found bugs among it) and 2,000 new
# inputs each. `make test` runs it, so that the fuzz targets keep building.
fuzz-smoke:
	FUZZ_RUNS=2000 fuzz/run.sh

# The REPL on a real pseudo-terminal: long pastes (8 KiB, 64 KiB, 1 MiB), then quit, Ctrl-D,
# SIGTERM, SIGHUP and a crash, each leaving the terminal's settings as they were and the history
# saved (about 20 s).
pty-test: build-tests
	python3 scripts/pty-test.py .build/debug/wirelab

# The same under AddressSanitizer, in a build of its own (several minutes the first time).
# The crash case sends SIGSEGV: ASan must leave it alone (handle_segv=0), and so must the Swift
# runtime's backtracer, whose reading of other threads' stacks ASan reports as an overflow.
pty-test-asan:
	$(SWIFT) build --product wirelab -Xswiftc -sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0:handle_segv=0 SWIFT_BACKTRACE=enable=no python3 scripts/pty-test.py .build-asan/debug/wirelab

system-deps:
	@scripts/ensure-system-deps.sh

# Independent peers for interoperability tests: Python websockets in a venv inside the repo.
python-peers: $(VENV)/.websockets-$(WEBSOCKETS_VERSION)-aiohttp-$(AIOHTTP_VERSION)
$(VENV)/.websockets-$(WEBSOCKETS_VERSION)-aiohttp-$(AIOHTTP_VERSION):
	@scripts/ensure-system-deps.sh python3 python3-venv
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check websockets==$(WEBSOCKETS_VERSION) aiohttp==$(AIOHTTP_VERSION)
	touch $@

build-release:
	$(SWIFT) build -c release --product wirelab

# One build for tests and the replayer: `swift test --skip-build` then reuses it.
build-tests:
	$(SWIFT) build --build-tests

transcripts: python-peers build-tests
	.build/debug/wirelab replay transcripts/*.md

# Rewrites transcripts with the current output: read the diff before committing.
overwrite-transcripts: python-peers build-tests
	WIRELAB_TRANSCRIPTS=overwrite .build/debug/wirelab replay transcripts/*.md

clean:
	rm -rf .build .build-fuzz $(VENV)
