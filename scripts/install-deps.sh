#!/usr/bin/env bash
# Install what building and testing bunc needs on a fresh Debian 12 machine, as root:
# gcc (the build compiles the C executor into executor.so),
# Debian's busybox-static (test rootfs), runc (the reference runtime the tests compare
# with), containers-common (podman's default seccomp profile for the seccomp tests),
# podman + conmon and containerd (the clients test/clients drives; script(1)
# from bsdutils gives ctr run -t a terminal), what the benchmark's smoke test runs
# (hyperfine, strace, time, perl; crun for its third column), and the npm packages
# (bun itself comes from the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in busybox-static runc gcc libc6-dev libseccomp2 golang-github-containers-common podman conmon containerd bsdutils hyperfine strace time perl crun; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# npm ci again whenever package-lock.json changed since the last install.
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
