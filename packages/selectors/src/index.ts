/**
 * @iomux/selectors: Python's selectors module for Node.js (CPython 3.11
 * Lib/selectors.py), with backend choice by configuration and promise
 * twins of select() that never block the JS thread.
 *
 *   import { DefaultSelector, EVENT_READ } from '@iomux/selectors';
 *   using sel = new DefaultSelector();
 *   sel.register(sock, EVENT_READ, onReadable);
 *   for (const [key, events] of await sel.selectAsync(1.0)) key.data(key.fileobj, events);
 *
 * @module @iomux/selectors
 */
export { SelectorKey } from './selector-key.js';
export {
  BaseSelector,
  BaseSelectorImpl,
  SelectorMapping,
  EVENT_READ,
  EVENT_WRITE,
  type Ready,
  type Visit,
  type SelectAsyncOptions,
} from './base-selector.js';
export { SelectSelector } from './select-selector.js';
export { PollLikeSelector, type Poller } from './poll-like-selector.js';
export { PollSelector } from './poll-selector.js';
export {
  DefaultSelector,
  availableSelectors,
  configureDefaultSelector,
  defaultSelectorBackend,
  selectorBackend,
  selectorClass,
  type BackendConfig,
  type BackendName,
  type SelectorConfig,
} from './default-selector.js';
import { devpoll, epoll, kqueue } from '@iomux/select';
import { EpollSelector as EpollSelectorImpl } from './epoll-selector.js';
import { KqueueSelector as KqueueSelectorImpl } from './kqueue-selector.js';
import { DevpollSelector as DevpollSelectorImpl } from './devpoll-selector.js';

/** EpollSelector: only where the platform has epoll (Linux), as in Python. */
export const EpollSelector: typeof EpollSelectorImpl | undefined = epoll !== undefined ? EpollSelectorImpl : undefined;
export type EpollSelector<D = unknown> = EpollSelectorImpl<D>;

/**
 * KqueueSelector: where the addon has kqueue (BSD and macOS natively; Linux
 * through its emulation, which DefaultSelector never picks there).
 */
export const KqueueSelector: typeof KqueueSelectorImpl | undefined = kqueue !== undefined ? KqueueSelectorImpl : undefined;
export type KqueueSelector<D = unknown> = KqueueSelectorImpl<D>;
/**
 * DevpollSelector: where the addon has /dev/poll (illumos and Solaris
 * natively; Linux through its emulation, which DefaultSelector never picks).
 */
export const DevpollSelector: typeof DevpollSelectorImpl | undefined = devpoll !== undefined ? DevpollSelectorImpl : undefined;
export type DevpollSelector<D = unknown> = DevpollSelectorImpl<D>;

// The contract's error classes, as Python's modules expose them.
export * from '@iomux/core-native/error-classes';
