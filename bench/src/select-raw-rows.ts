/**
 * select.bench.ts's first table: epoll.poll(0), kqueue.control(), devpoll.poll(0),
 * poll.poll(0) and select() at each N, and register+unregister, each beside the
 * C loop, the raw binding and CPython; plus the breakdown of epoll.poll(0) at N=1.
 */
import { binding, FD_SETSIZE } from '@iomux/core-native';
import { select, poll, epoll, kqueue, kevent, devpoll, POLLIN, KQ_FILTER_READ } from '@iomux/select';
import {
  NS, REG_N, MAXEVENTS, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLLIN, newEpoll, hrnow, assertEqual, drain, js, jsLoop, mk,
  type Contender, type Kind, type Row, type SelectCtx,
} from './select-common.js';

/** The rows of the first table, in its order. */
export function rawRows(ctx: SelectCtx): Row[] {
  const { rr, fdsFor, idle, cbench, hasEpoll, pyInfo, closers, pyContender, expectOneReady } = ctx;
  const rows: Row[] = [];
  // Every JS loop below calls a function reference taken once, outside the
  // loop (except `rawg`), so none of them pays the per-call property lookups.
  const breakdownContenders = (epfd: number, out: Int32Array): Partial<Record<Kind, Contender>> => {
    const noopFn = cbench.bench_noop;
    const argFn = cbench.bench_arg_int32array;
    const argcFn = cbench.bench_arg_int32array_capi;
    const helperFn = cbench.bench_epoll_wait!;
    const onceFn = cbench.bench_epoll_wait_once!;
    const waitFn = binding.epoll_wait!;
    return {
      // bare N-API crossing: an empty native function, one argument
      noop: mk('noop', jsLoop(() => noopFn(out))),
      // args.h's checked Int32Array conversion alone, and the same check done
      // with one napi_get_typedarray_info call
      arg: mk('arg', jsLoop(() => argFn(out))),
      argc: mk('argc', jsLoop(() => argcFn(out))),
      // the C helper called from JS with 0 and with 1 iteration: the difference
      // is one epoll_wait made between JS calls rather than in a tight C loop
      c0: mk('c0', jsLoop(() => helperFn(epfd, MAXEVENTS, 0))),
      c1: mk('c1', jsLoop(() => helperFn(epfd, MAXEVENTS, 1))),
      // the cheapest possible binding: two int args, stack buffer, one syscall
      once: mk('once', jsLoop(() => onceFn(epfd, MAXEVENTS)), 1, expectOneReady('bench_epoll_wait_once')),
      // the real binding with maxevents 256 (its stack buffer) instead of 1023
      raw256: mk('raw256', jsLoop(() => waitFn(epfd, out, 256, 0))),
      // the real binding looked up on every call, as the library's compiled
      // code does (`core_native_1.binding.epoll_wait(...)`): the package's
      // re-export getter, then a property of the addon's exports object
      rawg: mk('rawg', jsLoop(() => binding.epoll_wait!(epfd, out, MAXEVENTS, 0))),
    };
  };

  // ---- epoll.poll(0)
  if (hasEpoll) {
    for (const n of NS) {
      const fds = fdsFor(n);
      const ep = newEpoll();
      closers.push(() => ep.close());
      for (const fd of fds) ep.register(fd, EPOLLIN);
      assertEqual(ep.poll(0), [[rr, EPOLLIN]], `epoll.poll(0) N=${n}`);
      const epfd = ep.fileno();
      const out = new Int32Array((binding.epoll_event_layout?.stride ?? 3) * MAXEVENTS);
      const waitFn = binding.epoll_wait!;
      assertEqual(waitFn(epfd, out, MAXEVENTS, 0), 1, `raw epoll_wait N=${n}`);
      rows.push({
        label: 'epoll.poll(0)',
        n: String(n),
        contenders: {
          c: mk('c', (k) => cbench.bench_epoll_wait!(epfd, MAXEVENTS, k), 1, expectOneReady('C epoll_wait')),
          raw: mk('raw', js((k) => {
            let s = 0;
            const t0 = hrnow();
            for (let i = 0; i < k; i++) s += waitFn(epfd, out, MAXEVENTS, 0);
            const t = Number(hrnow() - t0);
            drain(s);
            return t;
          })),
          iomux: mk('iomux', js((k) => {
            let s = 0;
            const t0 = hrnow();
            for (let i = 0; i < k; i++) s += ep.poll(0).length;
            const t = Number(hrnow() - t0);
            drain(s);
            return t;
          })),
          py: pyInfo?.epoll.includes(n) ? pyContender('epoll', n) : undefined,
          // Breakdown of the N=1 figure, interleaved with the contenders above.
          ...(n === 1 ? breakdownContenders(epfd, out) : {}),
        },
      });
    }
  }

  // ---- kqueue.control(None, n, 0): native kqueue, or the Linux emulation
  if (kqueue !== undefined) {
    for (const n of NS) {
      const fds = fdsFor(n);
      const kq = kqueue();
      closers.push(() => kq.close());
      kq.control(fds.map((fd) => kevent!(fd, KQ_FILTER_READ!)), 0, 0);
      const got = kq.control(null, n, 0).map((ev) => [ev.ident, ev.filter]);
      assertEqual(got, [[rr, KQ_FILTER_READ]], `kqueue.control(None, ${n}, 0)`);
      rows.push({
        label: kqueue.emulated ? 'kqueue.control(None, n, 0) (emulated)' : 'kqueue.control(None, n, 0)',
        n: String(n),
        contenders: {
          iomux: mk('iomux', jsLoop(() => kq.control(null, n, 0).length)),
        },
      });
    }
  }

  // ---- devpoll.poll(0): native /dev/poll, or the Linux emulation
  if (devpoll !== undefined) {
    for (const n of NS) {
      const fds = fdsFor(n);
      const dp = devpoll();
      closers.push(() => dp.close());
      for (const fd of fds) dp.register(fd, POLLIN);
      assertEqual(dp.poll(0), [[rr, POLLIN]], `devpoll.poll(0) N=${n}`);
      rows.push({
        label: 'devpoll.poll(0)',
        n: String(n),
        contenders: {
          iomux: mk('iomux', jsLoop(() => dp.poll(0).length)),
        },
      });
    }
  }

  // ---- poll.poll(0)
  for (const n of NS) {
    const fds = fdsFor(n);
    const p = poll();
    for (const fd of fds) p.register(fd, POLLIN);
    assertEqual(p.poll(0), [[rr, POLLIN]], `poll.poll(0) N=${n}`);
    const pollfds = new Int32Array(2 * n);
    fds.forEach((fd, i) => {
      pollfds[2 * i] = fd;
      pollfds[2 * i + 1] = POLLIN; // events in the low half, revents 0
    });
    const out = new Int32Array(2 * n);
    const pollFn = binding.poll;
    assertEqual(pollFn(pollfds, n, 0, out), 1, `raw poll N=${n}`);
    rows.push({
      label: 'poll.poll(0)',
      n: String(n),
      contenders: {
        c: mk('c', (k) => cbench.bench_poll(pollfds, n, k), 1, expectOneReady('C poll')),
        raw: mk('raw', js((k) => {
          let s = 0;
          const t0 = hrnow();
          for (let i = 0; i < k; i++) s += pollFn(pollfds, n, 0, out);
          const t = Number(hrnow() - t0);
          drain(s);
          return t;
        })),
        iomux: mk('iomux', js((k) => {
          let s = 0;
          const t0 = hrnow();
          for (let i = 0; i < k; i++) s += p.poll(0).length;
          const t = Number(hrnow() - t0);
          drain(s);
          return t;
        })),
        py: pyContender('poll', n),
      },
    });
  }

  // ---- select()
  for (const n of NS) {
    if (n > 1000) continue;
    const fds = fdsFor(n);
    if (Math.max(...fds) >= FD_SETSIZE) {
      rows.push({
        label: 'select()',
        n: String(n),
        contenders: {},
        note: `skipped: descriptors reach ${Math.max(...fds)} >= FD_SETSIZE`,
      });
      continue;
    }
    const empty: number[] = [];
    assertEqual(select(fds, empty, empty, 0), [[rr], [], []], `select() N=${n}`);
    const template = Int32Array.from(fds);
    const r = new Int32Array(n);
    const none = new Int32Array(0);
    const selectFn = binding.select;
    r.set(template);
    assertEqual(selectFn(r, none, none, 0), 1, `raw select N=${n}`);
    rows.push({
      label: 'select()',
      n: String(n),
      contenders: {
        c: mk('c', (k) => cbench.bench_select(template, k), 1, expectOneReady('C select')),
        raw: mk('raw', js((k) => {
          let s = 0;
          const t0 = hrnow();
          for (let i = 0; i < k; i++) {
            r.set(template); // select() overwrites its sets, as in C
            s += selectFn(r, none, none, 0);
          }
          const t = Number(hrnow() - t0);
          drain(s);
          return t;
        })),
        iomux: mk('iomux', js((k) => {
          let s = 0;
          const t0 = hrnow();
          for (let i = 0; i < k; i++) s += select(fds, empty, empty, 0)[0].length;
          const t = Number(hrnow() - t0);
          drain(s);
          return t;
        })),
        py: pyInfo?.select.includes(n) ? pyContender('select', n) : undefined,
      },
    });
  }

  // ---- register + unregister, per descriptor
  const regFds = idle.slice(0, REG_N);
  const regArr = Int32Array.from(regFds);
  if (hasEpoll) {
    const regEp = newEpoll();
    closers.push(() => regEp.close());
    const cEpfd = binding.epoll_create1!(0);
    closers.push(() => binding.close(cEpfd));
    const ctl = binding.epoll_ctl!;
    rows.push({
      label: 'epoll register+unregister',
      n: `${REG_N} fds`,
      contenders: {
        c: mk('c', (k) => cbench.bench_epoll_ctl!(cEpfd, regArr, k), REG_N),
        raw: mk('raw', js((k) => {
          const t0 = hrnow();
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < regFds.length; j++) ctl(cEpfd, EPOLL_CTL_ADD, regFds[j]!, EPOLLIN);
            for (let j = 0; j < regFds.length; j++) ctl(cEpfd, EPOLL_CTL_DEL, regFds[j]!, 0);
          }
          return Number(hrnow() - t0);
        }), REG_N),
        iomux: mk('iomux', js((k) => {
          const t0 = hrnow();
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < regFds.length; j++) regEp.register(regFds[j]!, EPOLLIN);
            for (let j = 0; j < regFds.length; j++) regEp.unregister(regFds[j]!);
          }
          return Number(hrnow() - t0);
        }), REG_N),
        py: pyInfo?.epoll.length ? pyContender('epollreg', 0, REG_N) : undefined,
      },
    });
  }
  {
    const regP = poll();
    rows.push({
      label: 'poll register+unregister',
      n: `${REG_N} fds`,
      note: 'no syscall: poll() keeps its set in process memory, so there is no C loop to compare with',
      contenders: {
        iomux: mk('iomux', js((k) => {
          const t0 = hrnow();
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < regFds.length; j++) regP.register(regFds[j]!, POLLIN);
            for (let j = 0; j < regFds.length; j++) regP.unregister(regFds[j]!);
          }
          return Number(hrnow() - t0);
        }), REG_N),
        py: pyContender('pollreg', 0, REG_N),
      },
    });
  }
  return rows;
}
