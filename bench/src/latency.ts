/**
 * Wake-up latency: how long after another thread writes one byte does a
 * pending wait on the main thread resume?
 *
 * A worker_threads Worker (latency-worker.ts) is the writer. For each
 * sample the main thread arms one wait (a pending `await sel.selectAsync()`,
 * `await ep.pollAsync()`, the addon's bare watcher callback, or a Node
 * stream's 'data' listener), then posts ['go'] to the worker; the worker
 * sleeps a random 0.2-1 ms, stores process.hrtime.bigint() in a
 * SharedArrayBuffer and writes one byte (os.write on the pipe's write end, or
 * its own net client's write()). The main thread takes process.hrtime.bigint()
 * where the wait resumes (after the `await`, or at the top of the 'data'
 * listener), drains the byte and arms the next sample. Latency = main's stamp
 * minus the writer's stamp: both are CLOCK_MONOTONIC, one clock for the whole
 * process, and every sample checks post < write stamp < wake.
 *
 * Contenders run in blocks of BLOCK samples, rotating, after one warm-up block
 * each (discarded), until each has `samples` or the time cap is reached.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { binding, os, type FdHandle } from '@iomux/core-native';
import { epoll, EPOLLIN, type Epoll } from '@iomux/select';
import { EpollSelector, PollSelector, EVENT_READ, type BaseSelector } from '@iomux/selectors';

const hrnow = process.hrtime.bigint;
/** Samples per contender per block. */
const BLOCK = 100;
/** A sample that has not woken by then is a failure, not a data point. */
const SAMPLE_TIMEOUT_MS = 2000;
const EPOLL_CTL_ADD = 1;
/** Samples per path in the instrumented pass. */
const SPLIT_SAMPLES = 500;
/** ... and a cap on that pass (it normally takes 1-2 s). */
const SPLIT_MAX_MS = 20000;

export interface LatencyPath {
  key: 'epsel' | 'pollsel' | 'epoll' | 'watch' | 'pipe' | 'net';
  label: string;
  /** Microseconds, one per measured sample. */
  samples: number[];
}

/**
 * One path re-measured with bench-only instrumentation (after the main
 * samples): the addon's watcher callback, the timeout-0 syscall binding
 * (epoll_wait or poll) and fdhandle_unwatch are wrapped on the shared binding
 * object to stamp their entry and return, splitting each wake-up into
 * segments (µs, one value per sample each).
 */
export interface LatencySplit {
  label: string;
  /** writer's stamp -> the watcher callback enters JS (kernel, libuv, N-API) */
  toCallback: number[];
  /** callback entry -> the timeout-0 syscall binding is called (PendingWait#onReadable, poke, attempt, #wait) */
  preSyscall: number[];
  /** the timeout-0 epoll_wait/poll binding call itself */
  syscall: number[];
  /** syscall return -> fdhandle_unwatch called (result array, #finish) */
  preUnwatch: number[];
  /** the fdhandle_unwatch binding call (in #finish) */
  unwatch: number[];
  /** unwatch return -> callback returns (onSettle, resolve) */
  postUnwatch: number[];
  /** callback returned -> the awaiting code resumes (microtasks: .then hops, _ready) */
  toResume: number[];
  /** the whole wake-up */
  total: number[];
}

export interface LatencyResult {
  paths: LatencyPath[];
  splits: LatencySplit[];
  /** Samples whose writer stamp was not between the post and the wake (0 expected). */
  clockViolations: number;
  /** Samples taken, warm-up included. */
  checked: number;
  /** True when the time cap stopped the run before every path had its samples. */
  capped: boolean;
  elapsedMs: number;
  blocks: number;
}

interface Live extends LatencyPath {
  /** The pipe's write end the worker writes to; -1: the worker's net client. */
  writeFd: number;
  /** Arms the wait; resolves with main's hrtime where it resumed. */
  arm(): Promise<bigint>;
  /** After a sample: checks what woke it and drains the byte. */
  after(): void;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function stats(xs: readonly number[]): { p50: number; p99: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), min: s[0] ?? NaN };
}

function onceEvent(emitter: NodeJS.EventEmitter, name: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(name, (...args: unknown[]) => resolve(args)));
}

