#!/usr/bin/env bash
# History checker: 3 real masters on loopback, clients submitting jobs with unique
# Idempotency-Keys and retrying them, a fault loop (SIGKILL the leader, SIGSTOP a follower,
# restart) for a bounded time; then every acknowledged key must exist exactly once on every
# master and the stores must be identical. The checker itself is history.py (Python 3 stdlib).
#
#   bash Tests/Faults/history.sh                  short: one run, a 60 s fault window, faults held 1-4 s
#   FULLER_FAULTS_MODE=long bash Tests/Faults/history.sh   two runs of 180 s, faults held 1-8 s
#
# FULLER_BIN_DIR: where fuller-master is (default .build/release, then .build/debug).
# FULLER_HISTORY_SECONDS, FULLER_HISTORY_RUNS, FULLER_HISTORY_SEED, FULLER_HISTORY_WRITERS,
# FULLER_HISTORY_HOLD_MAX_S, FULLER_HISTORY_GAP_MAX_MS (a longer write gap fails: default 20000)
# and FULLER_HISTORY_SNAPSHOT_EVERY override the defaults;
# FULLER_HISTORY_FAULTS (e.g. kill-leader,kill-all: see history.py --help) picks the faults;
# FULLER_HISTORY_KEEP=1 keeps the data directories and logs. Prints "history: PASS|FAIL
# acknowledged=N faults=N lost=N duplicated=N longest-write-gap=MSms ..." last; exits non-zero
# on FAIL.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${FULLER_BIN_DIR:-}
if [ -z "$bin" ]; then
    for d in .build/release .build/debug; do
        if [ -x "$d/fuller-master" ]; then bin=$d; break; fi
    done
fi
if [ -z "$bin" ] || [ ! -x "$bin/fuller-master" ]; then
    echo "history: FAIL no fuller-master in ${bin:-.build/release or .build/debug} (build it, or set FULLER_BIN_DIR)"
    exit 1
fi
if ! command -v python3 > /dev/null; then
    echo "history: FAIL python3 is not installed (apt-get install python3)"
    exit 1
fi

case ${FULLER_FAULTS_MODE:-short} in
    short) seconds=60 runs=1 hold=4 ;;
    long) seconds=180 runs=2 hold=8 ;;
    *) echo "history: FAIL FULLER_FAULTS_MODE must be short or long"; exit 1 ;;
esac
args=(--bin-dir "$bin" --seconds "${FULLER_HISTORY_SECONDS:-$seconds}" --runs "${FULLER_HISTORY_RUNS:-$runs}"
      --writers "${FULLER_HISTORY_WRITERS:-4}" --hold-max "${FULLER_HISTORY_HOLD_MAX_S:-$hold}"
      --gap-max-ms "${FULLER_HISTORY_GAP_MAX_MS:-20000}")
if [ -n "${FULLER_HISTORY_SNAPSHOT_EVERY:-}" ]; then args+=(--snapshot-every "$FULLER_HISTORY_SNAPSHOT_EVERY"); fi
if [ -n "${FULLER_HISTORY_FAULTS:-}" ]; then args+=(--faults "$FULLER_HISTORY_FAULTS"); fi
if [ -n "${FULLER_HISTORY_SEED:-}" ]; then args+=(--seed "$FULLER_HISTORY_SEED"); fi
export PYTHONDONTWRITEBYTECODE=1
# The checker's own verdicts first: one that could no longer see a lost write must not pass.
if ! (cd Tests/Faults && python3 -m unittest -q history_test) 2>&1 | tail -n 20; then
    echo "history: FAIL the checker's self-test failed (Tests/Faults/history_test.py)"
    exit 1
fi
# exec: the checker is this process, so a timeout's SIGTERM reaches it (it cleans up on SIGTERM,
# and its masters die with it even on SIGKILL).
exec python3 Tests/Faults/history.py "${args[@]}"
