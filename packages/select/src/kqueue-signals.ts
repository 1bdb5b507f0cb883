/**
 * The kqueue emulation's SIGNAL filter, fed from Node (Linux): the addon
 * installs no signal handler (it would take the signal from Node's own), so
 * a process.on() listener per signal with a SIGNAL filter posts each
 * delivery to the kqueue (README: "Linux emulation: what differs"). Absent
 * on BSD, whose kernel does it.
 */
import { constants as osConstants } from 'node:os';
import { B } from './internal/native.js';
import { KQ_FILTER_SIGNAL } from './constants.js';

/** Whether this addon's kqueue is fed signals from here (the emulation). */
export const FEEDS = typeof B.kqueue_signals === 'function';
/** KQ_FILTER_SIGNAL, or 0 where kqueue is absent. */
export const SIGNAL = KQ_FILTER_SIGNAL ?? 0;
const SIGNAL_NAMES: string[] = [];
for (const [name, n] of Object.entries(osConstants.signals)) SIGNAL_NAMES[n] ??= name;
/** By kqueue descriptor: its state's cookie and the listeners feeding it. */
const feeds = new Map<number, { cookie: number; listeners: Map<number, () => void> }>();
// A kqueue collected without close(): its handle closes the descriptor, so
// its listeners go too (unless the number already feeds a newer kqueue).
export const feedsGone = new FinalizationRegistry<{ fd: number; cookie: number }>(({ fd, cookie }) => {
  if (feeds.get(fd)?.cookie === cookie) unfeed(fd);
});

/** Stops feeding kqueue `fd`: its listeners go. */
export function unfeed(fd: number): void {
  const feed = feeds.get(fd);
  if (feed === undefined) return;
  feeds.delete(fd);
  for (const [signo, fn] of feed.listeners) process.off(SIGNAL_NAMES[signo]!, fn);
}

/**
 * Listens to exactly the signals kqueue `fd` has SIGNAL filters for; true
 * when `owner` was registered for collection (close() unregisters it).
 */
export function syncFeed(fd: number, owner: object): boolean {
  const now = B.kqueue_signals!(fd);
  let feed = feeds.get(fd);
  if (feed !== undefined && feed.cookie !== now?.[0]) {
    unfeed(fd); // the number now names another kqueue, or none
    feed = undefined;
  }
  if (now === null || (now.length === 1 && feed === undefined)) return false;
  let registered = false;
  if (feed === undefined) {
    feed = { cookie: now[0]!, listeners: new Map() };
    feeds.set(fd, feed);
    feedsGone.register(owner, { fd, cookie: feed.cookie }, owner);
    registered = true;
  }
  const want = new Set(now.slice(1));
  for (const [signo, fn] of feed.listeners) {
    if (want.has(signo)) continue;
    process.off(SIGNAL_NAMES[signo]!, fn);
    feed.listeners.delete(signo);
  }
  const cookie = feed.cookie;
  for (const signo of want) {
    if (feed.listeners.has(signo)) continue;
    const fn = (): void => {
      if (B.kqueue_signal_post!(fd, cookie, signo) < 0 && feeds.get(fd)?.cookie === cookie) unfeed(fd);
    };
    process.on(SIGNAL_NAMES[signo]!, fn);
    feed.listeners.set(signo, fn);
  }
  if (feed.listeners.size === 0) feeds.delete(fd);
  return registered;
}

/** Whether any kqueue is fed (or kqueue `fd`, when given). */
export function hasFeeds(fd?: number): boolean {
  return fd === undefined ? feeds.size > 0 : feeds.has(fd);
}
