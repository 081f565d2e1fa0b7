#!/usr/bin/env bash
# Install what building needs, build, and run a demo container from a busybox bundle, as root.
# Exits with the container's status: non-zero, with the reason on stderr, when it cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run it as root (it installs Debian packages and runs a container with root's privileges)" >&2
  exit 1
fi
bash scripts/install-deps.sh --demo
export PATH="$PWD/node_modules/.bin:$PATH"
bun scripts/build.ts
bundle=$(mktemp -d /tmp/bunc-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
bun scripts/rootfs.ts "$bundle" sh -c 'echo "hello from $(hostname), a bunc container: pid $$, $(ls /proc | grep -c "^[0-9]") process(es) visible"; cat /proc/self/cgroup | head -3' >/dev/null
status=0
./dist/bunc run --bundle "$bundle" "demo-$$" || status=$?
if [ "$status" -ne 0 ]; then
  echo "demo: the container failed (exit status $status): see bunc's error above" >&2
  exit "$status"
fi
echo "the demo container ran and exited 0; install bunc with: bash scripts/install.sh [PREFIX]"
