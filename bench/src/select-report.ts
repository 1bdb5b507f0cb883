/**
 * select.bench.ts's report: the tables, breakdowns and verdict lines, built
 * from the measured rows and the latency result, in the order printed.
 */
import * as nodeOs from 'node:os';
import type { CPythonInfo } from './cpython.js';
import { stats, type LatencyResult } from './latency.js';
import { REPEATS, TARGET_NS, MAXEVENTS, median, fmtNs, ratio, diff, fmtRatio, spread, type Contender, type Row } from './select-common.js';

/** The first table, its notes, the epoll N=1 breakdown and the first verdicts. */
export function reportRaw(rows: Row[], pyInfo: CPythonInfo | null): string[] {
  const cpu = nodeOs.cpus()[0]?.model ?? 'unknown CPU';
  const out: string[] = [];
  out.push(`# iomux select/poll/epoll benchmark`);
  out.push('');
  out.push(
    `node ${process.version}, CPython ${pyInfo?.version ?? 'n/a'}, ${nodeOs.type()} ${nodeOs.release()} ${nodeOs.arch()}, ` +
      `${cpu} x${nodeOs.cpus().length}; median of ${REPEATS} repeats, ~${TARGET_NS / 1e6} ms per run; ` +
      `one ready descriptor among N; epoll maxevents ${MAXEVENTS}.`,
  );
  out.push('');
  out.push('| call | N | C loop ns | raw binding ns | raw / C | iomux ns | iomux / C | iomux - raw ns | CPython ns | CPython / C | iomux / CPython |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const notes: string[] = [];
  const noisy: string[] = [];
  for (const row of rows) {
    const { c, raw, iomux, py: cpy } = row.contenders;
    out.push(
      `| ${row.label} | ${row.n} | ${fmtNs(c)} | ${fmtNs(raw)} | ${fmtRatio(ratio(raw, c))} | ${fmtNs(iomux)} | ` +
        `${fmtRatio(ratio(iomux, c))} | ${diff(iomux, raw)} | ${fmtNs(cpy)} | ${fmtRatio(ratio(cpy, c))} | ${fmtRatio(ratio(iomux, cpy))} |`,
    );
    if (row.note) notes.push(`- ${row.label} ${row.n}: ${row.note}`);
    for (const x of [c, raw, iomux, cpy]) {
      if (x && spread(x) > 0.5) noisy.push(`${row.label} N=${row.n} ${x.kind} ${(spread(x) * 100).toFixed(0)}%`);
    }
  }
  out.push('');
  out.push('C loop: the syscall looped in C (bench/addon/bench.cc). raw binding: the addon\'s syscall function called');
  out.push('from a JS loop, no iomux JS layer. iomux: the public @iomux/select call; iomux - raw is its JS layer\'s cost per call.');
  out.push('Ratios and differences are medians of the per-repeat ratios and differences.');
  out.push(
    'CPython runs single-threaded, so the kernel skips a file refcount get/put per descriptor in poll()/select();',
  );
  out.push('Node always has helper threads, so its poll()/select() (the C loop included) pays them: CPython / C < 1 at large N.');
  if (noisy.length) notes.push(`- noisy (max-min over repeats > 50% of the median): ${noisy.join('; ')}`);
  if (notes.length) {
    out.push('');
    out.push(...notes);
  }

  // Breakdown of epoll.poll(0) at N=1: where the time above the syscall goes.
  const ep1 = rows.find((r) => r.label === 'epoll.poll(0)' && r.n === '1');
  if (ep1) {
    const k = ep1.contenders;
    const m = (c: Contender | undefined): number => (c ? median(c.samples) : NaN);
    const vsC = (c: Contender | undefined): string => fmtRatio(ratio(c, k.c));
    const line = (step: string, ns: number, r = ''): string =>
      `| ${step} | ${Number.isNaN(ns) ? '-' : ns.toFixed(0)} | ${r} |`;
    const syscallInJs = median(k.c1!.samples.map((x, i) => x - k.c0!.samples[i]!));
    out.push('');
    out.push('### epoll.poll(0), N=1: where the time goes');
    out.push('');
    out.push('| step (all measured in this run, interleaved with the epoll N=1 row) | ns/call | vs C loop |');
    out.push('|---|---:|---:|');
    out.push(line(`epoll_wait(epfd, ev, ${MAXEVENTS}, 0) in a tight C loop (bench_epoll_wait)`, m(k.c), '1.00x'));
    out.push(line('one epoll_wait made between JS calls: C helper called from JS with 1 iteration minus with 0', syscallInJs,
      `${(syscallInJs / m(k.c)).toFixed(2)}x`));
    out.push(line('minimal binding from JS: 2 int args, stack buffer, 1 epoll_wait, Number back (bench_epoll_wait_once)', m(k.once), vsC(k.once)));
    out.push(line(`raw binding.epoll_wait(epfd, out, ${MAXEVENTS}, 0) from JS`, m(k.raw), vsC(k.raw)));
    out.push(line('iomux ep.poll(0)', m(k.iomux), vsC(k.iomux)));
    if (k.py) out.push(line('CPython ep.poll(0)', m(k.py), vsC(k.py)));
    out.push('');
    out.push('| component (measured separately, same run) | ns/call |');
    out.push('|---|---:|');
    const row2 = (what: string, ns: number): string => `| ${what} | ${Number.isNaN(ns) ? '-' : ns.toFixed(0)} |`;
    out.push(row2('empty N-API call from JS, 1 argument (bench_noop)', m(k.noop)));
    out.push(row2('args.h Int32ArrayArg on `out`, above the empty call', m(k.arg) - m(k.noop)));
    out.push(row2('the same check with one napi_get_typedarray_info, above the empty call', m(k.argc) - m(k.noop)));
    out.push(row2('binding.epoll_wait heap buffer for maxevents 1023 (> 256 on the stack): maxevents 1023 minus 256', m(k.raw) - m(k.raw256)));
    out.push(row2('C helper from JS with 0 iterations (call, 3 int checks, 12 KB new/delete, 2 clock reads)', m(k.c0)));
    out.push(row2('`binding.epoll_wait` looked up per call as compiled library code does (re-export getter + addon exports lookup) minus a hoisted reference', m(k.rawg) - m(k.raw)));
    out.push('');
    const argCost = m(k.arg) - m(k.noop);
    const heapCost = m(k.raw) - m(k.raw256);
    const bindingExtra = m(k.raw) - m(k.once);
    const lookupCost = m(k.rawg) - m(k.raw);
    const jsLayer = m(k.iomux) - m(k.raw);
    out.push(
      `Above the C loop: ${(syscallInJs - m(k.c)).toFixed(0)} ns is the syscall itself running colder between JS calls; ` +
        `${(m(k.once) - syscallInJs).toFixed(0)} ns the cheapest N-API call around it; ` +
        `${bindingExtra.toFixed(0)} ns the real binding's extra work (Int32ArrayArg ~${argCost.toFixed(0)}, ` +
        `heap buffer ~${heapCost.toFixed(0)}, rest ~${(bindingExtra - argCost - heapCost).toFixed(0)}: two more arguments, ` +
        `timeout check, copy-out); ${jsLayer.toFixed(0)} ns the iomux JS layer (of which ~${lookupCost.toFixed(0)} ns ` +
        `is looking binding.epoll_wait up on every call; the rest argument parsing, timeout conversion, result arrays).`,
    );
  }

  // Verdicts.
  out.push('');
  if (ep1) {
    const r1 = ratio(ep1.contenders.iomux, ep1.contenders.c)!;
    out.push(`epoll.poll(0) N=1: ${r1.toFixed(2)}x C (target <= 1.2x): ${r1 <= 1.2 ? 'PASS' : 'FAIL'}`);
    const ep10k = rows.find((r) => r.label === 'epoll.poll(0)' && r.n === '10000');
    if (ep10k) {
      const r2 = ratio(ep10k.contenders.iomux, ep1.contenders.iomux)!;
      out.push(`epoll N=10000 / N=1: ${r2.toFixed(2)}x (target <= 1.5x): ${r2 <= 1.5 ? 'PASS' : 'FAIL'}`);
    }
  } else {
    out.push('epoll: not available on this platform (no verdicts)');
  }
  const dp1 = rows.find((r) => r.label === 'devpoll.poll(0)' && r.n === '1');
  const dp10k = rows.find((r) => r.label === 'devpoll.poll(0)' && r.n === '10000');
  if (dp1 && dp10k) {
    const r = ratio(dp10k.contenders.iomux, dp1.contenders.iomux)!;
    out.push(`devpoll N=10000 / N=1: ${r.toFixed(2)}x (target <= 1.5x): ${r <= 1.5 ? 'PASS' : 'FAIL'}`);
  }
  const kq1 = rows.find((r) => r.label.startsWith('kqueue.control') && r.n === '1');
  if (kq1 && ep1) {
    const r = ratio(kq1.contenders.iomux, ep1.contenders.iomux)!;
    out.push(`${kq1.label} N=1 / epoll.poll(0) N=1: ${r.toFixed(2)}x (target <= 1.5x): ${r <= 1.5 ? 'PASS' : 'FAIL'}`);
  }
  return out;
}

/** The selectors table, its breakdown and verdicts. */
export function reportSelectors(out: string[], selRows: Row[], pyInfo: CPythonInfo | null): void {
  // ---- selectors table
  const selNoisy: string[] = [];
  const selNotes: string[] = [];
  if (selRows.length) {
    out.push('');
    out.push('### selectors: selector.select(0) vs the @iomux/select call it wraps');
    out.push('');
    out.push(
      `One ready descriptor among N registered for EVENT_READ (same scenario); @iomux/selectors vs @iomux/select on the same ` +
        `descriptors, CPython ${pyInfo?.version ?? 'n/a'} selectors (DefaultSelector = ${pyInfo?.defaultSelector ?? 'n/a'}) vs its select module; ns per call.`,
    );
    out.push('');
    out.push('| selector.select(0) | N | raw call | raw ns | selector ns | selector / raw | selector - raw ns | CPython raw ns | CPython selector ns | CPython selector / raw | selector / CPython selector |');
    out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of selRows) {
      const { selraw, sel, pyraw, pysel } = row.contenders;
      out.push(
        `| ${row.label} | ${row.n} | ${row.rawCall ?? '-'} | ${fmtNs(selraw)} | ${fmtNs(sel)} | ${fmtRatio(ratio(sel, selraw))} | ` +
          `${diff(sel, selraw)} | ${fmtNs(pyraw)} | ${fmtNs(pysel)} | ${fmtRatio(ratio(pysel, pyraw))} | ${fmtRatio(ratio(sel, pysel))} |`,
      );
      if (row.note) selNotes.push(`- ${row.label} N=${row.n}: ${row.note}`);
      for (const x of [selraw, sel, pyraw, pysel]) {
        if (x && spread(x) > 0.5) selNoisy.push(`${row.label} N=${row.n} ${x.kind} ${(spread(x) * 100).toFixed(0)}%`);
      }
    }
    out.push('');
    out.push('raw: the @iomux/select call on an object of its own with the same descriptors (epoll/poll: default maxevents).');
    out.push('selector: the @iomux/selectors select(0), which returns [key, events] pairs. Ratios and differences: medians of per-repeat values.');
    if (selNoisy.length) selNotes.push(`- noisy (max-min over repeats > 50% of the median): ${selNoisy.join('; ')}`);
    if (selNotes.length) {
      out.push('');
      out.push(...selNotes);
    }

    // Where the selector layer's time goes, at N=1.
    const bd = ['EpollSelector', 'PollSelector']
      .map((label) => selRows.find((r) => r.label === label && r.n === '1'))
      .filter((r): r is Row => r !== undefined && r.contenders.inner !== undefined);
    if (bd.length) {
      const m = (c: Contender | undefined): number => (c ? median(c.samples) : NaN);
      const f0 = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(0));
      out.push('');
      out.push('### selector.select(0), N=1: where the time goes');
      out.push('');
      out.push(`| step (measured in this run, interleaved with the N=1 rows) | ${bd.map((r) => `${r.label} ns`).join(' | ')} |`);
      out.push(`|---|${bd.map(() => '---:').join('|')}|`);
      const line = (what: string, f: (r: Row) => number): void => {
        out.push(`| ${what} | ${bd.map((r) => f0(f(r))).join(' | ')} |`);
      };
      line('raw call on its own object: ep.poll(0) / p.poll(0)', (r) => m(r.contenders.selraw));
      line("the selector's own poller called as the raw call is: poll(0) (epoll: default maxevents)", (r) => m(r.contenders.inner0 ?? r.contenders.inner));
      line("the poller call as the selector makes it, on the selector's own poller: poll(0, maxevents = 1) / poll(0)", (r) => m(r.contenders.inner));
      line('of which passing maxevents (the two lines above; median of per-repeat differences)', (r) =>
        r.contenders.inner0 ? median(r.contenders.inner!.samples.map((x, i) => x - r.contenders.inner0!.samples[i]!)) : 0);
      line('_ready() alone on a fixed one-entry list: key lookup, result array, [key, events] pair', (r) => m(r.contenders.ready));
      line('selector.select(0)', (r) => m(r.contenders.sel));
      line('selector - raw (median of per-repeat differences)', (r) =>
        median(r.contenders.sel!.samples.map((x, i) => x - r.contenders.selraw!.samples[i]!)));
      line('rest: select(0) - poller call - _ready() (timeout conversion, maxevents, the calls; median of per-repeat values)', (r) =>
        median(r.contenders.sel!.samples.map((x, i) => x - r.contenders.inner!.samples[i]! - r.contenders.ready!.samples[i]!)));
      if (pyInfo) {
        line('CPython: raw ep.poll(0) / p.poll(0)', (r) => m(r.contenders.pyraw));
        line('CPython: selector.select(0)', (r) => m(r.contenders.pysel));
      }
    }

    out.push('');
    // Issue 19's target for epoll; poll keeps its earlier one.
    for (const [label, rawCall, target] of [['EpollSelector', 'epoll.poll(0)', 1.2], ['PollSelector', 'poll.poll(0)', 1.3]] as const) {
      const rs = selRows.filter((r) => r.label === label && r.contenders.sel && r.contenders.selraw);
      if (!rs.length) continue;
      const per = rs.map((r) => ({ n: r.n, x: ratio(r.contenders.sel, r.contenders.selraw)! }));
      const worst = per.reduce((a, b) => (b.x > a.x ? b : a));
      out.push(`${label}.select(0) / ${rawCall}: ${worst.x.toFixed(2)}x (target <= ${target}x): ${worst.x <= target ? 'PASS' : 'FAIL'}`);
      out.push(`  (worst of ${per.map((p) => `N=${p.n} ${p.x.toFixed(2)}x`).join(', ')})`);
    }
  }
}

