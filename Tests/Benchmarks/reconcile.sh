#!/usr/bin/env bash
# One reconciler pass over 10,000 agents and 100,000 running tasks (the pure core, release
# build): the steady state, then with 1% of the agents silent past the lost timeout.
#
#   bash Tests/Benchmarks/reconcile.sh [AGENTS] [TASKS] [PASSES]
set -euo pipefail
cd "$(dirname "$0")/../.."
agents=${1:-10000}
tasks=${2:-100000}
passes=${3:-20}
swift build -c release --product ReconcileBench 2>&1 | tail -n 1
bin=$(swift build -c release --show-bin-path)/ReconcileBench
"$bin" --agents "$agents" --tasks "$tasks" --passes "$passes"
"$bin" --agents "$agents" --tasks "$tasks" --passes "$passes" --silent-percent 1
