/**
 * The visiting half of a backend whose poller reports each ready
 * descriptor to a callback (Epoll.pollEach, Kqueue.controlEach,
 * Devpoll.pollEach): the key lookup, the selector's event bits and the
 * count that selectEach() returns, shared by those backends.
 */
import type { Ready, Visit } from './base-selector.js';
import type { SelectorKey } from './selector-key.js';

const NO_VISIT: Visit<any> = () => {};

/** One ready descriptor as the poller reports it: its number and the poller's own event value. */
export type OnEvent = (fd: number, event: number) => void;

export class KeyVisits<D> {
  readonly #fdToKey: ReadonlyMap<number, SelectorKey<D>>;
  /** The poller's event value as EVENT_READ/EVENT_WRITE bits. */
  readonly #bits: (event: number) => number;
  /** The visit of the run() going on now, and how many keys it was given. */
  #visit: Visit<D> = NO_VISIT;
  #visited = 0;

  constructor(fdToKey: ReadonlyMap<number, SelectorKey<D>>, bits: (event: number) => number) {
    this.#fdToKey = fdToKey;
    this.#bits = bits;
  }

  /** Calls `poll` with a callback that hands each registered key to `visit`: how many it visited. */
  run(visit: Visit<D>, poll: (onEvent: OnEvent) => unknown): number {
    const outer = this.#visit;
    const outerCount = this.#visited;
    this.#visit = visit;
    this.#visited = 0;
    try {
      poll(this.#onEvent);
      return this.#visited;
    } finally {
      this.#visit = outer;
      this.#visited = outerCount;
    }
  }

  /**
   * For a wait whose visits come later: a callback of its own (one per
   * wait, not per event) and the count it reached once the wait settles.
   * The pollers' promise twins visit during the call when events are there
   * at once and then resolve with their number unless a visit threw: then
   * the count is known now, and comes back without a then() hop.
   */
  later(visit: Visit<D>, wait: (onEvent: OnEvent) => Promise<unknown>): Promise<number> {
    let visited = 0;
    let calls = 0;
    let returns = 0;
    const fdToKey = this.#fdToKey;
    const bits = this.#bits;
    const onEvent: OnEvent = (fd, event) => {
      calls++;
      const key = fdToKey.get(fd);
      if (key !== undefined) {
        visited++;
        visit(key, bits(event) & key.events);
      }
      returns++;
    };
    const settled = wait(onEvent);
    if (calls > 0 && calls === returns) return Promise.resolve(visited);
    return settled.then(() => visited);
  }

  /**
   * selectAsync()'s `[key, events]` pairs from such a wait; at once (see
   * later()) when it found events during the call.
   */
  pairsLater(wait: (onEvent: OnEvent) => Promise<unknown>): Promise<Ready<D>> {
    const ready: Ready<D> = [];
    let calls = 0;
    const fdToKey = this.#fdToKey;
    const bits = this.#bits;
    const onEvent: OnEvent = (fd, event) => {
      calls++;
      const key = fdToKey.get(fd);
      if (key !== undefined) ready.push([key, bits(event) & key.events]);
    };
    const settled = wait(onEvent);
    if (calls > 0) return Promise.resolve(ready);
    return settled.then(() => ready);
  }

  readonly #onEvent: OnEvent = (fd, event) => {
    const key = this.#fdToKey.get(fd);
    if (key === undefined) return;
    this.#visited++;
    this.#visit(key, this.#bits(event) & key.events);
  };
}

/** The `[key, events]` pairs a visiting call gives: select() from selectEach's machinery. */
export function pairs<D>(run: (visit: Visit<D>) => unknown): Ready<D> {
  const ready: Ready<D> = [];
  run((key, events) => {
    ready.push([key, events]);
  });
  return ready;
}