/** The promise twins table and its verdicts. */
export function reportTwins(out: string[], asyncRows: Row[]): void {
  // ---- promise twins with an event ready
  if (asyncRows.length) {
    out.push('');
    out.push('### promise twins with an event ready: `await twin()` vs the sync call with timeout 0');
    out.push('');
    out.push('One ready descriptor, N=1, the same object for both; ns per call (the twin\'s includes its `await`).');
    out.push('');
    out.push('| twin / sync call | sync ns | twin ns | twin / sync | twin - sync ns |');
    out.push('|---|---:|---:|---:|---:|');
    for (const row of asyncRows) {
      const { sync0, twin } = row.contenders;
      out.push(`| ${row.label} | ${fmtNs(sync0)} | ${fmtNs(twin)} | ${fmtRatio(ratio(twin, sync0))} | ${diff(twin, sync0)} |`);
    }
    out.push('');
    // Issue 22's target, read on EpollSelector (DefaultSelector on Linux) and on epoll itself.
    for (const label of ['EpollSelector: selectAsync() / select(0)', 'epoll: pollAsync() / poll(0)']) {
      const row = asyncRows.find((r) => r.label === label);
      if (!row) continue;
      const x = ratio(row.contenders.twin, row.contenders.sync0)!;
      out.push(`${label.replace(': ', '.').replace(' / ', ' ready / ')}: ${x.toFixed(2)}x (target <= 1.3x): ${x <= 1.3 ? 'PASS' : 'FAIL'}`);
    }
  }
}

