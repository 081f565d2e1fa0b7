#!/usr/bin/env bash
# Install what bunc needs on a fresh Debian 12 machine, as root.
#   scripts/install-deps.sh --demo   building bunc and running one container:
#       node and npm (Debian's nodejs/npm when the machine has none: bun itself
#       comes from the npm registry), gcc + libc6-dev (the build compiles the C
#       executor into executor.so), busybox-static (the demo's rootfs).
#   scripts/install-deps.sh          everything the test suite needs, on top:
#       runc (the reference runtime the tests compare with), libseccomp2,
#       containers-common (podman's default seccomp profile), podman + conmon and
#       containerd (the clients test/clients drives; script(1) from bsdutils gives
#       ctr run -t a terminal), the benchmark smoke test's hyperfine, strace, time,
#       perl and crun, and zsh + fish (the generated completions are loaded by them),
#       systemd + dbus (the systemd cgroup driver's tests boot a systemd of their own);
#       xz-utils unpacks containerd's source for the CRI tests' api.proto, whose pods
#       get their network from containernetworking-plugins (and iproute2's ip).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(gcc libc6-dev busybox-static)
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
if [ "${1:-}" != "--demo" ]; then
  pkgs+=(runc libseccomp2 golang-github-containers-common podman conmon containerd bsdutils hyperfine strace time perl crun zsh fish systemd dbus xz-utils containernetworking-plugins iproute2)
  pkgs+=(umoci python3) # test/integration/image.test.ts compares with umoci unpack; python3 reads xattrs
fi
need=()
for pkg in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Docker 20.10's seccomp profiles (its default, its old-format one) for the seccomp tests: two files of Debian's package, not its 33 Go dependencies.
D=/usr/local/share/bunc-test/docker-seccomp; [ "${1:-}" = "--demo" ] || [ -e $D/default.json ] || (t=$(mktemp -d) && cd "$t" && apt-get download -qq golang-github-docker-docker-dev 2>/dev/null && mkdir -p $D && dpkg-deb --fsys-tarfile ./*.deb | tar -x -C $D --strip-components=10 ./usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/{default.json,fixtures/default-old-format.json}; rm -rf "$t")
# npm ci again whenever package-lock.json changed since the last install.
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
