#!/usr/bin/env bash
# Scheduler benchmark: Fenzo's "LotsOfTasks" workload through `fuller-master simulate`
# (release build, one process, one core: the scheduler is single-threaded).
#
#   bash Tests/Benchmarks/scheduler.sh                 1k, 10k and 50k hosts, plain and constrained
#   HOSTS="2000 10000" bash Tests/Benchmarks/scheduler.sh
#   GOOD_ENOUGH=0.9 bash ...                           with a good-enough threshold
#
# Workload: hosts of 8 cores and 8,000 MB. Tasks by core share: 20% single-core (1 core,
# 1,000 MB), 40% half-host (4 cores, 4,000 MB), 40% three-quarter-host (6 cores, 6,000 MB), then
# single-core tasks topping the total up to exactly the cluster's cores; shuffled (seed 1);
# offered 200 per scheduling iteration until every task was tried once. Tasks are grouped in
# jobs of 10; the constrained run puts zoneBalance + uniqueHost on every other job and spreads
# the hosts over three zones. Last: resident memory with 100,000 tasks placed on 10,000 hosts.
set -euo pipefail
cd "$(dirname "$0")/../.."

swift build -c release --product fuller-master 2>&1 | tail -n 1
bin=.build/release/fuller-master
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hosts_list=${HOSTS:-"1000 10000 50000"}
extra=()
if [ -n "${GOOD_ENOUGH:-}" ]; then extra=(--scheduler-good-enough "$GOOD_ENOUGH"); fi

cluster() { # HOSTS ZONES FILE
    : > "$3"
    for i in $(seq 1 "$2"); do
        zone=$(echo "a b c" | cut -d' ' -f"$i")
        n=$(( $1 / $2 + (i <= $1 % $2 ? 1 : 0) ))
        echo "add-hosts $zone $n cpu=8 mem=8000 zone=$zone" >> "$3"
    done
}

workload() { # HOSTS CONSTRAINED FILE
    awk -v h="$1" -v c="$2" 'function emit(kind, count, cpu, mem,    j, n) {
            for (j = 0; count > 0; j++) {
                n = count < 10 ? count : 10
                jobs++
                printf "submit %s%d count=%d cpu=%d mem=%d%s\n", kind, j, n, cpu, mem,
                       (c && jobs % 2 == 0) ? " hard=zoneBalance=true,uniqueHost=true" : ""
                count -= n
            }
        }
        BEGIN {
            cores = 8 * h
            single = int(cores * 0.2); half = int(cores * 0.4 / 4); three = int(cores * 0.4 / 6)
            topup = cores - single - 4 * half - 6 * three
            emit("s", single + topup, 1, 1000); emit("h", half, 4, 4000); emit("t", three, 6, 6000)
        }' > "$3"
}

run() { # LABEL HOSTS ZONES CONSTRAINED
    cluster "$2" "$3" "$work/cluster.txt"
    workload "$2" "$4" "$work/workload.txt"
    echo "== $1: $2 hosts"
    "$bin" simulate --cluster "$work/cluster.txt" --workload "$work/workload.txt" --batch 200 --shuffle --seed 1 "${extra[@]}" \
        | grep -E "^(agents|utilisation|iterations|index|peak|pending)"
}

for h in $hosts_list; do run "LotsOfTasks" "$h" 1 0; done
for h in $hosts_list; do run "LotsOfTasks, zoneBalance + uniqueHost on half the jobs, 3 zones" "$h" 3 1; done

echo "== resident memory: 10000 hosts, 100000 tasks placed (half a core, 500 MB each)"
cluster 10000 1 "$work/cluster.txt"
awk 'BEGIN { for (j = 0; j < 10000; j++) printf "submit m%d count=10 cpu=0.5 mem=500\n", j }' > "$work/workload.txt"
"$bin" simulate --cluster "$work/cluster.txt" --workload "$work/workload.txt" --batch 200 --seed 1 "${extra[@]}" \
    | grep -E "^(agents|utilisation|iterations|peak)"
