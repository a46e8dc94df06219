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

# Phases, so that CPU-heavy suites never starve the timing-sensitive ones on a 2-core machine:
# in-process tests; real processes with Docker; replicated masters; the Raft simulation.
# (Filters are regular expressions: "EndToEndTests" also selects AutoscaleEndToEndTests.)
heavy="EndToEndTests|DurabilityTests|ReplicatedMasterTests|MembershipProcessTests|RaftSimulationTests"
passed=0
phase() { # NAME LOG swift-test-arguments...
    local name=$1 log=$2 status=0
    shift 2
    echo "== tests: $name"
    swift test --skip-build "$@" > "$log" 2>&1 || status=$?
    grep -E "^(✘|✔ Suite)|seed=|error:" "$log" || true
    if [ "$status" -ne 0 ] || ! grep -qE "Test run with [0-9]+ tests? .*passed" "$log"; then
        echo "tests failed ($name); full output in $log" >&2
        tail -n 60 "$log" >&2
        exit 1
    fi
    passed=$(( passed + $(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} .*passed.*/\1/p' "$log" | tail -n 1) ))
}
phase "in-process" .build/test-output.txt --skip "$heavy"
phase "real processes and Docker, one at a time" .build/test-processes.txt --no-parallel --filter "EndToEndTests|DurabilityTests"
phase "replicated masters" .build/test-cluster.txt --filter "ReplicatedMasterTests|MembershipProcessTests"
phase "Raft simulation (FULLER_RAFT_SEEDS=${FULLER_RAFT_SEEDS:-default})" .build/raft-output.txt --filter RaftSimulationTests

# The adversarial fault suite (docs/faults.md), short mode: real binaries broken on purpose.
# FULLER_FAULTS_BUILD=release runs it on release binaries (as the long mode should); the
# default uses the debug binaries built above, to keep CI within a few minutes.
echo "== faults (short mode)"
status=0
FULLER_FAULTS_MODE=short FULLER_FAULTS_BUILD=${FULLER_FAULTS_BUILD:-debug} bash Tests/Faults/run.sh 2>&1 \
    | tee .build/faults-output.txt || status=$?
if [ "$status" -ne 0 ]; then
    echo "fault suite failed; full output in .build/faults-output.txt and .build/faults/" >&2
    exit 1
fi
passed=$(( passed + $(sed -n 's/^faults: \([0-9]*\) passed.*/\1/p' .build/faults-output.txt | tail -n 1) ))

if [ "$fuzz_seconds" -gt 0 ]; then
    echo "== fuzz (${fuzz_seconds}s per target)"
    for target in HTTPParserFuzz JobSpecFuzz; do
        bash Tests/Fuzz/run.sh "$target" "$fuzz_seconds"
    done
fi

# The closing line: every test of every phase.
echo "tests: $passed passed, 0 failed"