/** The wake-up latency table and its verdict. */
export function reportLatency(out: string[], lat: LatencyResult): void {
  // ---- wake-up latency table
  {
    out.push('');
    out.push('### selectAsync wake-up latency: a worker thread writes 1 byte, the main thread resumes');
    out.push('');
    const net = lat.paths.find((p) => p.key === 'net');
    const netP50 = net ? stats(net.samples).p50 : NaN;
    out.push(
      `Per sample: the main thread arms the wait, posts 'go'; the worker sleeps a random 0.2-1 ms, stores process.hrtime.bigint() ` +
        `in a SharedArrayBuffer and writes; latency = main's hrtime where the wait resumes minus that stamp. ` +
        `${lat.blocks} rounds of ${lat.paths.length} paths x 100-sample blocks (rotating order) after one warm-up block each; ` +
        `${(lat.elapsedMs / 1000).toFixed(1)} s${lat.capped ? ', STOPPED BY THE TIME CAP' : ''}.`,
    );
    out.push('');
    out.push('| wake-up path | samples | min µs | p50 µs | p99 µs | p50 / net p50 |');
    out.push('|---|---:|---:|---:|---:|---:|');
    const us = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(1));
    for (const p of lat.paths) {
      const st = stats(p.samples);
      out.push(`| ${p.label} | ${p.samples.length} | ${us(st.min)} | ${us(st.p50)} | ${us(st.p99)} | ${fmtRatio(st.p50 / netP50)} |`);
    }
    out.push('');
    out.push(
      `Clock check (one CLOCK_MONOTONIC for both threads): post < writer's stamp < wake held in ` +
        `${lat.checked - lat.clockViolations} of ${lat.checked} samples (warm-up included).`,
    );
    if (lat.splits.length) {
      out.push('');
      out.push(
        `Where the promise twins' wake-up goes: a second, instrumented pass (the addon's watcher callback, the timeout-0 ` +
          `epoll_wait/poll binding and fdhandle_unwatch wrapped on the shared binding object to stamp entry and return; ` +
          `${lat.splits[0]!.total.length} samples each, interleaved). p50 of each segment, µs (segment p50s need not add up to the total's p50):`,
      );
      out.push('');
      out.push(
        '| path (instrumented) | write -> callback enters JS | JS to the timeout-0 syscall | timeout-0 syscall | result, #finish to unwatch | ' +
          'fdhandle_unwatch | onSettle, resolve | callback return -> await resumes | total |',
      );
      out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
      for (const sp of lat.splits) {
        const segs = [sp.toCallback, sp.preSyscall, sp.syscall, sp.preUnwatch, sp.unwatch, sp.postUnwatch, sp.toResume, sp.total];
        out.push(`| ${sp.label} | ${segs.map((x) => us(stats(x).p50)).join(' | ')} |`);
      }
    }
    out.push('');
    const sels = lat.paths.filter((p) => p.key === 'epsel' || p.key === 'pollsel').map((p) => ({ p, r: stats(p.samples).p50 / netP50 }));
    if (sels.length && net) {
      const worst = sels.reduce((a, b) => (b.r > a.r ? b : a));
      out.push(`selectAsync wake-up p50 vs Node net 'data' p50: ${worst.r.toFixed(2)}x (target <= 1.0x): ${worst.r <= 1.0 ? 'PASS' : 'FAIL'}`);
      out.push(`  (worst of ${sels.map(({ p, r }) => `${p.label.replace('.selectAsync()', '')} ${r.toFixed(2)}x`).join(', ')})`);
    }
  }
}
