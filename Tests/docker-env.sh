#!/usr/bin/env bash
# The Docker Engine and test images the tests need (Tests/run.sh runs this before `swift test`):
# the busybox image every Docker test uses (required), then the Debian image with botocore that
# BotocoreEndToEndTests use (Tests/images.sh: minutes the first time, cached after). When only the
# latter cannot be made, those tests skip (fail in CI) and the rest run.
set -euo pipefail
here=$(dirname "$0")
bash "$here/../deploy/docker-setup.sh" fuller-test/busybox:1
bash "$here/images.sh" || echo "WARNING: Tests/images.sh failed; BotocoreEndToEndTests will skip (fail in CI)" >&2
