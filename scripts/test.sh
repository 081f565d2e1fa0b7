#!/usr/bin/env bash
# Install, build, and run the whole test suite (unit, integration as root, clients),
# then, when no test files are named, the peer suite: runc's own integration
# tests under runc and under bunc (scripts/runc-suite.sh; it fails on a test
# runc passes and bunc fails that test/runc-suite-allow.json does not allow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
tsc --noEmit -p .
bun scripts/build.ts
bun test --timeout 60000 "$@"
if [ $# -eq 0 ]; then
  bash scripts/runc-suite.sh
fi
