#!/usr/bin/env bash
# peer-garbage: hostile frames on the Raft peer port, sent as a compromised peer would (with the
# masters' peer token). Three masters on loopback; each frame kind goes to each master: a
# heartbeat addressed to another node, an append whose index jumps ahead, an append carrying a
# malformed configuration entry, a committed entry that does not decode, a snapshot of 16
# garbage bytes, a storm of forced (leadership-transfer) vote requests, a forged Fuller-Api
# header, a sender that is not a member, and chunked transfers that never finish. Then every
# master must be alive, all must agree on one leader, followers must redirect to it, and writes
# must be acknowledged.
#
# Prints `peer-garbage: PASS <frames> frames, <ok>/<n> writes ok, ...` or `peer-garbage: FAIL ...`
# and exits 0 or 1. Bounded: every request has a timeout and the whole run a deadline.
#
#   FULLER_BIN_DIR         where fuller-master is (default .build/release, then .build/debug)
#   PEER_GARBAGE_ROUNDS    forced-vote rounds (default 40)
#   PEER_GARBAGE_WRITES    writes checked at the end (default 20)
set -uo pipefail

deadline=$((SECONDS + ${PEER_GARBAGE_DEADLINE_SECONDS:-180}))
rounds=${PEER_GARBAGE_ROUNDS:-40}
writes=${PEER_GARBAGE_WRITES:-20}
bin=${FULLER_BIN_DIR:-}
if [ -z "$bin" ]; then
    for d in .build/release .build/debug; do [ -x "$d/fuller-master" ] && { bin=$d; break; }; done
fi
fail() { echo "peer-garbage: FAIL $*"; exit 1; }
[ -n "$bin" ] && [ -x "$bin/fuller-master" ] || fail "no fuller-master binary (build it, or set FULLER_BIN_DIR)"
command -v curl > /dev/null || fail "curl is needed"

