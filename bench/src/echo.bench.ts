/**
 * `npm run bench:echo` (also the second half of `npm run bench`): TCP echo
 * servers side by side, driven in turn by one C load generator.
 *
 * Servers: iomux's loop protocol echo server (on a Protocol, and with
 * `--buffered` on a BufferedProtocol) and streams echo server (the
 * examples, `--backend epoll`), a Node `net` echo server
 * (node-net-echo-server.ts) and a plain C epoll echo server
 * (bench/native/echo-server.c: the practical limit), and the echo server
 * of Python's selectors docs twice: ported onto @iomux/selectors (the
 * selectors-echo-server example) and on CPython
 * (bench/python/selectors_echo_server.py, skipped with a note where no
 * python3 runs). The load generator is
 * bench/native/echo-load.c (single-threaded epoll, ping-pong, every echoed
 * byte verified). Both C tools are compiled with `cc -O2` into bench/build/
 * at the start of the run.
 *
 * For every round x pinning mode x (connections x message size) x server
 * (servers interleaved, their order rotated every time), a fresh server
 * process is started under `taskset -c 0` and the load generator runs under
 * `taskset -c 1` (cross-CPU) or `taskset -c 0` (same CPU). The load
 * generator counts BENCH_ECHO_SECONDS after BENCH_ECHO_WARMUP seconds of
 * warm-up and reads the server's CPU time (utime + stime of /proc/PID/stat:
 * every thread of the process) and its own at the window's edges.
 *
 * Figures are medians over rounds; ratios are medians of per-round ratios
 * (each round's servers ran back to back).
 *
 * Other processes: the load generator also reads the busy and steal time of
 * the pinned CPUs (/proc/stat) at the window's edges. Busy time not taken by
 * the server or the load generator is "other" load (other people's builds
 * and tests on a shared machine); a run where it exceeds BENCH_ECHO_MAX_OTHER
 * percent (default 10) of the pinned CPUs is thrown away and run again, up
 * to BENCH_ECHO_RETRIES (default 3) times; the last try is kept, and the
 * tables show the other load of the runs they use. Before each run the
 * driver also waits (up to 3 s) for the pinned CPUs to be that quiet. Waits
 * and retries together stop once they have cost BENCH_ECHO_MAX_EXTRA_S
 * (default 150) seconds.
 *
 * Settings (environment): BENCH_ECHO_SECONDS (1.5), BENCH_ECHO_WARMUP (2),
 * BENCH_ECHO_ROUNDS (3), BENCH_ECHO_VERDICT_ROUNDS (7: the rounds of the
 * 64 connections x 64 B configuration and of 1 connection x 64 B on one
 * CPU, which the verdicts read; the extra rounds run after the others),
 * BENCH_ECHO_CONNS ("1,64,1000"), BENCH_ECHO_SIZES ("64,4096"),
 * BENCH_ECHO_PINNING ("cross,same"), BENCH_ECHO_SERVERS
 * ("protocol,buffered,streams,node-net,c,selectors,selectors-blocking,
 * py-selectors"; add "uvloop" and "asyncio" for the Python references of bench/python/echo_server.py,
 * interpreter from BENCH_PYTHON; "protocol-syscalls" for the protocol server
 * with IOMUX_URING=0), BENCH_ECHO_MAX_OTHER
 * (10), BENCH_ECHO_RETRIES (3), BENCH_ECHO_MAX_EXTRA_S (150), CC (cc).
 */
import * as fs from 'node:fs';
import { envList, envNumber } from './env.js';
import { med, pairedRatio, ratio, sizeLabel, waitQuiet, type Sample } from './echo-stats.js';
import { isVerdictConfig, verdictsFor } from './echo-verdicts.js';
import {
  ALL_SERVERS, allowedCpus, CC, compile, fmt, hasTaskset, LOAD_CPU_CROSS, log, pythonFor, pythonVersions, ROOT, runLoad,
  SERVER_CPU, startServer, stopServer, type LoadResult, type ServerDef,
} from './servers.js';
import { runMain, saveResults } from './run-main.js';

// ---------------------------------------------------------------- settings

const SECONDS = envNumber('BENCH_ECHO_SECONDS', 1.5);
// 2 s: V8 is still optimizing the JS servers' hot paths 1.5-1.8 s into the
// load (see the README's Load generator section).
const WARMUP = envNumber('BENCH_ECHO_WARMUP', 2);
const ROUNDS = Math.max(1, Math.round(envNumber('BENCH_ECHO_ROUNDS', 3)));
/**
 * Rounds of the configurations the req/s and CPU verdicts read (see
 * isVerdictConfig): single runs swing by tens of percent here, so the
 * verdicts get more rounds than the rest of the tables.
 */