/** `p`, or a rejection naming `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runLatency(opts: { samples: number; maxMs: number; log: (s: string) => void }): Promise<LatencyResult> {
  const started = Date.now();
  const shared = new SharedArrayBuffer(16);
  const stamp = new BigInt64Array(shared, 0, 1);

  // Everything below is closed in `finally`, in reverse order.
  const cleanup: Array<() => void | Promise<void>> = [];
  try {
    // ---- the net pair: server here, client in the worker
    const server = net.createServer();
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const accepted = onceEvent(server, 'connection');
    server.listen(0, '127.0.0.1');
    await onceEvent(server, 'listening');
    const addr = server.address() as net.AddressInfo;

    const worker = new Worker(path.join(__dirname, 'latency-worker.js'), {
      workerData: { coreNative: require.resolve('@iomux/core-native'), shared, port: addr.port },
    });
    let workerError: Error | null = null;
    worker.on('error', (e) => {
      workerError = e;
    });
    const exited = onceEvent(worker, 'exit');
    cleanup.push(async () => {
      // The worker closes its client and says 'bye'; terminate() in any case.
      const bye = new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        worker.on('message', (m) => {
          if (m === 'bye') {
            clearTimeout(t);
            resolve();
          }
        });
      });
      worker.postMessage('quit');
      await bye;
      await worker.terminate();
      await within(exited, 10000, 'latency worker exit');
    });
    const ready = (await within(Promise.race([onceEvent(worker, 'message'), onceEvent(worker, 'error')]), 10000, 'latency worker start'))[0];
    if (ready !== 'ready') throw new Error(`latency worker: ${String(ready)}`);
    worker.on('message', (m) => {
      if (typeof m === 'string' && m.startsWith('error')) workerError = new Error(`latency worker: ${m}`);
    });
    const conn = (await within(accepted, 10000, 'net connection'))[0] as net.Socket;
    conn.setNoDelay(true);
    cleanup.push(() => {
      if (conn.destroyed) return;
      const closed = onceEvent(conn, 'close');
      conn.destroy();
      return closed.then(() => undefined);
    });

    const pipe = (): [number, number] => {
      const [r, w] = os.pipe();
      cleanup.push(() => {
        os.close(r);
        os.close(w);
      });
      return [r, w];
    };
    const drain = (fd: number): void => {
      const b = os.read(fd, 16);
      if (b.length !== 1) throw new Error(`expected 1 byte on fd ${fd}, read ${b.length}`);
    };
    const checkReady = (what: string, got: Array<[unknown, number]>, fd: number, ev: number): void => {
      const ok = got.length === 1 && got[0]![1] === ev &&
        (typeof got[0]![0] === 'number' ? got[0]![0] === fd : (got[0]![0] as { fd: number }).fd === fd);
      if (!ok) throw new Error(`${what}: unexpected result ${JSON.stringify(got.map(([k, e]) => [typeof k === 'number' ? k : (k as { fd: number }).fd, e]))}`);
    };

    const paths: Live[] = [];

    const selectorPath = (key: 'epsel' | 'pollsel', label: string, sel: BaseSelector): void => {
      cleanup.push(() => sel.close());
      const [r, w] = pipe();
      sel.register(r, EVENT_READ);
      let last: Array<[unknown, number]> = [];
      paths.push({
        key, label, samples: [], writeFd: w,
        arm: async () => {
          last = await sel.selectAsync();
          return hrnow();
        },
        after: () => {
          checkReady(label, last, r, EVENT_READ);
          drain(r);
        },
      });
    };
    if (EpollSelector !== undefined) selectorPath('epsel', 'EpollSelector.selectAsync()', new EpollSelector());
    selectorPath('pollsel', 'PollSelector.selectAsync()', new PollSelector());

    if (epoll !== undefined) {
      const ep: Epoll = epoll();
      cleanup.push(() => ep.close());
      const [r, w] = pipe();
      ep.register(r, EPOLLIN);
      let last: Array<[number, number]> = [];
      paths.push({
        key: 'epoll', label: 'epoll.pollAsync()', samples: [], writeFd: w,
        arm: async () => {
          last = await ep.pollAsync();
          return hrnow();
        },
        after: () => {
          checkReady('epoll.pollAsync()', last, r, EPOLLIN!);
          drain(r);
        },
      });
    }

    if (typeof binding.epoll_create1 === 'function') {
      // The floor under every promise twin: the addon's one-shot watcher on
      // an epoll descriptor (the pipe registered in it), its callback stamping
      // the time; no epoll_wait, no promise.
      const epfd = binding.epoll_create1(0);
      const h: FdHandle = binding.fdhandle_new(epfd);
      cleanup.push(() => binding.fdhandle_close(h));
      const [r, w] = pipe();
      binding.epoll_ctl!(epfd, EPOLL_CTL_ADD, r, EPOLLIN!);
      let status = 0;
      paths.push({
        key: 'watch', label: 'addon watcher callback (fdhandle_watch; no epoll_wait, no promise)', samples: [], writeFd: w,
        arm: () => new Promise<bigint>((resolve) => {
          binding.fdhandle_watch(h, (s) => {
            const t = hrnow();
            status = s;
            resolve(t);
          });
        }),
        after: () => {
          if (status !== 0) throw new Error(`fdhandle_watch status ${status}`);
          drain(r);
        },
      });
    }

    {
      // Node's own stream on a pipe: the same kernel path as the pipes above.
      const [r, w] = os.pipe();
      cleanup.push(() => os.close(w)); // r belongs to the socket below
      const ps = new net.Socket({ fd: r, readable: true, writable: false });
      cleanup.push(() => {
        if (ps.destroyed) return;
        const closed = onceEvent(ps, 'close');
        ps.destroy();
        return closed.then(() => undefined);
      });
      let wake: ((t: bigint) => void) | null = null;
      let got = 0;
      ps.on('data', (b: Buffer) => {
        const t = hrnow();
        got = b.length;
        const f = wake;
        wake = null;
        f?.(t);
      });
      paths.push({
        key: 'pipe', label: "Node pipe 'data' (net.Socket on a pipe's read end)", samples: [], writeFd: w,
        arm: () => new Promise<bigint>((resolve) => {
          wake = resolve;
        }),
        after: () => {
          if (got !== 1) throw new Error(`pipe 'data': ${got} bytes`);
        },
      });
    }

    {
      let wake: ((t: bigint) => void) | null = null;
      let got = 0;
      conn.on('data', (b: Buffer) => {
        const t = hrnow();
        got = b.length;
        const f = wake;
        wake = null;
        f?.(t);
      });
      paths.push({
        key: 'net', label: "Node net 'data' (TCP 127.0.0.1, writer's own net client)", samples: [], writeFd: -1,
        arm: () => new Promise<bigint>((resolve) => {
          wake = resolve;
        }),
        after: () => {
          if (got !== 1) throw new Error(`net 'data': ${got} bytes`);
        },
      });
    }

    // ---- the samples
    let clockViolations = 0;
    let checked = 0;
    let lastWritten = 0n;
    let lastWake = 0n;
    const sample = async (p: Live): Promise<number> => {
      if (workerError) throw workerError;
      const woke = p.arm();
      const posted = hrnow();
      worker.postMessage([p.writeFd, 0.2 + Math.random() * 0.8]);
      const t = await within(woke, SAMPLE_TIMEOUT_MS, `${p.label} wake-up`);
      const written = Atomics.load(stamp, 0);
      p.after();
      checked++;
      if (!(posted < written && written < t)) clockViolations++;
      lastWritten = written;
      lastWake = t;
      return Number(t - written) / 1e3;
    };

    const deadline = started + opts.maxMs;
    let capped = false;
    let blocks = 0;
    for (const p of paths) for (let i = 0; i < BLOCK; i++) await sample(p); // warm-up
    for (let round = 0; paths.some((p) => p.samples.length < opts.samples); round++) {
      if (Date.now() > deadline) {
        capped = true;
        break;
      }
      for (let i = 0; i < paths.length; i++) {
        const p = paths[(i + round) % paths.length]!;
        const n = Math.min(BLOCK, opts.samples - p.samples.length);
        for (let j = 0; j < n; j++) p.samples.push(await sample(p));
      }
      blocks++;
      if (round % 5 === 4) opts.log(`  latency: ${paths[0]!.samples.length}/${opts.samples} samples per path`);
    }

    // ---- instrumented pass: where a promise twin's wake-up time goes. The
    // library reaches the addon through the shared binding object on every
    // call (binding.fdhandle_watch in async.ts; B.epoll_wait, B.poll and
    // binding.fdhandle_unwatch likewise), so wrapping those properties here
    // (restored below) stamps each step of every sample. The wrappers' own
    // clock reads add a little to the segments they bound.
    const splits: LatencySplit[] = [];
    const splitPaths = paths.filter((p) => p.key === 'epsel' || p.key === 'pollsel' || p.key === 'epoll');
    if (splitPaths.length && !capped) {
      type Fn = (...args: never[]) => unknown;
      const b = binding as unknown as Record<string, Fn>;
      const saved = new Map<string, Fn>();
      const at: Record<string, [bigint, bigint]> = {};
      const stampCalls = (name: string): void => {
        const orig = b[name];
        if (typeof orig !== 'function') return;
        saved.set(name, orig);
        b[name] = ((...args: never[]) => {
          const t0 = hrnow();
          try {
            return orig(...args);
          } finally {
            at[name] = [t0, hrnow()];
          }
        }) as Fn;
      };
      let cbIn = 0n;
      let cbOut = 0n;
      const origWatch = binding.fdhandle_watch;
      saved.set('fdhandle_watch', origWatch as Fn);
      binding.fdhandle_watch = (h, cb) =>
        origWatch(h, (status) => {
          cbIn = hrnow();
          try {
            cb(status);
          } finally {
            cbOut = hrnow();
          }
        });
      for (const name of ['epoll_wait', 'poll', 'fdhandle_unwatch']) stampCalls(name);
      try {
        const per = Math.max(1, Math.min(SPLIT_SAMPLES, opts.samples));
        const acc: LatencySplit[] = splitPaths.map((p) => ({
          label: p.label, toCallback: [], preSyscall: [], syscall: [], preUnwatch: [], unwatch: [], postUnwatch: [], toResume: [], total: [],
        }));
        const us = (a: bigint, z: bigint): number => Number(z - a) / 1e3;
        for (const p of splitPaths) for (let i = 0; i < BLOCK / 2; i++) await sample(p); // warm-up, wrapped
        const splitDeadline = Date.now() + SPLIT_MAX_MS;
        for (let round = 0; acc[0]!.total.length < per && Date.now() < splitDeadline; round++) {
          for (let i = 0; i < splitPaths.length; i++) {
            const k = (i + round) % splitPaths.length;
            const a = acc[k]!;
            const n = Math.min(BLOCK, per - a.total.length);
            for (let j = 0; j < n; j++) {
              delete at.epoll_wait;
              delete at.poll;
              delete at.fdhandle_unwatch;
              const total = await sample(splitPaths[k]!);
              // the timeout-0 call made inside the callback (the last one)
              const sys = [at.epoll_wait, at.poll].filter((x): x is [bigint, bigint] => x !== undefined && x[0] >= cbIn && x[1] <= cbOut)
                .sort((x, y) => (x[0] < y[0] ? 1 : -1))[0];
              // Settling from the watcher's own callback needs no unwatch
              // (the one-shot watch already stopped): then that step is 0.
              const uw = at.fdhandle_unwatch ?? (sys ? ([sys[1], sys[1]] as [bigint, bigint]) : undefined);
              if (!(lastWritten < cbIn && cbIn <= cbOut && cbOut <= lastWake) || !sys || !uw || !(sys[1] <= uw[0] && uw[1] <= cbOut)) {
                throw new Error(`${a.label}: instrumented steps out of order`);
              }
              a.toCallback.push(us(lastWritten, cbIn));
              a.preSyscall.push(us(cbIn, sys[0]));
              a.syscall.push(us(sys[0], sys[1]));
              a.preUnwatch.push(us(sys[1], uw[0]));
              a.unwatch.push(us(uw[0], uw[1]));
              a.postUnwatch.push(us(uw[1], cbOut));
              a.toResume.push(us(cbOut, lastWake));
              a.total.push(total);
            }
          }
        }
        splits.push(...acc);
      } finally {
        for (const [name, fn] of saved) b[name] = fn;
      }
    }

    if (workerError) throw workerError;
    return {
      paths: paths.map(({ key, label, samples }) => ({ key, label, samples })),
      splits,
      clockViolations,
      checked,
      capped,
      elapsedMs: Date.now() - started,
      blocks,
    };
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
}