dir=$(mktemp -d /tmp/fuller-peer-garbage-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done
    wait 2> /dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- Binary frames, as Sources/Master/Cluster/RaftWire.swift writes them (little-endian) ---

# Bytes of an unsigned 64-bit value held in a (possibly negative) shell integer.
le64() { local v=$1 i out=""; for i in 0 1 2 3 4 5 6 7; do out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255))); done; printf "$out"; }
le32() { local v=$1 i out=""; for i in 0 1 2 3; do out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255))); done; printf "$out"; }
u8() { printf "$(printf '\\x%02x' "$1")"; }
# FNV-1a of a member name, as RaftCluster.nodeID (64-bit arithmetic wraps in the shell too).
node_id() {
    local name=$1 h=-3750763034362895579 i c
    for ((i = 0; i < ${#name}; i++)); do printf -v c '%d' "'${name:i:1}"; h=$(((h ^ c) * 1099511628211)); done
    [ "$h" = 0 ] && h=1
    echo "$h"
}
# message KIND FROM TO TERM LOGTERM INDEX COMMIT FORCE  (writes the fixed header to stdout)
# Kinds: 2 vote, 4 append, 6 heartbeat, 8 snapshot.
message() {
    u8 "$1"; le64 "$2"; le64 "$3"; le64 "$4"; le64 "$5"; le64 "$6"; le64 "$7"; le64 0
    u8 0; u8 "$8"; le32 0
}
# entry TERM INDEX KIND HEXBYTES
entry() { le64 "$1"; le64 "$2"; u8 "$3"; local data=$4; le32 $((${#data} / 4)); printf "$data"; }

# frame FILE: wraps FILE as one frame of a batch body (u32 length, bytes) into FILE.body
frame() { { le32 "$(stat -c %s "$1")"; cat "$1"; } > "$1.body"; }

# --- The group ---

# Ports below the kernel's ephemeral range (outgoing connections take those), none twice.
port_in_use() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
picked=" "
free_port() {
    local p low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2> /dev/null || echo 32768)
    while :; do
        p=$((10000 + RANDOM % (low - 10000)))
        case $picked in *" $p "*) continue ;; esac
        port_in_use "$p" || { picked+="$p "; echo "$p"; return; }
    done
}
token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
admin=$(token); peer=$(token)
umask 077
printf 'admin operator %s\npeer masters %s\n' "$admin" "$peer" > "$dir/tokens"
names=(m1 m2 m3)
declare -A api peerport id
for n in "${names[@]}"; do
    free_port > "$dir/port"; api[$n]=$(< "$dir/port")
    free_port > "$dir/port"; peerport[$n]=$(< "$dir/port")
    id[$n]=$(node_id "$n")
done
peers=$(for n in "${names[@]}"; do printf '%s=127.0.0.1:%s,' "$n" "${peerport[$n]}"; done)
peers=${peers%,}
for n in "${names[@]}"; do
    "$bin/fuller-master" serve --id "$n" --data-dir "$dir/$n" --api "127.0.0.1:${api[$n]}" --peer "127.0.0.1:${peerport[$n]}" \
        --peers "$peers" --fsync=false --token-file "$dir/tokens" --peer-token "$peer" 2> "$dir/$n.log" &
    pids+=($!)
done

get() { curl -sS --max-time 3 -H "Authorization: Bearer $admin" "http://127.0.0.1:$1$2" 2> /dev/null; }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }
# The leader every master names, or nothing while they disagree.
agreed_leader() {
    local n l seen=""
    for n in "${names[@]}"; do
        l=$(get "${api[$n]}" /v1/cluster | field leader)
        [ -n "$l" ] && [ "$l" != null ] || return 1
        [ -z "$seen" ] || [ "$seen" = "$l" ] || return 1
        seen=$l
    done
    echo "$seen"
}
wait_for_leader() {
    local l
    while [ $SECONDS -lt $deadline ]; do l=$(agreed_leader) && { echo "$l"; return 0; }; sleep 0.2; done
    return 1
}
leader=$(wait_for_leader) || fail "no leader at start; $(tail -n 3 "$dir"/m*.log)"
term=$(get "${api[$leader]}" /v1/cluster | field term)

# POST a batch body to a master's peer port as member FROM; prints the status.
post_frames() {
    curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H "Authorization: Bearer $peer" \
        -H "Fuller-From: $2" -H "Fuller-Api: evil.example:80" --data-binary "@$3" \
        "http://127.0.0.1:${peerport[$1]}/raft/v1/messages" 2> /dev/null || echo 000
}

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2> /dev/null || echo 0; }
declare -A rss_before
for i in "${!pids[@]}"; do rss_before[$i]=$(rss_kib "${pids[$i]}"); done
frames=0
refused=""
expect_status() { [ "$1" = "$2" ] || refused+=" $3:$1"; }
for target in "${names[@]}"; do
    # A sender that is neither the target nor the leader: a follower, as a taken-over peer is.
    for s in "${names[@]}"; do [ "$s" != "$target" ] && [ "$s" != "$leader" ] && { sender=$s; break; }; done
    f=$dir/f
    { message 6 "${id[$sender]}" "$(node_id elsewhere)" "$term" 0 0 1 0; le32 0; u8 0; } > "$f.misaddressed"
    { message 4 "${id[$sender]}" "${id[$target]}" "$term" 1 1 0 0; le32 1; entry "$term" 1000 0 '\x01'; u8 0; } > "$f.jump"
    { message 4 "${id[$sender]}" "${id[$target]}" "$term" 1 1 0 0; le32 1; entry "$term" 2 1 '\x09\x09\x09'; u8 0; } > "$f.conf"
    { message 8 "${id[$sender]}" "${id[$target]}" $((term + 100)) 0 0 0 0; le32 0; u8 1; le64 1000; le64 $((term + 100))
      le32 32; le64 2; le64 "${id[$sender]}"; le64 "${id[$target]}"; le64 0
      le32 16; printf '\x5a%.0s' $(seq 16); } > "$f.snapshot"
    for kind in misaddressed jump conf snapshot; do
        frame "$f.$kind"
        expect_status "$(post_frames "$target" "$sender" "$f.$kind.body")" 204 "$target/$kind"
        frames=$((frames + 1))
    done
    # A committed entry that does not decode, from the leader's name to a follower, at its log's end.
    if [ "$target" != "$leader" ]; then
        commit=$(get "${api[$target]}" "/v1/cluster?stale=true" | field commitIndex)
        { message 4 "${id[$leader]}" "${id[$target]}" "$term" "$term" "$commit" $((commit + 1)) 0; le32 1
          entry "$term" $((commit + 1)) 0 '\xff\x00\xfe'; u8 0; } > "$f.undecodable"
        frame "$f.undecodable"
        expect_status "$(post_frames "$target" "$leader" "$f.undecodable.body")" 204 "$target/undecodable"
        frames=$((frames + 1))
    fi
    # Not a member: refused before anything is read.
    expect_status "$(post_frames "$target" intruder "$f.misaddressed.body")" 403 "$target/intruder"
    frames=$((frames + 1))
    # Chunked transfers that never finish, from made-up senders: refused, nothing held.
    for i in 1 2 3 4 5 6 7 8; do
        code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H "Authorization: Bearer $peer" \
            -H "Fuller-From: made-up-$i" -H "Fuller-Transfer: $i" -H "Fuller-Offset: 0" -H "Fuller-Total: 100000000" \
            --data-binary "@$f.jump" "http://127.0.0.1:${peerport[$target]}/raft/v1/chunks" 2> /dev/null || echo 000)
        expect_status "$code" 403 "$target/chunk"
        frames=$((frames + 1))
    done
done

# Forced vote requests from members that are no transfer target, with rising terms.
for ((r = 1; r <= rounds && SECONDS < deadline; r++)); do
    for target in "${names[@]}"; do
        for s in "${names[@]}"; do [ "$s" != "$target" ] && [ "$s" != "$leader" ] && { sender=$s; break; }; done
        { message 2 "${id[$sender]}" "${id[$target]}" $((term + r)) 1099511627776 1099511627776 0 1; le32 0; u8 0; } > "$dir/vote"
        frame "$dir/vote"
        post_frames "$target" "$sender" "$dir/vote.body" > /dev/null
        frames=$((frames + 1))
    done
done

# --- Verdict ---
growth=0
for i in "${!pids[@]}"; do
    g=$(($(rss_kib "${pids[$i]}") - rss_before[$i]))
    [ "$g" -gt "$growth" ] && growth=$g
done
for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2> /dev/null ||
        fail "${names[$i]} stopped: $(grep -m 1 -iE 'fatal error|precondition|crash' "$dir/${names[$i]}.log" || tail -n 2 "$dir/${names[$i]}.log")"
done
[ -z "$refused" ] || fail "unexpected answers:$refused"
now=$(wait_for_leader) || fail "no agreed leader after $frames frames"
now_term=$(get "${api[$now]}" /v1/cluster | field term)
[ "$now_term" -lt $((term + 5)) ] || fail "the vote storm moved the term from $term to $now_term"
for n in "${names[@]}"; do
    [ "$n" = "$now" ] && continue
    location=$(curl -sS -o /dev/null -w '%{redirect_url}' --max-time 3 -X POST -H "Authorization: Bearer $admin" \
        -d '{}' "http://127.0.0.1:${api[$n]}/v1/jobs" 2> /dev/null)
    case $location in "http://127.0.0.1:${api[$now]}/"*) ;; *) fail "$n redirects to '$location', not to the leader $now" ;; esac