const VERDICT_ROUNDS = Math.max(ROUNDS, Math.round(envNumber('BENCH_ECHO_VERDICT_ROUNDS', 7)));
const CONNS = envList('BENCH_ECHO_CONNS', '1,64,1000').map(Number);
const SIZES = envList('BENCH_ECHO_SIZES', '64,4096').map(Number);
const MAX_OTHER = envNumber('BENCH_ECHO_MAX_OTHER', 10);
const RETRIES = Math.round(Number(process.env.BENCH_ECHO_RETRIES ?? 3));
const MAX_EXTRA_MS = Number(process.env.BENCH_ECHO_MAX_EXTRA_S ?? 150) * 1000;

interface Pinning {
  key: string;
  label: string;
  serverCpu: string | null;
  loadCpu: string | null;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const t0 = Date.now();
  const wanted = envList('BENCH_ECHO_SERVERS', 'protocol,buffered,streams,node-net,c,selectors,selectors-blocking,py-selectors');
  const servers: ServerDef[] = [];
  for (const s of ALL_SERVERS.filter((d) => wanted.includes(d.key))) {
    if (s.python === undefined) {
      servers.push(s);
      continue;
    }
    const py = pythonFor(s.python);
    if (py === null) {
      const hint = s.python === 'uvloop' ? '; Debian: apt install python3-uvloop' : '';
      log(`${s.label}: no Python here imports ${s.python} (set BENCH_PYTHON${hint}): skipped`);
    } else servers.push({ ...s, cmd: py, label: `${s.label} ${pythonVersions(py, s.python)}` });
  }
  for (const s of servers) {
    if (s.cmd === process.execPath && !fs.existsSync(s.args[0]!)) {
      throw new Error(`${s.args[0]} is missing: build first (npm run build)`);
    }
  }

  log('# echo benchmark');
  log('');
  const loadBin = compile('echo-load');
  if (servers.some((s) => s.key === 'c')) compile('echo-server');
  log(`compiled bench/build/echo-server and bench/build/echo-load with ${CC} -O2`);

  let pinnings: Pinning[];
  const modes = envList('BENCH_ECHO_PINNING', 'cross,same');
  const cpus = allowedCpus();
  if (!hasTaskset()) {
    log('taskset (util-linux) is missing: running everything UNPINNED');
    pinnings = [{ key: 'unpinned', label: 'unpinned (no taskset)', serverCpu: null, loadCpu: null }];
  } else {
    pinnings = [];
    for (const m of modes) {
      if (m === 'cross') {
        if (cpus !== null && !(cpus.includes(0) && cpus.includes(1))) {
          log('CPUs 0 and 1 are not both available: skipping the cross-CPU mode');
          continue;
        }
        pinnings.push({ key: 'cross', label: `cross-CPU (server CPU ${SERVER_CPU}, load generator CPU ${LOAD_CPU_CROSS})`, serverCpu: SERVER_CPU, loadCpu: LOAD_CPU_CROSS });
      } else if (m === 'same') {
        pinnings.push({ key: 'same', label: `same CPU (server and load generator on CPU ${SERVER_CPU})`, serverCpu: SERVER_CPU, loadCpu: SERVER_CPU });
      } else {
        throw new Error(`BENCH_ECHO_PINNING: unknown mode ${m} (cross, same)`);
      }
    }
  }

  const configs: { conns: number; size: number }[] = [];
  for (const conns of CONNS) for (const size of SIZES) configs.push({ conns, size });
  let verdictConfigs = 0;
  for (const p of pinnings) verdictConfigs += configs.filter((c) => isVerdictConfig(p.key, c.conns, c.size)).length;
  const extraRounds = verdictConfigs > 0 ? VERDICT_ROUNDS - ROUNDS : 0;
  const runs = (ROUNDS * configs.length * pinnings.length + extraRounds * verdictConfigs) * servers.length;
  log(
    `${servers.length} servers x ${configs.length} configs x ${pinnings.length} pinning modes x ${ROUNDS} rounds` +
      (extraRounds > 0 ? ` (64 conns 64 B, and 1 conn 64 B on one CPU: ${VERDICT_ROUNDS} rounds)` : '') +
      ` = ${runs} runs of ${WARMUP} s warm-up + ${SECONDS} s measured (about ${Math.ceil((runs * (WARMUP + SECONDS + 0.3)) / 60)} min)`,
  );
  log('');

