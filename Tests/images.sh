#!/usr/bin/env bash
# The Debian image the real-client tests run an AWS SDK in (Tests/docker-env.sh runs this after
# the engine is ready).
#
#   bash Tests/images.sh [IMAGE]      (default fuller-test/debian-botocore:1)
#
# IMAGE is Debian bookworm (`debootstrap --variant=minbase`) with Debian's python3-botocore,
# imported with `docker import`; nothing comes from a container registry. It carries a label with
# a hash of its recipe: when the image exists with that label, nothing is done (re-running is
# cheap), and a changed recipe rebuilds it. Building takes about 3 minutes (debootstrap
# downloads and unpacks ~70 packages); the root file system lives in /tmp only while it is built.
#
# Environment: FULLER_DEBIAN_MIRROR (default http://deb.debian.org/debian), FULLER_DOCKER_SOCKET.
# Needs root (debootstrap; apt-get installs debootstrap when it is missing). Exits non-zero with
# the reason when the image cannot be made; the tests that need it then skip (fail in CI).
set -euo pipefail

socket=${FULLER_DOCKER_SOCKET:-/var/run/docker.sock}
mirror=${FULLER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
image=${1:-fuller-test/debian-botocore:1}
suite=bookworm
packages=python3-botocore
lock_wait_seconds=900

say() { echo "images: $*"; }
fail() { echo "images: error: $*" >&2; exit 1; }
docker_() { DOCKER_HOST="unix://$socket" docker "$@"; }

# The mirror is not part of the recipe: any Debian mirror gives the same suite.
recipe=$(echo "v1 $suite minbase $packages" | sha256sum | cut -c1-16)

current_recipe() {
    docker_ image inspect "$image" --format '{{index .Config.Labels "fuller.image.recipe"}}' 2>/dev/null || true
}

install_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] && return
    command -v apt-get >/dev/null 2>&1 || fail "debootstrap is missing and there is no apt-get to install it"
    say "packages: installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || fail "apt-get update failed"
    apt-get install -y -qq debootstrap >/dev/null || fail "apt-get install debootstrap failed"
}

root=""
trap '[ -z "$root" ] || rm -rf "$root" "$root.log"' EXIT

build() {
    local started
    root=$(mktemp -d /tmp/fuller-debian-rootfs.XXXXXX)
    started=$(date +%s)
    say "debootstrap: $suite minbase + $packages from $mirror (log: $root.log)"
    PATH="$PATH:/usr/sbin:/sbin" debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" \
        >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; fail "debootstrap failed; log above"; }
    rm -f "$root.log"
    # What a container never reads: downloaded packages, package lists, documentation, locales.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
        "$root"/usr/share/man/* "$root"/usr/share/locale/*
    tar -C "$root" -c . | docker_ import --change "LABEL fuller.image.recipe=$recipe" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["bash"]' \
        - "$image" >/dev/null || fail "docker import of $image failed"
    say "image: built $image in $(( $(date +%s) - started )) s"
}

[ "$(current_recipe)" = "$recipe" ] && { say "image: $image up to date"; exit 0; }
[ "$(id -u)" -eq 0 ] || fail "building $image needs root (debootstrap)"
# One build at a time on this host (the lock is this script file: nothing is left behind); a
# second caller waits, then finds the image made.
exec 9<"${BASH_SOURCE[0]}"
flock -w "$lock_wait_seconds" 9 || fail "another build of $image held the lock on ${BASH_SOURCE[0]} for $lock_wait_seconds s"
[ "$(current_recipe)" = "$recipe" ] && { say "image: $image up to date"; exit 0; }
say "image: building $image (recipe $recipe)"
install_debootstrap
build
