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
  *) echo "unknown fuzz target: $target" >&2; exit 2 ;;
esac

build=$root/.build/fuzz
corpus=$root/Tests/Fuzz/corpus-$target
regressions=$root/Tests/Fuzz/regressions/$target
mkdir -p "$build" "$corpus" "$regressions"
cp -n Tests/Fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true

"$swiftc" -sanitize=fuzzer,address -parse-as-library -O -g -module-name "$target" \
  "${sources[@]}" -o "$build/$target"

"$build/$target" "$corpus" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -artifact_prefix="$regressions/" -print_final_stats=1
