#!/usr/bin/env bash
# The Docker Engine and test image the tests need (Tests/run.sh runs this before `swift test`).
exec bash "$(dirname "$0")/../deploy/docker-setup.sh" fuller-test/busybox:1
