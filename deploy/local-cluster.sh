#!/usr/bin/env bash
# A local cluster on this host: three replicated masters and N agents (default 2), the agents
# in two zones, all on loopback, with bearer tokens as on real VMs. Data, logs and the token
# file under DIR (default ./.fuller-local). Ctrl-C stops all; containers keep running and the
# agents adopt them on the next start.
#
#   bash deploy/local-cluster.sh [AGENTS] [DIR]
#   FULLER_TOKEN=$(awk '$1=="admin"{print $3}' .fuller-local/tokens) fuller-master cluster
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-2}
dir=${2:-$PWD/.fuller-local}
mkdir -p "$dir"
swift build -c release 2>&1 | tail -n 1
bin=.build/release
pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

token() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
if [ ! -f "$dir/tokens" ]; then
    umask 077
    { echo "admin  operator $(token)"
      echo "read   dashboard $(token)"
      echo "agent  *        $(token)"
      echo "peer   masters  $(token)"; } > "$dir/tokens"
    # Agents get a token of their own for the masters' calls (role master), never the peer token.
    echo "master masters $(token)" > "$dir/agent-tokens"
    umask 022
fi
peer_token=$(awk '$1=="peer"{print $3}' "$dir/tokens")
agent_token=$(awk '$1=="agent"{print $3}' "$dir/tokens")

peers="m1=127.0.0.1:4701,m2=127.0.0.1:4703,m3=127.0.0.1:4705"
masters="http://127.0.0.1:4700,http://127.0.0.1:4702,http://127.0.0.1:4704"
for i in 1 2 3; do
    FULLER_PEER_TOKEN=$peer_token "$bin/fuller-master" serve --id "m$i" --data-dir "$dir/m$i" \
        --api "127.0.0.1:$((4698 + 2 * i))" --peers "$peers" --token-file "$dir/tokens" 2> "$dir/m$i.log" &
    pids+=($!)
done
for i in $(seq 1 "$agents"); do
    FULLER_TOKEN=$agent_token "$bin/fuller-agent" --id "agent-$i" --masters "$masters" --data-dir "$dir/agent-$i" \
        --api "127.0.0.1:$((4710 + 2 * i))" --metadata "127.0.0.1:$((4711 + 2 * i))" --token-file "$dir/agent-tokens" \
        --zone "zone-$(( (i - 1) % 2 ))" --cpu 2 --memory-mb 2048 2> "$dir/agent-$i.log" &
    pids+=($!)
done
echo "masters $masters; $agents agents; logs and tokens in $dir; Ctrl-C to stop"
echo "CLI: export FULLER_TOKEN=\$(awk '\$1==\"admin\"{print \$3}' $dir/tokens)"
wait
