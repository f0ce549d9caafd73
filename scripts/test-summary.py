#!/usr/bin/env python3
"""The closing summary of `make test`: one line per stage, with the counts read from the stage's
own output (kept by scripts/test-stage.sh in .build/test-logs). A stage whose counts cannot be
found says so rather than guessing."""
import os
import re
import sys

STAGES = [
    ("fuzz-smoke", "fuzz smoke"),
    ("swift-tests", "Swift tests"),
    ("conformance", "conformance"),
    ("transcripts", "transcripts"),
    ("lessons", "lessons"),
    ("pty", "pseudo-terminal"),
    ("capture", "capture checks"),
    ("browser", "Chromium"),
    ("load", "load test"),
]


def swift_testing(text):
    runs = re.findall(r"Test run with (\d+) tests? (?:in \d+ suites? )?(passed|failed)(?: after [\d.]+ seconds)?(?: with (\d+) issues?)?", text)
    if not runs:
        return None
    count, outcome, issues = runs[-1]
    return f"{count} tests, {issues or 0} issues" if outcome == "failed" else f"{count} tests passed"


def passed_failed(text, prefix=""):
    found = re.findall(prefix + r"(\d+) passed, (\d+) failed", text)
    return f"{found[-1][0]} passed, {found[-1][1]} failed" if found else None


def lessons(text):
    found = re.findall(r"(\d+) lessons, (\d+) steps, (\d+) problems", text)
    return f"{found[-1][0]} lessons, {found[-1][1]} steps checked, {found[-1][2]} problems" if found else None


def capture(text):
    matched = text.count("they match, to the byte")
    return f"{matched} runs matched tshark to the byte" if "tshark captured" in text else None


def fuzz(text):
    rows = re.findall(r"^(\w+)\s+\S+\s+[\d.]+\s+\S+\s+(ok|FAILED.*)$", text, re.M)
    if not rows:
        return None
    ok = sum(1 for _, result in rows if result == "ok")
    return f"{len(rows)} targets, {ok} ok"


def load(text):
    ok = len(re.findall(r"^ok\s", text, re.M))
    failed = len(re.findall(r"^FAIL\s", text, re.M))
    return f"{ok} checks ok, {failed} failed" if ok or failed else None


COUNTERS = {
    "fuzz-smoke": fuzz,
    "swift-tests": swift_testing,
    "conformance": swift_testing,
    "transcripts": passed_failed,
    "lessons": lessons,
    "pty": lambda text: passed_failed(text, "pty test: "),
    "capture": capture,
    "browser": passed_failed,
    "load": load,
}


def main():
    logs = sys.argv[1] if len(sys.argv) > 1 else ".build/test-logs"
    print("\nmake test · summary")
    failed = False
    for name, title in STAGES:
        log = os.path.join(logs, name + ".log")
        status_file = os.path.join(logs, name + ".status")
        if not os.path.exists(status_file):
            print(f"  {title:<16} not run")
            continue
        status = int(open(status_file).read().strip() or 1)
        text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
        counts = COUNTERS[name](text) or "no counts found in its output"
        verdict = "ok  " if status == 0 else f"FAIL (exit {status})"
        failed |= status != 0
        print(f"  {title:<16} {verdict:<5} {counts}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
