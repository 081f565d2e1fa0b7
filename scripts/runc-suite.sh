#!/usr/bin/env bash
# The peer suite: runc's own integration tests (tests/integration/*.bats from
# Debian's runc source package) run under runc and under bunc on this host.
# Nothing of runc is kept in this repository: the source is fetched with
# `apt-get source runc` at test time into $BUNC_SUITE_WORK.
#
#   bash scripts/runc-suite.sh [--only FILE.bats]... [--runtime runc|bunc|both] [--bunc PATH] [--readme]
# (--readme: also put the table in README.md, between its runc-suite markers;
# --runtime bunc: compare with the runc TAP an earlier run left)
#
# Needs root on Debian 12. Writes the raw TAP to results/tmp/runc-suite/RUNTIME/,
# the table to results/runc-suite.md (a full run) or results/tmp/runc-suite.md
# (--only), and exits 1 when a test that passes under runc fails under bunc and
# is not in test/runc-suite-allow.json (scripts/runc-suite-report.ts decides).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

WORK=${BUNC_SUITE_WORK:-/var/tmp/bunc-runc-suite}
OUT=$REPO/results/tmp/runc-suite
BUNC=$REPO/dist/bunc
RUNTIMES=(runc bunc)
ONLY=()
README_FLAG=()
while [ $# -gt 0 ]; do
  case $1 in
  --only) ONLY+=("$(basename "$2")"); shift 2 ;;
  --runtime) [ "$2" = both ] || RUNTIMES=("$2"); shift 2 ;;
  --bunc) BUNC=$(readlink -f "$2"); shift 2 ;;
  --readme) README_FLAG=(--readme); shift ;;
  -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
  *) echo "runc-suite: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "runc-suite: needs root" >&2; exit 1; }
[ -x "$BUNC" ] || { echo "runc-suite: $BUNC is missing: run bun scripts/build.ts" >&2; exit 1; }
export PATH="$REPO/node_modules/.bin:$PATH"

log() { echo "runc-suite: $*" >&2; }

# --- Debian's runc source, its test tools and build dependencies ---
# apt-get source and build-dep need a deb-src entry (scripts/deb-src.sh adds one).
updated=
apt_update() { [ -n "$updated" ] || { apt-get update -qq; updated=1; }; }
bash "$REPO/scripts/deb-src.sh"

# bats and jq run the tests, gawk and iproute2 are used by helpers.bash and a
# few tests, gcc builds the tests' C programs (static, so libc6-dev), xz packs
# the images, busybox-static is the busybox image, golang-any and the Go
# packages of `apt-get build-dep runc` build the helper programs.
need=()
for pkg in bats jq gawk iproute2 gcc libc6-dev xz-utils busybox-static runc golang-any libseccomp-dev pkgconf dpkg-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Only when a Go package the helpers import is missing: build-dep is slow to resolve.
if [ ! -d /usr/share/gocode/src/github.com/containerd/console ] || [ ! -d /usr/share/gocode/src/github.com/coreos/go-systemd ]; then
  log "apt-get build-dep runc"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq runc >/dev/null
fi

mkdir -p "$WORK"
SRC=$(find "$WORK" -maxdepth 1 -type d -name 'runc-*' | sort | tail -1)
if [ -z "$SRC" ] || [ ! -f "$SRC/tests/integration/helpers.bash" ]; then
  log "apt-get source runc into $WORK"
  (cd "$WORK" && { apt-get source -qq runc >/dev/null 2>&1 || { apt_update && apt-get source -qq runc >/dev/null; }; })
  SRC=$(find "$WORK" -maxdepth 1 -type d -name 'runc-*' | sort | tail -1)
fi
[ -f "$SRC/tests/integration/helpers.bash" ] || { echo "runc-suite: no runc source in $WORK" >&2; exit 1; }
INT=$SRC/tests/integration

