#!/usr/bin/env bash
# npm run prebuildify: Node-API prebuilds of @iomux/core-native (prebuildify
# --napi --strip --tag-libc, so one binary serves every Node >= 20) into
# packages/core-native/prebuilds/<platform>-<arch>/, where node-gyp-build
# finds them:
#   linux-x64    built here with the system compiler;
#   linux-arm64  cross-compiled with Debian's g++-aarch64-linux-gnu
#                (apt-get installs it when missing and this runs as root).
# Each build runs in a temporary copy of binding.gyp (sources through a
# symlink), so the package's own build/ (the local addon) is left alone.
#
#   bash scripts/prebuild.sh [x64] [arm64]     (default: both)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKG=$ROOT/packages/core-native
say() { printf 'prebuild: %s\n' "$*" >&2; }
die() { printf 'prebuild: FAILED: %s\n' "$*" >&2; exit 1; }

ARCHES=("$@")
(( ${#ARCHES[@]} > 0 )) || ARCHES=(x64 arm64)
for a in "${ARCHES[@]}"; do
  [[ $a == x64 || $a == arm64 ]] || die "unknown arch '$a' (x64 or arm64)"
done
[[ $(uname -s) == Linux ]] || die "prebuilds are made on Linux (this is $(uname -s))"
[[ $(uname -m) == x86_64 ]] || die "prebuilds are made on an x86_64 host (this is $(uname -m))"

PREBUILDIFY=$ROOT/node_modules/.bin/prebuildify
[[ -x $PREBUILDIFY ]] || die "prebuildify is not installed (npm ci at the repository root)"
# npm's own node-gyp when run through npm (it puts it on PATH), else the workspace's.
NODE_GYP=$(command -v node-gyp || true)
[[ -n $NODE_GYP ]] || NODE_GYP=$ROOT/node_modules/.bin/node-gyp
[[ -x $NODE_GYP ]] || die "no node-gyp (run this through npm: npm run prebuildify)"
# Headers of the running Node (offline): a Node tarball's own, else the system's.
NODEDIR=${npm_config_nodedir:-}
if [[ -z $NODEDIR ]]; then
  for d in "$(dirname "$(dirname "$(command -v node)")")" /usr; do
    [[ -e $d/include/node/node_api.h ]] && { NODEDIR=$d; break; }
  done
fi
[[ -n $NODEDIR ]] || die "no Node headers (include/node/node_api.h) next to node or in /usr"
NODE_VERSION=$(node -p process.versions.node)

need_tool() { # need_tool COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "$1 is missing: apt-get install -y $2"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 "$2" >&2 \
      || { apt-get update -o DPkg::Lock::Timeout=300 >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 "$2" >&2; } \
      || die "apt-get install $2 failed"
  fi
  command -v "$1" >/dev/null || die "$1 not found: install $2 (Debian: apt-get install -y $2)"
}
need_tool file file

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/iomux-prebuild.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

build_arch() { # build_arch ARCH: prebuildify in a fresh stage, then copy into the package
  local arch=$1 dir=$STAGE/$1 want
  local -a env=(npm_config_nodedir="$NODEDIR" JOBS=max PREBUILD_NODE_GYP="$NODE_GYP")
  local -a args=(--napi --strip --tag-libc --target "$NODE_VERSION" --arch "$arch" --cwd "$dir")
  mkdir -p "$dir"
  # binding.gyp with its <!(node -p ...) paths made absolute, as they are evaluated in the stage.
  node -e '
    const fs = require("fs"), path = require("path"), { execFileSync } = require("child_process");
    const [pkg, out] = process.argv.slice(1);
    const abs = (s) => s.replace(/<!\(node -p "(.*?)"\)/g, (_, e) => path.resolve(pkg, execFileSync(process.execPath, ["-p", e], { cwd: pkg, encoding: "utf8" }).trim()));
    const gyp = JSON.parse(fs.readFileSync(path.join(pkg, "binding.gyp"), "utf8"));
    for (const t of gyp.targets) {
      t.include_dirs = (t.include_dirs || []).map(abs);
      t.dependencies = (t.dependencies || []).map(abs);
    }
    fs.writeFileSync(out, JSON.stringify(gyp, null, 2));
  ' "$PKG" "$dir/binding.gyp" || die "cannot write the staged binding.gyp"
  ln -s "$PKG/native" "$dir/native"
  if [[ $arch == x64 ]]; then
    want='x86-64'
  else
    want='ARM aarch64'
    need_tool aarch64-linux-gnu-g++ g++-aarch64-linux-gnu
    env+=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar)
    args+=(--strip-bin aarch64-linux-gnu-strip)
  fi
  say "linux-$arch: prebuildify ${args[*]}"
  local t0=$SECONDS
  env "${env[@]}" "$PREBUILDIFY" "${args[@]}" >"$dir.log" 2>&1 || { tail -n 40 "$dir.log" >&2; die "linux-$arch: prebuildify failed (log above)"; }
  local built=("$dir"/prebuilds/linux-"$arch"/*.node)
  [[ -e ${built[0]} ]] || die "linux-$arch: prebuildify made no .node file"
  local desc
  desc=$(file -b "${built[0]}")
  [[ $desc == *"ELF 64-bit"*"$want"* ]] || die "linux-$arch: $(basename "${built[0]}") is not a 64-bit $want ELF: $desc"
  if LC_ALL=C grep -q bench_ "${built[0]}"; then die "linux-$arch: the bench-only code is in the binary"; fi
  (( ${#built[@]} == 1 )) || die "linux-$arch: more than one .node file: ${built[*]}"
  # Tagged napi as well, so node-gyp-build also offers it to runtimes other than Node (Electron).
  local name=node.napi.glibc.node
  rm -rf "$PKG/prebuilds/linux-$arch"
  mkdir -p "$PKG/prebuilds/linux-$arch"
  cp "${built[0]}" "$PKG/prebuilds/linux-$arch/$name"
  say "linux-$arch: prebuilds/linux-$arch/$name ($(stat -c %s "${built[0]}") bytes, $((SECONDS - t0)) s): $desc"
}

for arch in "${ARCHES[@]}"; do build_arch "$arch"; done

# The x64 prebuild must load here and export the syscall layer.
if [[ " ${ARCHES[*]} " == *" x64 "* ]]; then
  node -e '
    const m = require(process.argv[1]);
    if (typeof m.select !== "function" || typeof m.epoll_wait !== "function") throw new Error("exports missing");
  ' "$(ls "$PKG"/prebuilds/linux-x64/*.node | head -n 1)" || die "the linux-x64 prebuild does not load in Node $NODE_VERSION"
  say "linux-x64: loads in Node $NODE_VERSION"
fi
say "done: $(cd "$PKG" && ls prebuilds/*/*.node | tr '\n' ' ')"