  // results[pinning][config][server] = samples, one per round
  const results = new Map<string, Sample[]>();
  const keyOf = (p: string, conns: number, size: number, s: string): string => `${p}|${conns}|${size}|${s}`;
  let failures = 0;
  let runNo = 0;
  let retried = 0;
  let contaminated = 0;
  let extraMs = 0;

  for (let round = 0; round < ROUNDS + extraRounds; round++) {
    for (const pin of pinnings) {
      for (let ci = 0; ci < configs.length; ci++) {
        const { conns, size } = configs[ci]!;
        if (round >= ROUNDS && !isVerdictConfig(pin.key, conns, size)) continue;
        const rot = (round + ci) % servers.length;
        const order = [...servers.slice(rot), ...servers.slice(0, rot)];
        const parts: string[] = [];
        for (const def of order) {
          runNo++;
          const pinned = [...new Set([pin.serverCpu, pin.loadCpu].filter((c): c is string => c !== null))];
          let sample: Sample;
          for (let attempt = 0; ; attempt++) {
            if (extraMs < MAX_EXTRA_MS) extraMs += await waitQuiet(pinned, Math.min(3000, MAX_EXTRA_MS - extraMs), MAX_OTHER);
            const tRun = Date.now();
            try {
              const srv = await startServer(def, pin.serverCpu);
              let r: LoadResult;
              try {
                r = await runLoad(loadBin, pin.loadCpu, srv.port, srv.child.pid!, conns, size, pinned, { warmup: WARMUP, seconds: SECONDS, slack: 60 });
              } finally {
                await stopServer(srv);
              }
              const window = r.seconds * 1e6 * pinned.length;
              sample = {
                rps: r.rps,
                p50: r.p50_us,
                p99: r.p99_us,
                serverCpu: r.messages > 0 && r.server_cpu_us >= 0 ? r.server_cpu_us / r.messages : NaN,
                loadCpu: r.messages > 0 ? r.load_cpu_us / r.messages : NaN,
                other: window > 0 ? Math.max(0, (100 * (r.cpus_busy_us - r.server_cpu_us - r.load_cpu_us)) / window) : NaN,
                steal: window > 0 ? (100 * r.cpus_steal_us) / window : NaN,
                errors: r.errors,
                messages: r.messages,
                stalled: r.stalled,
                connectMs: r.connect_ms,
                ...(r.error !== undefined ? { error: r.error } : {}),
              };
            } catch (e) {
              sample = {
                rps: NaN, p50: NaN, p99: NaN, serverCpu: NaN, loadCpu: NaN, other: NaN, steal: NaN,
                errors: 1, messages: 0, stalled: 0, connectMs: NaN, error: (e as Error).message,
              };
            }
            const busy = sample.other + sample.steal;
            if (sample.errors > 0 || !(busy > MAX_OTHER) || attempt >= RETRIES || extraMs >= MAX_EXTRA_MS) {
              if (busy > MAX_OTHER) contaminated++;
              break;
            }
            retried++;
            extraMs += Date.now() - tRun;
          }
          if (sample.errors > 0) {
            failures++;
            log(`  ERROR ${def.label} ${conns} conns ${sizeLabel(size)} ${pin.key}: ${sample.errors} errors: ${sample.error ?? ''}`);
          }
          const k = keyOf(pin.key, conns, size, def.key);
          if (!results.has(k)) results.set(k, []);
          results.get(k)!.push(sample);
          parts.push(`${def.key} ${fmt(sample.rps / 1000, 1)}k/${fmt(sample.serverCpu, 1)}us${sample.other + sample.steal > MAX_OTHER ? `/other ${fmt(sample.other + sample.steal)}%` : ''}`);
        }
        log(`[${runNo}/${runs}] round ${round + 1} ${pin.key} ${conns} conns ${sizeLabel(size)}: ${parts.join(', ')}`);
      }
    }
  }

  // ------------------------------------------------------------ report

  const get = (p: string, conns: number, size: number, s: string): Sample[] => results.get(keyOf(p, conns, size, s)) ?? [];
  const verdicts: string[] = [];
  const loadChecks: string[] = [];
  const summary: Record<string, unknown>[] = [];
  const has = (k: string): boolean => servers.some((s) => s.key === k);

