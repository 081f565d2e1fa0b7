#!/usr/bin/env bash
# Make `apt-get source` work on Debian 12: add a deb-src entry for bookworm, with
# the same mirrors and keyring as the deb entries Debian 12 ships, when there is
# none, and update the package lists then. Used by scripts/runc-suite.sh (runc's
# source) and test/clients/cri.ts (containerd's source, for the CRI api.proto).
set -euo pipefail
has_deb_src() {
  grep -rqsE '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/ 2>/dev/null ||
    grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
}
has_deb_src && exit 0
echo "deb-src: adding /etc/apt/sources.list.d/bunc-src.sources (deb-src for bookworm)" >&2
cat >/etc/apt/sources.list.d/bunc-src.sources <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt-get update -qq
