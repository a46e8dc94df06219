#!/usr/bin/env bash
# README's run command: a development cluster on this host (one master, one local agent).
#
#   bash deploy/dev.sh [fuller-master dev flags…]
#
# Makes Docker ready (installs Debian's docker.io and starts dockerd if needed, as root),
# builds the local image fuller/busybox:latest (no registry needed), builds Fuller in release
# mode and runs `fuller-master dev` with its data in ./.fuller-dev. Ctrl-C stops it; the
# containers keep running and the next start adopts them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/docker-setup.sh fuller/busybox:latest
swift build -c release 2>&1 | tail -n 1
exec .build/release/fuller-master dev "$@"
