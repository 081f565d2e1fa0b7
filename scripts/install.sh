#!/usr/bin/env bash
# Install a built bunc: scripts/install.sh [PREFIX] (default /usr/local; DESTDIR honoured).
#   PREFIX/bin/bunc                                   the executable, never stripped
#   PREFIX/share/man/man1/bunc.1, bunc-VERB.1         man pages
#   PREFIX/share/bash-completion/completions/bunc     bash
#   PREFIX/share/zsh/site-functions/_bunc             zsh
#   PREFIX/share/fish/vendor_completions.d/bunc.fish  fish
# Build first (bun scripts/build.ts, or bash scripts/demo.sh). A compiled Bun
# executable keeps its code in a section that strip(1) removes: a stripped
# bunc is plain Bun (its --version prints Bun's). So this script copies the
# file as it is and refuses one that no longer says it is bunc.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-/usr/local}"
dest="${DESTDIR:-}$prefix"
[ -x dist/bunc ] || { echo "install: dist/bunc is missing: build it first (bun scripts/build.ts)" >&2; exit 1; }
version=$(./dist/bunc --version 2>/dev/null | head -n 1 || true)
case "$version" in
  "bunc version "*) ;;
  *) echo "install: dist/bunc is not bunc (its --version says '${version}'): was it stripped? rebuild it and never strip it" >&2; exit 1 ;;
esac
install -d "$dest/bin" "$dest/share/man/man1" "$dest/share/bash-completion/completions" "$dest/share/zsh/site-functions" "$dest/share/fish/vendor_completions.d"
install -m 0755 dist/bunc "$dest/bin/bunc"
install -m 0644 dist/man/man1/*.1 "$dest/share/man/man1/"
install -m 0644 dist/completions/bunc.bash "$dest/share/bash-completion/completions/bunc"
install -m 0644 dist/completions/_bunc "$dest/share/zsh/site-functions/_bunc"
install -m 0644 dist/completions/bunc.fish "$dest/share/fish/vendor_completions.d/bunc.fish"
echo "installed $version to $dest/bin/bunc (man pages and completions under $dest/share)"
