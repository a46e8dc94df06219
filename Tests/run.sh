#!/usr/bin/env bash
# Fuller's test entry point (README's test command; .ci/run runs exactly this).
#
#   bash Tests/run.sh            unit, live-server and real-process tests, then fuzzing
#   FUZZ_SECONDS=0 bash ...      skip fuzzing (quick local runs)
#
# Everything it needs is built here from the clean tree; nothing is fetched but Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${FUZZ_SECONDS:-60}

echo "== build"
swift build --build-tests 2>&1 | tail -n 3

echo "== docker"
# Docker tests need a real engine: this installs and starts one if it can. In CI a missing
# engine fails the run; elsewhere the Docker tests skip, loudly.
if ! bash Tests/docker-env.sh; then
    if [ "${CI:-}" = "true" ]; then
        echo "CI=true and no Docker Engine could be made ready: failing" >&2
        exit 1
    fi
    echo "WARNING: no Docker Engine; the tests that need one will be skipped" >&2
fi

echo "== tests"
# The Raft simulation keeps both cores busy for a minute; it runs on its own, after the rest,
# so that live-server and Docker tests are not starved of CPU.
status=0
swift test --skip-build --skip RaftSimulationTests > .build/test-output.txt 2>&1 || status=$?
grep -E "^(✘|✔ Suite)|error:" .build/test-output.txt || true
if [ "$status" -ne 0 ] || ! grep -qE "Test run with [0-9]+ tests? .*passed" .build/test-output.txt; then
    echo "tests failed; full output in .build/test-output.txt" >&2
    tail -n 60 .build/test-output.txt >&2
    exit 1
fi

echo "== Raft simulation (FULLER_RAFT_SEEDS=${FULLER_RAFT_SEEDS:-default})"
swift test --skip-build --filter RaftSimulationTests > .build/raft-output.txt 2>&1 || status=$?
grep -E "^(✘|✔ Suite)|seed=|error:" .build/raft-output.txt || true
if [ "$status" -ne 0 ] || ! grep -qE "Test run with [0-9]+ tests? .*passed" .build/raft-output.txt; then
    echo "the Raft simulation failed; full output in .build/raft-output.txt" >&2
    tail -n 60 .build/raft-output.txt >&2
    exit 1
fi

if [ "$fuzz_seconds" -gt 0 ]; then
    echo "== fuzz (${fuzz_seconds}s per target)"
    for target in HTTPParserFuzz JobSpecFuzz; do
        bash Tests/Fuzz/run.sh "$target" "$fuzz_seconds"
    done
fi

# The closing line: every test of both runs.
passed=$(( $(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} .*passed.*/\1/p' .build/test-output.txt | tail -n 1) \
         + $(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} .*passed.*/\1/p' .build/raft-output.txt | tail -n 1) ))
echo "tests: $passed passed, 0 failed"
