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
   */
  later(visit: Visit<D>, wait: (onEvent: OnEvent) => Promise<unknown>): Promise<number> {
    let visited = 0;
    const fdToKey = this.#fdToKey;
    const bits = this.#bits;
    const onEvent: OnEvent = (fd, event) => {
      const key = fdToKey.get(fd);
      if (key === undefined) return;
      visited++;
      visit(key, bits(event) & key.events);
    };
    return wait(onEvent).then(() => visited);
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

/** The same for a visiting wait: selectAsync() from selectEachAsync's machinery. */
export function pairsLater<D>(run: (visit: Visit<D>) => Promise<unknown>): Promise<Ready<D>> {
  const ready: Ready<D> = [];
  return run((key, events) => {
    ready.push([key, events]);
  }).then(() => ready);
}