done
job='{"name":"pg","owner":"o","type":"batch","container":{"image":"i","resources":{"cpu":0.1,"memoryMB":16}},"batch":{"size":1}}'
ok=0
for ((w = 1; w <= writes && SECONDS < deadline; w++)); do
    code=$(curl -sS -L -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H "Authorization: Bearer $admin" \
        -H "Idempotency-Key: pg-$w" -H "Content-Type: application/json" -d "$job" "http://127.0.0.1:${api[$now]}/v1/jobs" 2> /dev/null)
    [ "$code" = 201 ] && ok=$((ok + 1))
done
# Drops by reason, summed over the masters: `reason=count ...`.
reasons=$(for n in "${names[@]}"; do get "${api[$n]}" /metrics; done |
    sed -n 's/^fuller_raft_dropped_total{reason="\([^"]*\)"} \([0-9]*\).*/\1 \2/p' |
    awk '{ c[$1] += $2 } END { for (r in c) printf "%s=%d ", r, c[r] }')
[ "$ok" = "$writes" ] || fail "$ok/$writes writes ok after $frames frames"
for r in misaddressed entriesOutOfOrder malformedConfiguration badSnapshot unknownSender undecodableEntry; do
    case " $reasons" in *" $r="*) ;; *) fail "no master counted a $r drop (counted: $reasons)" ;; esac
done
case " $reasons" in *" wrongSender="*) fail "frames carried the wrong node ids (counted: $reasons)" ;; esac
echo "peer-garbage: PASS $frames frames, $ok/$writes writes ok, leader $now term $term -> $now_term, memory +$((growth / 1024)) MiB at most; dropped: ${reasons% }"
