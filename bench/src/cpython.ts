/**
 * The CPython side of the benchmark: a persistent `python3 -c` worker that
 * builds the same scenario as the Node side (its own pipes and dups, same N,
 * same registration order) and times the same calls with
 * time.perf_counter_ns; also CPython's selectors (every backend, the same
 * descriptors registered for EVENT_READ) at the selector table's N. Node sends one command per line and awaits one reply
 * line, so CPython's measurements interleave with the Node ones inside every
 * repeat.
 *
 * Protocol (one line each way):
 *   -> "<what> <N> <iters>"       <- "<elapsed ns>" | "ERR <message>"
 *   -> "info"                     <- JSON { version, select, epoll, selectors, defaultSelector }
 *   -> "quit"                     (worker closes every descriptor and exits)
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';

const SCRIPT = String.raw`
import gc, os, select, selectors, sys, time, json
pc = time.perf_counter_ns
MAXN = int(sys.argv[1])
NS = [int(x) for x in sys.argv[2].split(',')]
REGN = int(sys.argv[3])
SELNS = [int(x) for x in sys.argv[4].split(',')] if len(sys.argv) > 4 and sys.argv[4] else []
FD_SETSIZE = 1024

# Same scenario as the Node side: one pipe with a byte in it (its read end is
# the one ready descriptor), one idle pipe whose write end stays open (so its
# read end is never readable, not even EOF) and dups of that idle read end.
rr, rw = os.pipe()
os.write(rw, b'x')
ir, iw = os.pipe()
idle = [os.dup(ir) for _ in range(MAXN - 1)]

def fds_for(n):
    # idle first, the ready descriptor last: the worst place for any scan
    return idle[:n - 1] + [rr]

eps, polls, sels = {}, {}, {}
for n in NS:
    fds = fds_for(n)
    if hasattr(select, 'epoll'):
        ep = select.epoll()
        for fd in fds:
            ep.register(fd, select.EPOLLIN)
        assert ep.poll(0) == [(rr, select.EPOLLIN)], ep.poll(0)
        eps[n] = ep
    p = select.poll()
    for fd in fds:
        p.register(fd, select.POLLIN)
    assert p.poll(0) == [(rr, select.POLLIN)]
    polls[n] = p
    if max(fds) < FD_SETSIZE:
        assert select.select(fds, [], [], 0) == ([rr], [], [])
        sels[n] = fds
regfds = idle[:REGN]

# selectors: every backend this platform has, the same descriptors registered
# for EVENT_READ in the same order, each checked once.
SELCLASSES = {'selselect': 'SelectSelector', 'selpoll': 'PollSelector',
              'selepoll': 'EpollSelector', 'seldefault': 'DefaultSelector'}
sels_by = {}
for what, cls_name in SELCLASSES.items():
    cls = getattr(selectors, cls_name, None)
    if cls is None:
        continue
    for n in SELNS:
        fds = fds_for(n)
        if cls is selectors.SelectSelector and max(fds) >= FD_SETSIZE:
            continue
        s = cls()
        for fd in fds:
            s.register(fd, selectors.EVENT_READ)
        r = s.select(0)
        assert len(r) == 1 and r[0][0].fd == rr and r[0][1] == selectors.EVENT_READ, r
        sels_by[(what, n)] = s

def t_epoll(n, iters):
    f = eps[n].poll
    t0 = pc()
    for _ in range(iters):
        f(0)
    return pc() - t0

def t_poll(n, iters):
    f = polls[n].poll
    t0 = pc()
    for _ in range(iters):
        f(0)
    return pc() - t0

def t_select(n, iters):
    f = select.select
    rl = sels[n]
    e = []
    t0 = pc()
    for _ in range(iters):
        f(rl, e, e, 0)
    return pc() - t0

def t_epollreg(n, iters):
    ep = select.epoll()
    reg, unreg, m = ep.register, ep.unregister, select.EPOLLIN
    fds = regfds
    t0 = pc()
    for _ in range(iters):
        for fd in fds:
            reg(fd, m)
        for fd in fds:
            unreg(fd)
    t = pc() - t0
    ep.close()
    return t

def t_pollreg(n, iters):
    p = select.poll()
    reg, unreg, m = p.register, p.unregister, select.POLLIN
    fds = regfds
    t0 = pc()
    for _ in range(iters):
        for fd in fds:
            reg(fd, m)
        for fd in fds:
            unreg(fd)
    return pc() - t0

def t_loop(n, iters):
    # the bare for-loop, for reference
    t0 = pc()
    for _ in range(iters):
        pass
    return pc() - t0

def t_sel(what):
    def t(n, iters):
        f = sels_by[(what, n)].select
        t0 = pc()
        for _ in range(iters):
            f(0)
        return pc() - t0
    return t

T = {'epoll': t_epoll, 'poll': t_poll, 'select': t_select,
     'epollreg': t_epollreg, 'pollreg': t_pollreg, 'loop': t_loop}
for what in SELCLASSES:
    T[what] = t_sel(what)

out = sys.stdout
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    if parts[0] == 'quit':
        break
    try:
        if parts[0] == 'info':
            selinfo = {}
            for (what, n) in sels_by:
                selinfo.setdefault(what, []).append(n)
            out.write(json.dumps({'version': sys.version.split()[0],
                                  'select': sorted(sels), 'epoll': sorted(eps),
                                  'selectors': {k: sorted(v) for k, v in selinfo.items()},
                                  'defaultSelector': selectors.DefaultSelector.__name__}) + '\n')
        else:
            out.write('%d\n' % T[parts[0]](int(parts[1]), int(parts[2])))
    except Exception as e:
        out.write('ERR %s: %s\n' % (type(e).__name__, e))
    out.flush()

for s in sels_by.values():
    s.close()
for ep in eps.values():
    ep.close()
for fd in idle + [rr, rw, ir, iw]:
    os.close(fd)
`;

export interface CPythonInfo {
  version: string;
  /** N values for which the worker could build a select() set (< FD_SETSIZE). */
  select: number[];
  /** N values with an epoll object (empty where epoll is missing). */
  epoll: number[];
  /**
   * selectors: 'selselect' | 'selpoll' | 'selepoll' | 'seldefault' -> the N
   * values with such a selector (registered, checked once).
   */
  selectors: Partial<Record<string, number[]>>;
  /** The class DefaultSelector is here (EpollSelector on Linux). */
  defaultSelector: string;
}

