# Shared by the fault experiments that run one master (source it): binaries, tokens, a master on
# loopback, cleanup. Callers set $dir (their scratch directory) and $bin.

# The directory holding fuller-master: $FULLER_BIN_DIR (set by Tests/Faults/run.sh), else
# .build/release, else .build/debug.
fault_bin_dir() {
    if [ -n "${FULLER_BIN_DIR:-}" ]; then echo "$FULLER_BIN_DIR"; return; fi
    for d in .build/release .build/debug; do
        if [ -x "$d/fuller-master" ]; then echo "$d"; return; fi
    done
    echo "no fuller-master in .build/release or .build/debug (set FULLER_BIN_DIR)" >&2
    return 1
}

# A free TCP port on 127.0.0.1.
fault_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts one master (single node, fsync off, tokens from $dir/tokens) on $port with extra flags;
# sets master_pid. Waits up to 20 s for /readyz.
fault_start_master() {
    "$bin/fuller-master" serve --id m1 --data-dir "$dir/data" --api "127.0.0.1:$port" --no-fsync \
        --token-file "$dir/tokens" --log-level warn "$@" > "$dir/master.log" 2>&1 &
    master_pid=$!
    for _ in $(seq 1 200); do
        if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
            "http://127.0.0.1:$port/readyz" 2>/dev/null; then return 0; fi
        kill -0 "$master_pid" 2>/dev/null || { echo "the master exited:"; tail -20 "$dir/master.log"; return 1; }
        sleep 0.1
    done
    echo "the master was not ready in 20 s"; tail -20 "$dir/master.log"; return 1
}

# Writes $dir/tokens with one submit and one agent token; sets submit_token and agent_token.
fault_write_tokens() {
    submit_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    agent_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    umask 077
    printf 'submit faults %s\nagent a1 %s\n' "$submit_token" "$agent_token" > "$dir/tokens"
}

# Stops the master and removes $dir; install with fault_traps.
fault_cleanup() {
    if [ -n "${master_pid:-}" ]; then kill "$master_pid" 2>/dev/null || true; wait "$master_pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}

fault_traps() {
    trap fault_cleanup EXIT
    trap 'exit 143' TERM INT
}
