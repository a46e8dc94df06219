#!/usr/bin/env bash
# Builds a libFuzzer target with swiftc (not SwiftPM) and runs it.
#   Tests/Fuzz/run.sh TARGET SECONDS
# Crash inputs land in Tests/Fuzz/regressions/TARGET/, which a Swift test replays on every run.
set -euo pipefail
target=${1:?usage: run.sh TARGET SECONDS}
seconds=${2:?usage: run.sh TARGET SECONDS}
cd "$(dirname "$0")/../.."
root=$PWD
swiftc=${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}

case "$target" in
  HTTPParserFuzz)
    sources=(Tests/Fuzz/HTTPParserFuzz/*.swift Sources/Shared/HTTP/HTTPParser*.swift
             Sources/Shared/HTTP/HTTPTypes.swift Tests/SharedTests/Support/HTTPParseTranscript.swift) ;;
  JobSpecFuzz)
    sources=(Tests/Fuzz/JobSpecFuzz/*.swift Sources/Shared/Model/*.swift Tests/SharedTests/Support/JobSpecRoundTrip.swift) ;;
  *) echo "unknown fuzz target: $target" >&2; exit 2 ;;
esac

build=$root/.build/fuzz
corpus=$root/Tests/Fuzz/corpus-$target
regressions=$root/Tests/Fuzz/regressions/$target
mkdir -p "$build" "$corpus" "$regressions"
cp -n Tests/Fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true

if ! "$swiftc" -sanitize=fuzzer,address -parse-as-library -O -g -module-name "$target" \
    "${sources[@]}" -o "$build/$target" > "$build/$target.build.log" 2>&1; then
  cat "$build/$target.build.log" >&2
  exit 1
fi

# The fuzzer's progress lines go to a log; the summary and any crash are printed here.
log=$build/$target.log
status=0
"$build/$target" "$corpus" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -artifact_prefix="$regressions/" -print_final_stats=1 > "$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  tail -n 40 "$log" >&2
  echo "$target: fuzzer found a failure (exit $status); the input is in $regressions/" >&2
  exit "$status"
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
echo "$target: ${runs:-?} inputs in ${seconds}s, no failure"
