#!/usr/bin/env bash
# Makes a Docker Engine ready on this host, and a small busybox image that needs no registry.
#
#   bash deploy/docker-setup.sh [IMAGE]      (default fuller-test/busybox:1)
#
# deploy/dev.sh runs it for `fuller/busybox:latest` (the image README's examples use);
# Tests/docker-env.sh for the tests' `fuller-test/busybox:1`.
#
# Steps, each skipped when already done (re-running changes nothing):
#   1. install Debian's docker.io, busybox-static and iptables if missing (needs root and apt;
#      the agent's metadata endpoint uses iptables for its 169.254.169.254 DNAT rule);
#   2. start dockerd in the background if nothing answers GET /_ping on the socket
#      (log: $FULLER_DOCKERD_LOG, default /tmp/fuller-dockerd.log; extra flags:
#      $FULLER_DOCKERD_ARGS), waiting at most 60 s;
#   3. build IMAGE with `docker import` from a static busybox and its applets.
# The image carries a label with a hash of its recipe, so a changed recipe rebuilds it.
# Exits non-zero with the reason when Docker cannot be made to work.
set -euo pipefail

socket=${FULLER_DOCKER_SOCKET:-/var/run/docker.sock}
dockerd_log=${FULLER_DOCKERD_LOG:-/tmp/fuller-dockerd.log}
# Extra dockerd flags. Beware `--bridge none`: that daemon deletes the host's docker0 on start,
# breaking any other daemon's default network.
read -r -a dockerd_args <<< "${FULLER_DOCKERD_ARGS:-}"
image=${1:-fuller-test/busybox:1}
# Applets the tests (and people poking at a test container) use; `trap` is a shell builtin.
applets="sh ash echo cat sleep nc ls env true false hostname ip kill head tail dd yes printf sed
grep wc id ps sync mkdir rm touch seq date uname wget"

say() { echo "docker-setup: $*"; }
fail() { echo "docker-setup: error: $*" >&2; exit 1; }

ping_engine() {
    if command -v curl >/dev/null 2>&1; then
        [ "$(curl -s --max-time 2 --unix-socket "$socket" http://localhost/_ping 2>/dev/null)" = OK ]
    else
        DOCKER_HOST="unix://$socket" timeout 5 docker version >/dev/null 2>&1
    fi
}

install_packages() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 || missing+=(docker.io)
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || missing+=(busybox-static)
    command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || [ -x /sbin/iptables ] || missing+=(iptables)
    if [ ${#missing[@]} -eq 0 ]; then
        say "packages: docker.io, busybox-static and iptables present"
        return
    fi
    [ "$(id -u)" -eq 0 ] || fail "missing ${missing[*]}; run as root so apt-get can install them"
    command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and no apt-get to install them"
    say "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || fail "apt-get update failed"
    apt-get install -y -qq "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
}

start_engine() {
    if ping_engine; then
        say "engine: answering on $socket"
        return
    fi
    [ "$(id -u)" -eq 0 ] || fail "no Docker Engine answers on $socket, and starting dockerd needs root"
    say "engine: starting dockerd (log: $dockerd_log)"
    setsid dockerd --host "unix://$socket" ${dockerd_args[@]+"${dockerd_args[@]}"} >"$dockerd_log" 2>&1 < /dev/null &
    local pid=$!
    for _ in $(seq 1 120); do
        ping_engine && { say "engine: dockerd (pid $pid) answering on $socket"; return; }
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dockerd_log" >&2; fail "dockerd exited; log above"; }
        sleep 0.5
    done
    tail -n 20 "$dockerd_log" >&2
    fail "dockerd did not answer on $socket within 60 s; log above"
}

build_image() {
    local busybox
    busybox=$(command -v busybox || true)
    [ -n "$busybox" ] && file_is_static "$busybox" || busybox=/bin/busybox
    file_is_static "$busybox" || fail "no statically linked busybox (install busybox-static)"
    local recipe
    recipe=$( { echo "v1"; echo "$applets"; sha256sum "$busybox" | cut -d' ' -f1; } | sha256sum | cut -c1-16)
    local current
    current=$(DOCKER_HOST="unix://$socket" docker image inspect "$image" \
        --format '{{index .Config.Labels "fuller.image.recipe"}}' 2>/dev/null || true)
    if [ "$current" = "$recipe" ]; then
        say "image: $image up to date"
        return
    fi
    say "image: building $image (recipe $recipe)"
    local root
    root=$(mktemp -d /tmp/fuller-rootfs.XXXXXX)
    trap 'rm -rf "$root"; trap - RETURN' RETURN
    mkdir -p "$root"/bin "$root"/etc "$root"/tmp "$root"/proc "$root"/sys "$root"/dev "$root"/root
    chmod 1777 "$root/tmp"
    cp "$busybox" "$root/bin/busybox"
    for applet in $applets; do ln -s busybox "$root/bin/$applet"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
    tar -C "$root" -c . | DOCKER_HOST="unix://$socket" docker import \
        --change "LABEL fuller.image.recipe=$recipe" --change 'ENV PATH=/bin' --change 'CMD ["sh"]' \
        - "$image" >/dev/null || fail "docker import of $image failed"
    say "image: built $image"
}

file_is_static() {
    [ -x "$1" ] && ! ldd "$1" >/dev/null 2>&1
}

install_packages
start_engine
build_image
say "ready"