  for (const pin of pinnings) {
    log('');
    log(`## ${pin.label}`);
    for (const { conns, size } of configs) {
      log('');
      log(`### ${conns} connection${conns === 1 ? '' : 's'}, ${sizeLabel(size)} ping-pong`);
      log('');
      log('| server | req/s | p50 us | p99 us | server CPU us/msg | load gen CPU us/msg | req/s vs Node net | CPU vs C | rounds (req/s) | other load % |');
      log('|---|--:|--:|--:|--:|--:|--:|--:|---|--:|');
      const net = get(pin.key, conns, size, 'node-net');
      const c = get(pin.key, conns, size, 'c');
      for (const def of servers) {
        const xs = get(pin.key, conns, size, def.key);
        const row = {
          pinning: pin.key,
          conns,
          size,
          server: def.key,
          rps: med(xs, (s) => s.rps),
          p50: med(xs, (s) => s.p50),
          p99: med(xs, (s) => s.p99),
          serverCpu: med(xs, (s) => s.serverCpu),
          loadCpu: med(xs, (s) => s.loadCpu),
          vsNet: pairedRatio(xs, net, (s) => s.rps),
          cpuVsC: pairedRatio(xs, c, (s) => s.serverCpu),
          rounds: xs.map((s) => s.rps),
          other: med(xs, (s) => s.other + s.steal),
          connectMs: med(xs, (s) => s.connectMs),
          stalled: Math.max(0, ...xs.map((s) => s.stalled)),
          errors: xs.reduce((a, s) => a + s.errors, 0),
        };
        summary.push(row);
        log(
          `| ${def.label} | ${fmt(row.rps)} | ${fmt(row.p50, 1)} | ${fmt(row.p99, 1)} | ${fmt(row.serverCpu, 2)} | ${fmt(row.loadCpu, 2)} | ` +
            `${ratio(row.vsNet)} | ${ratio(row.cpuVsC)} | ${row.rounds.map((r) => fmt(r / 1000, 1) + 'k').join(' ')}${row.errors > 0 ? ` (${row.errors} errors)` : ''} | ${fmt(row.other, 1)} |`,
        );
      }
      for (const row of summary.slice(-servers.length)) {
        if ((row.stalled as number) > 0) {
          log(`  note: ${row.server} left up to ${row.stalled} connections without a single echo in a measured window`);
        }
      }
      if (has('c') && servers.length > 1) {
        const cRps = med(c, (s) => s.rps);
        const others = servers.filter((s) => s.key !== 'c').map((s) => ({ s, rps: med(get(pin.key, conns, size, s.key), (x) => x.rps) }));
        const best = others.reduce((a, b) => (b.rps > a.rps ? b : a));
        const loadCpuC = med(c, (s) => s.loadCpu);
        // The share of its CPU the load generator used, per round (CPU per
        // message x messages per second); the median over rounds.
        const busy = (xs: Sample[]): number => med(xs, (x) => (x.loadCpu * x.rps) / 1e6);
        const busyC = busy(c);
        const busyBest = busy(get(pin.key, conns, size, best.s.key));
        const ok = cRps > best.rps;
        let line =
          `${pin.key} ${conns} conns ${sizeLabel(size)}: load generator drives C at ${fmt(cRps)} req/s ` +
          `(its own CPU ${fmt(loadCpuC, 2)} us/msg, busy ${fmt(100 * busyC)}% of its CPU) vs the fastest other server, ` +
          `${best.s.label}, at ${fmt(best.rps)} req/s (busy ${fmt(100 * busyBest)}%): ${ok ? 'OK' : 'NOT FASTER'}`;
        if (!ok && busyBest < 0.9) {
          line += ` (the C server is the slower one here; the load generator had ${fmt(100 * (1 - busyBest))}% of its CPU to spare)`;
        }
        loadChecks.push(line);
      }
    }

    // The issues' targets, for this pinning mode.
    verdicts.push(...verdictsFor(pin.key, get, has, SIZES));
  }

  log('');
  log('## Load generator');
  log('');
  for (const l of loadChecks) log(l);
  log('');
  log('## Verdicts');
  log('');
  for (const v of verdicts) log(v);
  log('');
  log(
    `other load: ${retried} runs thrown away and run again (other processes > ${MAX_OTHER}% of the pinned CPUs); ` +
      `${contaminated} kept over that limit (after ${RETRIES} retries, or once waits and retries had cost ` +
      `${MAX_EXTRA_MS / 1000} s); waited for quiet CPUs and retried for ${(extraMs / 1000).toFixed(0)} s in all`,
  );
  if (failures > 0) log(`${failures} runs had errors (see ERROR lines above)`);
  log(`echo benchmark took ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  saveResults(ROOT, 'echo', { settings: { SECONDS, WARMUP, ROUNDS, VERDICT_ROUNDS, CONNS, SIZES, pinnings: pinnings.map((p) => p.key) }, rows: summary, verdicts, loadChecks }, log);
  return failures > 0 ? 1 : 0;
}

runMain(main);