# --- helper programs (helpers.bash: recvtty, sd-helper, seccompagent) ---
# The Go module proxy is out of reach, so build in GOPATH mode against the Go
# packages Debian installs in /usr/share/gocode (as dh-golang builds runc itself).
GOP=$WORK/gopath
mkdir -p "$GOP/src/github.com/opencontainers"
ln -sfn "$SRC" "$GOP/src/github.com/opencontainers/runc"
for cmd in recvtty sd-helper seccompagent; do
  bin=$SRC/contrib/cmd/$cmd/$cmd
  [ -x "$bin" ] && continue
  log "building contrib/cmd/$cmd"
  (cd "$GOP/src/github.com/opencontainers/runc" &&
    GO111MODULE=off GOFLAGS= GOPATH="$GOP:/usr/share/gocode" GOCACHE="$WORK/gocache" \
      go build -tags seccomp -o "$bin" "./contrib/cmd/$cmd")
done

# --- images (get-images.sh downloads only what is missing from testdata/) ---
# A stamp beside each tarball says which recipe made it; a changed recipe remakes it.
IMAGE_RECIPE=2
arch=$(go env GOARCH)
BUSYBOX_TAR=$INT/testdata/busybox-$arch.tar.xz
DEBIAN_TAR=$INT/testdata/debian-$arch.tar.xz
if [ "$(cat "$BUSYBOX_TAR.bunc" 2>/dev/null)" != "$IMAGE_RECIPE" ]; then
  # Debian's busybox-static with one symlink per applet (scripts/rootfs.ts, as
  # bunc's own tests), laid out as the upstream busybox image: no /proc or /sys
  # (mask.bats replaces them with symlinks), a /home and a /var.
  log "making $BUSYBOX_TAR from busybox-static"
  d=$(mktemp -d "$WORK/busybox.XXXXXX")
  bun scripts/rootfs.ts "$d" >/dev/null
  rmdir "$d/rootfs/proc" "$d/rootfs/sys"
  mkdir -p "$d/rootfs/home" "$d/rootfs/var"
  tar -C "$d/rootfs" --owner=0 --group=0 -cJf "$BUSYBOX_TAR.tmp" .
  mv "$BUSYBOX_TAR.tmp" "$BUSYBOX_TAR"
  echo "$IMAGE_RECIPE" >"$BUSYBOX_TAR.bunc"
  rm -rf "$d"
