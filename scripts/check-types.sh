#!/usr/bin/env bash
# scripts/check-types.sh: the emitted .d.ts of every package compile for a
# consumer on TypeScript 5.0 (the oldest the READMEs promise) and on the
# repository's own TypeScript, with `module: node16` (CommonJS and ESM) and
# with `moduleResolution: bundler`, strict and without skipLibCheck (which
# would skip our .d.ts too).
#
# It packs the four packages with `npm pack` and installs the tarballs, with
# typescript@5.0 and @types/node@20 from the registry, into a temporary app
# (never into the repository). Install scripts are skipped there: types need
# no addon, and scripts/test-install.sh installs the addon for real.
# Environment: IOMUX_TS_FLOOR (default 5.0), KEEP_TMP=1 (keep the app).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FLOOR=${IOMUX_TS_FLOOR:-5.0}
PACKAGES=(core-native select selectors loop)
START=$SECONDS

say() { echo "check-types: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/iomux-check-types.XXXXXX")
if [[ ${KEEP_TMP:-} == 1 ]]; then
  say "keeping $TMP"
else
  trap 'rm -rf "$TMP"' EXIT
fi

say "building the TypeScript (tsc -b)"
(cd "$ROOT" && npx tsc -b packages/loop) || die "tsc -b failed"

mkdir -p "$TMP/packs" "$TMP/app"
for p in "${PACKAGES[@]}"; do
  (cd "$ROOT/packages/$p" && npm pack --silent --pack-destination "$TMP/packs" >/dev/null) || die "npm pack failed in packages/$p"
done

cd "$TMP/app"
echo '{ "name": "iomux-types-consumer", "private": true }' >package.json
say "installing typescript@$FLOOR, @types/node@20 and the tarballs"
npm install --silent --no-audit --no-fund --ignore-scripts \
  "typescript@$FLOOR" "@types/node@20" "$TMP"/packs/*.tgz || die "npm install failed"

# One consumer, compiled as CommonJS (.ts), as ESM (.mts) and for a bundler:
# it touches every package's main types, the iterators and Disposable.
cat >consumer.ts <<'EOF'
import { os, Socket, socketpair, OSError, type FdHandle } from '@iomux/core-native';
import { BlockingIOError } from '@iomux/core-native/error-classes';
import { select, poll, epoll, Epoll, EPOLLIN, POLLIN, type FileLike } from '@iomux/select';
import { DefaultSelector, EpollSelector, EVENT_READ, SelectorKey, type Ready } from '@iomux/selectors';
import { EventLoop, startServer, openConnection, StreamReader, StreamWriter, type Transport } from '@iomux/loop';

export async function consume(): Promise<string> {
  const [r, w]: [number, number] = os.pipe();
  const ep: Epoll | undefined = epoll?.();
  ep?.register(r, EPOLLIN);
  const p = poll();
  p.register(r, POLLIN);
  const ready: [number[], number[], number[]] = select([r], [], [], 0) as [number[], number[], number[]];
  const sel = new DefaultSelector<string>();
  const key: SelectorKey<string> = sel.register(r, EVENT_READ, 'pipe');
  const events: Ready<string> = await sel.selectAsync(0);
  const map = sel.getMap();
  const fds: number[] = [];
  if (map !== null) {
    for (const [fd, k] of map) fds.push(fd, k.events);
    for (const k of map.values()) fds.push(k.fd);
    fds.push(...map.keys());
    for (const [fd] of map.entries()) fds.push(fd);
  }
  sel[Symbol.dispose]();
  ep?.[Symbol.dispose]();
  const Sel: typeof EpollSelector = EpollSelector;
  const [a, b]: [Socket, Socket] = socketpair();
  a[Symbol.dispose]();
  b.close();
  const loop = new EventLoop();
  const server = await loop.runUntilComplete(() =>
    startServer((reader: StreamReader, writer: StreamWriter) => reader.read(1).then((d: Buffer) => writer.write(d)), '127.0.0.1', 0));
  const conn: Promise<[StreamReader, StreamWriter]> = openConnection('127.0.0.1', 1);
  void conn.catch((e: unknown) => e instanceof OSError);
  server.close();
  await server[Symbol.asyncDispose]();
  loop.close();
  const t: Transport | null = null;
  const f: FileLike = r;
  const h: FdHandle | null = null;
  const e = new BlockingIOError();
  os.close(w);
  return [ready, key, events, fds, Sel, t, f, h, e].map(String).join();
}
EOF
cp consumer.ts consumer.mts

write_tsconfig() { # name module moduleResolution file
  cat >"$1" <<EOF
{
  "compilerOptions": {
    "strict": true, "target": "ES2022", "lib": ["ES2022"], "types": ["node"],
    "module": "$2", "moduleResolution": "$3",
    "skipLibCheck": false, "noEmit": true
  },
  "files": ["$4"]
}
EOF
}
write_tsconfig node16-cjs.json node16 node16 consumer.ts
write_tsconfig node16-esm.json node16 node16 consumer.mts
write_tsconfig bundler.json esnext bundler consumer.ts

FAILED=0
for tsc in "$TMP/app/node_modules/.bin/tsc" "$ROOT/node_modules/.bin/tsc"; do
  version=$("$tsc" -v)
  for config in node16-cjs node16-esm bundler; do
    if out=$("$tsc" -p "$config.json" 2>&1); then
      say "ok: $version, $config"
    else
      say "not ok: $version, $config"
      echo "$out" | head -n 40 >&2
      FAILED=$((FAILED + 1))
    fi
  done
done
((FAILED == 0)) || die "$FAILED of 6 compilations failed"
say "passed: the packed types compile on TypeScript $FLOOR and $("$ROOT/node_modules/.bin/tsc" -v | cut -d' ' -f2) ($((SECONDS - START)) s)"
