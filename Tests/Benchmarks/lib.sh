# Shared by the benchmark scripts that run a master and an agent on this host (source it).

# Stops the processes whose pids are given, removes every container the agent `$id` made and
# the scratch directory `$dir`. Scripts install it with: trap 'stop_cluster "$agent" "$master"' EXIT
stop_cluster() {
    kill "$@" 2>/dev/null || true
    wait 2>/dev/null || true
    local ids
    ids=$(docker ps -aq --filter "label=fuller.agent=$id")
    [ -z "$ids" ] || docker rm -f $ids > /dev/null
    rm -rf "$dir"
}
