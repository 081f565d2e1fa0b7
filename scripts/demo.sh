#!/usr/bin/env bash
# Install, build, and run a demo container from a busybox bundle, as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
bun scripts/build.ts
bundle=$(mktemp -d /tmp/bunc-demo.XXXXXX)
bun scripts/rootfs.ts "$bundle" sh -c 'echo "hello from $(hostname), a bunc container: pid $$, $(ls /proc | grep -c "^[0-9]") process(es) visible"; cat /proc/self/cgroup | head -3' >/dev/null
status=0
./dist/bunc run --bundle "$bundle" "demo-$$" || status=$?
rm -rf "$bundle"
echo "container exited with status $status"
