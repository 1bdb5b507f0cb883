# Sourced by scripts/test-arm64.sh and scripts/test-node-matrix.sh: messages,
# apt-get installs, and Node binaries from the npm registry (node-linux-ARCH)
# cached under build/node-cache/ (gitignored).
# The caller sets SAY_PREFIX and has `set -euo pipefail`.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NODE_CACHE=${IOMUX_NODE_CACHE:-$ROOT/build/node-cache}

say() { printf '%s: %s\n' "$SAY_PREFIX" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# Installs missing Debian packages: apt_install "what it is for" pkg...
apt_install() {
  local why=$1 sudo=()
  shift
  command -v apt-get >/dev/null || die "$why is missing and there is no apt-get: install $* with your package manager"
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || die "$why is missing: install $* (needs root)"
    sudo=(sudo)
  fi
  say "$why is missing; installing it: apt-get install -y $*"
  # The lock timeout: another job on the machine may be installing too.
  "${sudo[@]}" apt-get install -y -o DPkg::Lock::Timeout=300 "$@" >&2 ||
    { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y -o DPkg::Lock::Timeout=300 "$@" >&2; } ||
    die "apt-get install -y $* failed"
}

# dir=$(fetch_node ARCH MAJOR): the directory of the newest node-linux-ARCH@MAJOR
# (bin/node, include/node). Once cached it is reused offline; IOMUX_NODE_REFRESH=1
# asks the registry again for a newer release of that major. Call it in $(...):
# its EXIT trap removes a half-done download.
fetch_node() {
  local arch=$1 major=$2 dir=$NODE_CACHE/linux-$1-$2 tmp tgz
  if [[ -x $dir/bin/node && -e $dir/include/node/node_api.h && ${IOMUX_NODE_REFRESH:-0} != 1 ]]; then
    printf '%s\n' "$dir"
    return
  fi
  mkdir -p "$NODE_CACHE" || die "cannot create $NODE_CACHE"
  tmp=$(mktemp -d "$NODE_CACHE/.fetch.XXXXXX")
  trap "rm -rf '$tmp'" EXIT
  say "downloading node-linux-$arch@$major from the npm registry (npm pack) into $NODE_CACHE"
  # npm pack checks the tarball against the registry's integrity hash.
  tgz=$(cd "$tmp" && npm pack --loglevel=error "node-linux-$arch@$major" | tail -n 1) ||
    die "npm pack node-linux-$arch@$major failed (is the npm registry reachable?)"
  tar xzf "$tmp/$tgz" -C "$tmp" || die "cannot unpack $tgz"
  [[ -x $tmp/package/bin/node && -e $tmp/package/include/node/node_api.h ]] ||
    die "$tgz has no bin/node or include/node/node_api.h"
  printf '%s\n' "${tgz%.tgz}" >"$tmp/package/FROM"
  rm -rf "$dir" && mv "$tmp/package" "$dir" || die "cannot move the unpacked Node into $dir"
  say "cached $(cat "$dir/FROM") in $dir"
  printf '%s\n' "$dir"
}

# pack_packages DIR: the four workspaces' tarballs (npm pack) into DIR.
pack_packages() {
  (cd "$ROOT" && npm pack --ignore-scripts --loglevel=error --pack-destination "$1" \
    -w @iomux/core-native -w @iomux/select -w @iomux/selectors -w @iomux/loop >/dev/null) || return 1
  local t=("$1"/iomux-*.tgz)
  ((${#t[@]} == 4)) || { say "npm pack made ${#t[@]} tarballs in $1, not 4"; return 1; }
}

# make_smoke_app APP TARBALL_DIR: an app depending on the tarballs, with the
# smoke (scripts/smoke/smoke.{cjs,mjs} and what they require); not yet installed.
make_smoke_app() {
  mkdir -p "$1" && cp "$ROOT"/scripts/smoke/* "$1/" || return 1
  node -e '
    const fs = require("fs"), path = require("path");
    const [app, dir] = process.argv.slice(1);
    const dependencies = {};
    for (const t of fs.readdirSync(dir).filter((f) => /^iomux-.*\.tgz$/.test(f)))
      dependencies["@iomux/" + t.replace(/^iomux-(.*)-[^-]+\.tgz$/, "$1")] = "file:" + path.join(dir, t);
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "iomux-smoke-app", version: "1.0.0", private: true, dependencies }, null, 2));
  ' "$1" "$2"
}

# Seconds since $1 (a $SECONDS value), as "N s".
took() { printf '%d s' $((SECONDS - $1)); }
