/**
 * DefaultSelector and backend choice by configuration.
 *
 * Python's DefaultSelector is the best backend the platform has (kqueue,
 * epoll, devpoll, poll, select, in that order). iomux keeps that default and
 * lets it be chosen, strongest first, by the IOMUX_SELECTOR environment
 * variable, or by configureDefaultSelector({ backend }) with a name or a
 * per-platform map keyed by process.platform.
 */
import { pyTypeName } from '@iomux/core-native';
import { devpoll, epoll, kqueue, poll } from '@iomux/select';
import { ValueError } from '@iomux/core-native/error-classes';
import type { BaseSelector } from './base-selector.js';
import { EpollSelector } from './epoll-selector.js';
import { KqueueSelector } from './kqueue-selector.js';
import { DevpollSelector } from './devpoll-selector.js';
import { PollSelector } from './poll-selector.js';
import { SelectSelector } from './select-selector.js';

/** The backends Python's selectors module knows, in its order of preference. */
export type BackendName = 'kqueue' | 'epoll' | 'devpoll' | 'poll' | 'select';

/** A backend name, or a map from `process.platform` (or 'default') to one. */
export type BackendConfig = string | Partial<Record<NodeJS.Platform | 'default', string>>;

/** `configureDefaultSelector()`'s argument. */
export interface SelectorConfig {
  /** A backend name or a per-platform map; null or omitted returns to the default choice. */
  backend?: BackendConfig | null;
}

type SelectorClass = new () => BaseSelector;

/**
 * Python's preference order; each entry only where the platform has it,
 * and flagged when it is an emulation (chosen only by configuration).
 */
const ORDER: Array<[BackendName, SelectorClass | undefined, emulated?: boolean]> = [
  ['kqueue', kqueue !== undefined ? (KqueueSelector as SelectorClass) : undefined, kqueue?.emulated],
  ['epoll', epoll !== undefined ? (EpollSelector as SelectorClass) : undefined],
  // /dev/poll is native only where epoll is not (illumos, Solaris): on Linux it is the emulation.
  ['devpoll', devpoll !== undefined ? (DevpollSelector as SelectorClass) : undefined, devpoll !== undefined && epoll !== undefined],
  ['poll', poll !== undefined ? (PollSelector as SelectorClass) : undefined],
  ['select', SelectSelector as SelectorClass],
];

const KNOWN = new Set<string>(ORDER.map(([n]) => n));

/** The backends this platform has, best first, emulated ones included: e.g. ['kqueue', 'epoll', 'poll', 'select'] on Linux. */
export function availableSelectors(): string[] {
  return ORDER.filter(([, cls]) => cls !== undefined).map(([n]) => n);
}

/** The selector class for `name`; ValueError naming the available ones. */
export function selectorClass(name: string): SelectorClass {
  if (typeof name !== 'string') throw new TypeError(`backend must be a name, not '${pyTypeName(name)}'`);
  const n = name.trim().toLowerCase();
  const found = ORDER.find(([k]) => k === n);
  const avail = availableSelectors().join(', ');
  if (found === undefined || !KNOWN.has(n)) {
    throw new ValueError(`unknown selector backend '${name}'; available: ${avail}`);
  }
  if (found[1] === undefined) {
    throw new ValueError(`selector backend '${name}' is not available on ${process.platform}; available: ${avail}`);
  }
  return found[1];
}

let configured: BackendConfig | null = null;

/**
 * Chooses DefaultSelector's backend: a name ('epoll', 'poll', ...) or a
 * per-platform map such as `{ linux: 'epoll', darwin: 'kqueue', default:
 * 'poll' }`; null restores Python's choice. Checked now: an unknown or
 * unavailable backend for this platform is a ValueError naming the
 * available ones. IOMUX_SELECTOR, when set, still wins.
 */
export function configureDefaultSelector(config: SelectorConfig): void {
  if (typeof config !== 'object' || config === null) throw new TypeError('configureDefaultSelector() takes { backend }');
  const backend = config.backend ?? null;
  if (backend !== null) {
    const name = pick(backend);
    if (name !== null) selectorClass(name);
  }
  configured = backend;
}

function pick(config: BackendConfig): string | null {
  if (typeof config === 'string') return config;
  if (typeof config !== 'object' || config === null) throw new TypeError('backend must be a name or a per-platform map');
  const name = config[process.platform] ?? config.default;
  return name ?? null;
}

/** The backend DefaultSelector uses now, and why. */
export function defaultSelectorBackend(): string {
  const env = process.env.IOMUX_SELECTOR;
  if (env !== undefined && env !== '') {
    selectorClass(env);
    return env.trim().toLowerCase();
  }
  if (configured !== null) {
    const name = pick(configured);
    if (name !== null) {
      selectorClass(name);
      return name.trim().toLowerCase();
    }
  }
  return ORDER.find(([, cls, emulated]) => cls !== undefined && emulated !== true)![0];
}

/**
 * The selector to use: `new DefaultSelector()` makes the configured backend
 * (see configureDefaultSelector), else the best available one, as Python's
 * DefaultSelector is. `DefaultSelector.backend` names the choice.
 */
export const DefaultSelector: {
  /** Makes a selector of the configured (or best available) backend. */
  new <D = unknown>(): BaseSelector<D>;
  /** The backend `new DefaultSelector()` would use now ('epoll', 'poll', ...). */
  readonly backend: string;
} = class DefaultSelector {
  constructor() {
    const cls = selectorClass(defaultSelectorBackend());
    return new cls();
  }
  static get backend(): string {
    return defaultSelectorBackend();
  }
  static [Symbol.hasInstance](x: unknown): boolean {
    try {
      return x instanceof selectorClass(defaultSelectorBackend());
    } catch {
      return false;
    }
  }
} as never;

/** The backend name of a selector instance ('epoll', 'poll', ...). */
export function selectorBackend(selector: BaseSelector): string {
  return (selector.constructor as { backend?: string }).backend ?? selector.constructor.name;
}
