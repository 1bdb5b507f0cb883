// Test helpers for the raw kqueue binding (native/kqueue.cc): packing and
// unpacking kevent_layout entries, one call of kevent() with a timeout in
// seconds, and whether a descriptor polls readable.
import { binding, selectConstants } from '@iomux/core-native';

export const B = binding;
export const L = binding.kevent_layout!;
export const K = selectConstants as Readonly<Record<string, number>>;

export interface Kev {
  ident: number;
  filter: number;
  flags: number;
  fflags: number;
  data: number;
  udata: number;
}

const U32 = 2 ** 32;

/** Entries in kevent_layout (64-bit fields below 2**53 only). */
export function pack(evs: Array<Partial<Kev>>): Int32Array {
  const a = new Int32Array(Math.max(evs.length, 1) * L.stride);
  evs.forEach((e, i) => {
    const o = i * L.stride;
    const split = (v: number, lo: number, hi: number): void => {
      a[o + lo] = Number(BigInt.asIntN(32, BigInt(v)));
      a[o + hi] = Number(BigInt.asIntN(32, BigInt(v) >> 32n));
    };
    split(e.ident ?? 0, L.identLo, L.identHi);
    a[o + L.filter] = e.filter ?? K.KQ_FILTER_READ!;
    a[o + L.flags] = e.flags ?? K.KQ_EV_ADD!;
    a[o + L.fflags] = e.fflags ?? 0;
    split(e.data ?? 0, L.dataLo, L.dataHi);
    split(e.udata ?? 0, L.udataLo, L.udataHi);
  });
  return a;
}

export function unpack(a: Int32Array, n: number): Kev[] {
  const out: Kev[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * L.stride;
    out.push({
      ident: (a[o + L.identLo]! >>> 0) + (a[o + L.identHi]! >>> 0) * U32,
      filter: a[o + L.filter]!,
      flags: a[o + L.flags]!,
      fflags: a[o + L.fflags]! >>> 0,
      data: (a[o + L.dataLo]! >>> 0) + a[o + L.dataHi]! * U32,
      udata: (a[o + L.udataLo]! >>> 0) + (a[o + L.udataHi]! >>> 0) * U32,
    });
  }
  return out;
}

/** kevent() with changes and room for nevents; timeout in seconds, null blocks. */
export function kev(kq: number, changes: Array<Partial<Kev>>, nevents: number, timeout: number | null = 0): Kev[] {
  const events = new Int32Array(Math.max(nevents, 1) * L.stride);
  const sec = timeout === null ? -1 : Math.floor(timeout);
  const nsec = timeout === null ? 0 : Math.round((timeout - Math.floor(timeout)) * 1e9);
  const n = B.kevent!(kq, changes.length ? pack(changes) : null, changes.length, events, nevents, sec, nsec);
  return unpack(events, n);
}

/** Whether fd polls readable now. */
export function readable(fd: number): boolean {
  const out = new Int32Array(2);
  return B.poll(Int32Array.of(fd, K.POLLIN!), 1, 0, out) === 1;
}

/** A kqueue owned by an fd handle (closed, with its emulated state, by close()). */
export function kqueue(): { fd: number; close: () => void } {
  const fd = B.kqueue_create!();
  const h = B.fdhandle_new(fd);
  return { fd, close: () => B.fdhandle_close(h) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
