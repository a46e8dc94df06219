#!/usr/bin/env bash
# The adversarial fault suite: every experiment Tests/Faults/*.sh (but this runner and lib*.sh),
# each a scripted, bounded, loopback-only experiment against real binaries that prints one line
# "NAME: PASS <figure>" or "NAME: FAIL <reason>" and exits 0 or non-zero. See docs/faults.md.
#
#   bash Tests/Faults/run.sh                 every experiment, short mode (what CI runs)
#   bash Tests/Faults/run.sh history ...     only the experiments named (file names without .sh)
#   FULLER_FAULTS_MODE=long bash ...         long mode: longer fault windows, more runs
#
#   FULLER_FAULTS_BUILD=release (default)    swift build -c release the two binaries first
#   FULLER_FAULTS_BUILD=debug                swift build (debug) them instead: much faster to build
#   FULLER_FAULTS_BUILD=none                 build nothing: use FULLER_BIN_DIR, else .build/release,
#                                            else .build/debug
#   FULLER_FAULTS_TIMEOUT_S                  hard limit per experiment (default 300 short, 1500 long)
#
# The experiments get FULLER_BIN_DIR (where fuller-master and fuller-agent are) and
# FULLER_FAULTS_MODE (short or long). Each one's full output is in .build/faults/NAME.log.
# Closing line: "faults: N passed, M failed"; exits non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

mode=${FULLER_FAULTS_MODE:-short}
case $mode in
    short) limit=${FULLER_FAULTS_TIMEOUT_S:-300} ;;
    long) limit=${FULLER_FAULTS_TIMEOUT_S:-1500} ;;
    *) echo "FULLER_FAULTS_MODE must be short or long, not '$mode'" >&2; exit 2 ;;
esac

build() { # CONFIGURATION: builds both products, prints their directory
    local p out=.build/faults/build.log
    mkdir -p .build/faults
    for p in fuller-master fuller-agent; do
        if ! swift build -c "$1" --product "$p" > "$out" 2>&1; then
            tail -n 30 "$out" >&2
            echo "the $1 build of $p failed" >&2
            return 1
        fi
        tail -n 1 "$out" >&2
    done
    swift build -c "$1" --show-bin-path
}

case ${FULLER_FAULTS_BUILD:-release} in
    release|debug)
        echo "== faults: build (${FULLER_FAULTS_BUILD:-release})"
        bin=$(build "${FULLER_FAULTS_BUILD:-release}") || exit 2 ;;
    none)
        bin=${FULLER_BIN_DIR:-}
        if [ -z "$bin" ]; then
            for d in .build/release .build/debug; do
                if [ -x "$d/fuller-master" ]; then bin=$d; break; fi
            done
        fi ;;
    *) echo "FULLER_FAULTS_BUILD must be release, debug or none" >&2; exit 2 ;;
esac
if [ -z "${bin:-}" ] || [ ! -x "$bin/fuller-master" ] || [ ! -x "$bin/fuller-agent" ]; then
    echo "no fuller-master and fuller-agent in '${bin:-.build/release or .build/debug}'" >&2
    exit 2
fi
bin=$(cd "$bin" && pwd)   # absolute: an experiment may change directory
export FULLER_BIN_DIR=$bin FULLER_FAULTS_MODE=$mode
# The same binaries under the names some experiments also read.
export FULLER_BIN=$bin FULLER_MASTER=$bin/fuller-master

# The experiments: those named, or every script here but the runner and the libraries.
experiments=()
if [ $# -gt 0 ]; then
    for name in "$@"; do
        name=${name%.sh}
        if [ ! -f "Tests/Faults/$name.sh" ] || [ "$name" = run ] || [[ $name == lib* ]]; then
            echo "no experiment Tests/Faults/$name.sh" >&2
            exit 2
        fi
        experiments+=("$name")
    done
else
    for f in Tests/Faults/*.sh; do
        name=$(basename "$f" .sh)
        if [ "$name" != run ] && [[ $name != lib* ]]; then experiments+=("$name"); fi
    done
fi

logs=.build/faults
mkdir -p "$logs"
echo "== faults: ${#experiments[@]} experiments, $mode mode, binaries in $bin, at most ${limit}s each"
passed=0 failed=0 rows=()
# A result line: "NAME: PASS|FAIL ..." or, for an experiment with several cases, one line per
# case "NAME (CASE): PASS|FAIL ...". An experiment passes when it exits 0 and every such line
# says PASS.
result_lines='^[A-Za-z0-9_.-]+( \([^)]*\))?: (PASS|FAIL)( |$)'
for name in "${experiments[@]}"; do
    log=$logs/$name.log status=0
    started=$SECONDS
    # timeout signals the experiment's whole process group: SIGTERM, then SIGKILL 20 s later.
    timeout -k 20 "$limit" bash "Tests/Faults/$name.sh" > "$log" 2>&1 < /dev/null || status=$?
    took=$(( SECONDS - started ))
    mapfile -t lines < <(grep -E "$result_lines" "$log" || true)
    ok=true
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        ok=false lines+=("$name: FAIL timed out after ${limit}s")
    elif [ "${#lines[@]}" -eq 0 ]; then
        ok=false lines=("$name: FAIL no result line (exit $status)")
    elif [ "$status" -ne 0 ] && ! printf '%s\n' "${lines[@]}" | grep -qE '^[^:]*: FAIL'; then
        ok=false lines+=("$name: FAIL exit status $status after PASS")
    fi
    for line in "${lines[@]}"; do
        label=${line%%: *} rest=${line#*: }
        result=${rest%% *} figure=${rest#"$result"}
        if [ "$result" = FAIL ]; then ok=false; fi
        echo "$label: $result (${took}s)$figure"
        rows+=("$(printf '%-24s %-4s %5ss %s' "$label" "$result" "$took" "$figure")")
    done
    if $ok; then
        passed=$(( passed + 1 ))
    else
        failed=$(( failed + 1 ))
        echo "-- $name failed; last lines of $log:" >&2
        tail -n 40 "$log" >&2
    fi
done

echo "== faults: summary ($mode mode, ${SECONDS}s in all)"
printf '%-24s %-4s %6s %s\n' experiment result time figure
for row in "${rows[@]}"; do echo "$row"; done
echo "faults: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
