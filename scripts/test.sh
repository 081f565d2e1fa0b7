#!/usr/bin/env bash
# Install, build, and run the whole test suite (unit, integration as root, clients).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
tsc --noEmit -p .
bun scripts/build.ts
bun test --timeout 60000 "$@"