export class CPythonWorker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Array<(line: string) => void> = [];
  private readonly exited: Promise<number | null>;
  private stderr = '';

  constructor(python: string, maxN: number, ns: readonly number[], regN: number, selNs: readonly number[] = []) {
    this.child = spawn(python, ['-c', SCRIPT, String(maxN), ns.join(','), String(regN), selNs.join(',')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdin.on('error', () => {}); // reported through 'exit'/'error'
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (s: string) => {
      this.stderr += s;
    });
    const rl = readline.createInterface({ input: this.child.stdout });
    rl.on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        for (const w of this.waiting.splice(0)) w(`ERR cannot run ${python}: ${err.message}`);
        resolve(null);
      });
      // 'close' comes after 'exit' once the stdio pipes are closed too, so
      // the caller's descriptor count is settled when quit() resolves.
      this.child.on('close', (code) => {
        for (const w of this.waiting.splice(0)) w(`ERR worker exited (${code}): ${this.stderr.trim()}`);
        resolve(code);
      });
    });
  }

  private request(cmd: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(cmd + '\n');
    });
  }

  async info(): Promise<CPythonInfo> {
    const line = await this.request('info');
    if (line.startsWith('ERR')) throw new Error(`python3 worker: ${line}`);
    return JSON.parse(line) as CPythonInfo;
  }

  /** Runs `iters` iterations of `what` at size `n`; returns elapsed ns. */
  async run(what: string, n: number, iters: number): Promise<number> {
    const line = await this.request(`${what} ${n} ${iters}`);
    if (line.startsWith('ERR')) throw new Error(`python3 worker (${what} N=${n}): ${line}`);
    return Number(line);
  }

  async quit(): Promise<number | null> {
    this.child.stdin.end('quit\n');
    return this.exited;
  }
}
