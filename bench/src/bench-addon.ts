/**
 * The benchmarks' own addon (bench/addon: bench.cc, iomux_bench.node): the
 * syscalls looped in C, kept out of the shipped @iomux/core-native binary.
 * Built with node-gyp on first use, and again when bench.cc or its
 * binding.gyp is newer than the build.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What bench.cc exports; each looped helper returns the elapsed nanoseconds for `iters` iterations. */
export interface BenchAddon {
  bench_noop(a?: unknown, b?: unknown, c?: unknown, d?: unknown): number;
  bench_arg_int32array(a: Int32Array): number;
  bench_arg_int32array_capi(a: Int32Array): number;
  bench_last_result(): number;
  bench_poll(pollfds: Int32Array, nfds: number, iters: number): number;
  bench_select(fds: Int32Array, iters: number): number;
  bench_epoll_wait?(epfd: number, maxevents: number, iters: number): number;
  bench_epoll_wait_once?(epfd: number, maxevents: number): number;
  bench_epoll_ctl?(epfd: number, fds: Int32Array, iters: number): number;
}

const DIR = path.resolve(__dirname, '..', 'addon');
const OUT = path.join(DIR, 'build', 'Release', 'iomux_bench.node');
const SOURCES = ['bench.cc', 'binding.gyp', path.join('..', '..', 'packages', 'core-native', 'native', 'errno.cc')];

function stale(): boolean {
  if (!fs.existsSync(OUT)) return true;
  const built = fs.statSync(OUT).mtimeMs;
  return SOURCES.some((f) => fs.statSync(path.join(DIR, f)).mtimeMs > built);
}

/** npm's own node-gyp (set for every npm script), else the workspace's. */
function nodeGyp(): string {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm !== undefined && fs.existsSync(fromNpm)) return fromNpm;
  return require.resolve('node-gyp/bin/node-gyp.js', { paths: [path.resolve(__dirname, '..', '..', 'packages', 'core-native')] });
}

let loaded: BenchAddon | undefined;

/** Builds bench/addon if needed and loads it. */
export function benchAddon(): BenchAddon {
  if (loaded !== undefined) return loaded;
  if (stale()) {
    const args = [nodeGyp(), 'rebuild', '--release', '-j', 'max'];
    // Offline: the installed Node's headers, as core-native's build does.
    if (process.env.npm_config_nodedir === undefined && fs.existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
    const r = spawnSync(process.execPath, args, { cwd: DIR, encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0 || !fs.existsSync(OUT)) {
      throw new Error(`building bench/addon (node-gyp rebuild) failed: ${r.error?.message ?? ''}${r.stdout}${r.stderr}`);
    }
  }
  loaded = require(OUT) as BenchAddon;
  return loaded;
}