fi
if [ "$(cat "$DEBIAN_TAR.bunc" 2>/dev/null)" != "$IMAGE_RECIPE" ]; then
  # Only hooks.bats runs the Debian image (sh -c "ldconfig -p | grep ...", and
  # ldconfig as a startContainer hook): sh, ldconfig and grep with their
  # libraries, unpacked from Debian's own packages, a minimal Debian rootfs.
  log "making $DEBIAN_TAR from Debian packages"
  d=$(mktemp -d "$WORK/debian.XXXXXX")
  debs=(libc6 libc-bin dash grep libpcre2-8-0)
  (cd "$d" && { apt-get download -qq "${debs[@]}" 2>/dev/null || { apt_update && apt-get download -qq "${debs[@]}"; }; })
  mkdir "$d/rootfs"
  for deb in "$d"/*.deb; do dpkg-deb -x "$deb" "$d/rootfs"; done
  [ -e "$d/rootfs/bin/sh" ] || ln -s dash "$d/rootfs/bin/sh"
  mkdir -p "$d/rootfs"/{dev,proc,sys,tmp,root,etc,usr/lib}
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$d/rootfs/etc/passwd"
  printf 'root:x:0:\n' >"$d/rootfs/etc/group"
  tar -C "$d/rootfs" --owner=0 --group=0 -cJf "$DEBIAN_TAR.tmp" .
  mv "$DEBIAN_TAR.tmp" "$DEBIAN_TAR"
  echo "$IMAGE_RECIPE" >"$DEBIAN_TAR.bunc"
  rm -rf "$d"
fi

# --- the runs ---
FILES=()
if [ ${#ONLY[@]} -gt 0 ]; then
  for f in "${ONLY[@]}"; do
    [ -f "$INT/$f" ] || { echo "runc-suite: no $INT/$f" >&2; exit 2; }
    FILES+=("$f")
  done
else
  for f in "$INT"/*.bats; do FILES+=("$(basename "$f")"); done
fi

# What a file may leave behind: mounts under its temp dir, the containers'
# cgroups below set_cgroups_path's parent (runc itself leaves that empty
# parent, /runc-cgroups-integration-test, in each hierarchy: removed at the end).
leftovers() {
  { awk -v t="$1/" 'index($5, t) == 1 {print "mount " $5}' /proc/self/mountinfo
    find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -path '*/runc-cgroups-integration-test/*' -printf 'cgroup %p\n' 2>/dev/null
    for d in $(private_cgroups "$(basename "$1")"); do
      [ -d "$d" ] && find "$d" -mindepth 1 -type d -printf 'cgroup %p\n'
    done
  } | sort || true
}

# The helper programs a test starts in the background (recvtty, seccompagent)
# name the file's temp dir in their arguments; one a failed test never killed
# would hold bats' output open, and bats would wait for it forever.
strays() { pgrep -f -- "contrib/cmd/(recvtty|seccompagent)/.*$1/" || true; }
watchdog() {
  local tap=$1 tmp=$2 plan p
  while sleep 5; do
    plan=$(sed -n '1s/^1\.\.//p' "$tap" 2>/dev/null)
    [ -n "$plan" ] && [ "$(grep -cE '^(ok|not ok) ' "$tap")" -ge "$plan" ] && break
  done
  # bats prints a test's result after its teardown: all are done.
  sleep 10
  for p in $(strays "$tmp"); do kill -9 "$p" 2>/dev/null || true; done
}

# A cgroup of the run's own below this process's cgroup in every hierarchy
# (cgroup v1 and the hybrid's unified one). Tests whose config has no
# cgroupsPath get the default, the container's id relative to the caller's
# cgroup, in runc as in bunc: test_busybox would be one cgroup for every run
# of the suite on this host at the same time. Not on a cgroup2-only host,
# where a parent holding processes could not enable controllers.
private_cgroups() {
  stat -fc %T /sys/fs/cgroup | grep -q cgroup2 && return
  awk -v name="$1" '
    FILENAME == "/proc/self/mountinfo" {
      n = index($0, " - "); split(substr($0, n + 3), a, " ")
      if (a[1] == "cgroup" || a[1] == "cgroup2") { mnt[++m] = $5; type[m] = a[1]; opts[m] = "," a[3] "," }
      next
    }
    {
      split($0, f, ":"); k = f[2]; p = f[3]; sub(/\/$/, "", p)
      for (i = 1; i <= m; i++) {
        if (k == "") { if (type[i] != "cgroup2") continue }
        else {
          if (type[i] != "cgroup") continue
          nk = split(k, c, ","); ok = 1
          for (j = 1; j <= nk; j++) if (index(opts[i], "," c[j] ",") == 0) ok = 0
          if (!ok) continue
        }
        print mnt[i] p "/" name
      }
    }' /proc/self/mountinfo /proc/self/cgroup
}
enter_private_cgroups() {
  local d
  for d in $(private_cgroups "$1"); do
    mkdir -p "$d"
    # A new v1 cpuset has no cpus or mems: nothing could join it.
    if [ -f "$d/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus")" ]; then
      cat "$(dirname "$d")/cpuset.cpus" >"$d/cpuset.cpus"
      cat "$(dirname "$d")/cpuset.mems" >"$d/cpuset.mems"
    fi
    echo "$BASHPID" >"$d/cgroup.procs"
  done
}

# Run one file under one runtime into DIR/FILE.tap (bats --filter PATTERN when given).
run_file() {
  local bin=$1 f=$2 dir=$3 filter=${4:-} tmp=$5 wd
  rm -f "$dir/$f.tap"
  watchdog "$dir/$f.tap" "$tmp" &
  wd=$!
  # Under script(1), as Debian's autopkgtest runs them: runc spec's config has
  # terminal: true, and a foreground run of it needs a controlling terminal.
  # A hung file is cut after 15 minutes (bats' own BATS_TEST_TIMEOUT cannot
  # be used: its timer is a background job, and tests that `wait` wait for it).
  (enter_private_cgroups "$(basename "$tmp")" && cd "$INT" && RUNC=$bin TMPDIR=$tmp F=$f FILTER=$filter TAP=$dir/$f.tap ERR=$dir/$f.stderr SHELL=/bin/sh \
    timeout -k 10 900 script -qec 'bats --tap ${FILTER:+--filter "$FILTER"} "$F" >"$TAP" 2>"$ERR"' /dev/null) </dev/null >/dev/null 2>&1 || true
  kill "$wd" 2>/dev/null || true
  wait "$wd" 2>/dev/null || true
  for p in $(strays "$tmp"); do kill -9 "$p" 2>/dev/null || true; done
}

# A temp dir of a runtime's own (TMPDIR → BATS_TMPDIR): helpers.bash puts the
# seccomp agent's socket right in it, and other runs of the suite on this
# host must not share that. 0755: userns.bats's mappings must traverse it.
fresh_tmp() { rm -rf "/tmp/bunc-suite.$1" && mkdir -m 0755 "/tmp/bunc-suite.$1" && echo "/tmp/bunc-suite.$1"; }

bin_of() { case $1 in runc) echo /usr/sbin/runc ;; bunc) echo "$BUNC" ;; *) echo "runc-suite: --runtime runc|bunc|both" >&2; exit 2 ;; esac; }

for rt in "${RUNTIMES[@]}"; do
  bin=$(bin_of "$rt")
  mkdir -p "$OUT/$rt"
  tmp=$(fresh_tmp "$rt")
  start=$(date +%s)
  for f in "${FILES[@]}"; do
    log "$rt: $f"
    before=$(leftovers "$tmp")
    run_file "$bin" "$f" "$OUT/$rt" "" "$tmp"
    left=$(comm -13 <(echo "$before") <(leftovers "$tmp"))
    if [ -n "$left" ]; then
      echo "$left" >"$OUT/$rt/$f.leftovers"
      log "$rt $f left behind: $(echo "$left" | tr '\n' ' ')"
    else
      rm -f "$OUT/$rt/$f.leftovers"
    fi
  done
  echo $(($(date +%s) - start)) >"$OUT/$rt/seconds"
  "$bin" --version | head -1 >"$OUT/$rt/version"
  rmdir "$tmp" 2>/dev/null || log "$tmp is not empty after the $rt run"
  for d in $(private_cgroups "$(basename "$tmp")"); do rmdir "$d" 2>/dev/null || log "$d is not empty after the $rt run"; done
done

# A test runc passes, bunc fails and the allow-list does not name runs once
# more under bunc, alone: one that passes then is reported as flaky, not failed.
report=(--tap "$OUT")
rm -rf "$OUT/bunc-retry"
if [ ${#RUNTIMES[@]} -eq 2 ]; then
  bun scripts/runc-suite-report.ts --tap "$OUT" --retry-list "$OUT/retry.tsv" "${FILES[@]}"
  mkdir -p "$OUT/bunc-retry"
  tmp=$(fresh_tmp bunc)
  while IFS=$'\t' read -r f filter; do
    log "bunc, again: $f: $filter"
    run_file "$BUNC" "$f" "$OUT/bunc-retry" "$filter" "$tmp"
  done <"$OUT/retry.tsv"
  rmdir "$tmp" 2>/dev/null || true
  for d in $(private_cgroups "$(basename "$tmp")"); do rmdir "$d" 2>/dev/null || true; done
  report+=(--retry "$OUT/bunc-retry")
fi

# set_cgroups_path's parents: runc leaves the top one in every hierarchy, and
# remove_parent forgets the pod ones in the hybrid's unified hierarchy; rmdir
# removes only a cgroup with no process and none below it.
for d in /sys/fs/cgroup/*/runc-cgroups-integration-test; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
done

if [ ${#ONLY[@]} -gt 0 ]; then report+=(--out "$REPO/results/tmp/runc-suite.md" --partial); else report+=(--out "$REPO/results/runc-suite.md" "${README_FLAG[@]}"); fi
bun scripts/runc-suite-report.ts "${report[@]}" --source "$(basename "$(ls "$WORK"/runc_*.dsc | tail -1)" .dsc)" "${FILES[@]}"
