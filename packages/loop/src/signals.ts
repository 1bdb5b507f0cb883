/**
 * The loop's signal handlers: CPython 3.11 Lib/asyncio/unix_events.py
 * add_signal_handler, remove_signal_handler, _handle_signal and
 * _check_signal, on Node's process signal events instead of a wakeup fd.
 * BaseEventLoop (base-events.ts) holds one SignalHandlers.
 */
import { constants as osConstants } from 'node:os';
import { describe } from '@iomux/core-native';
import { RuntimeError, ValueError } from '@iomux/core-native/error-classes';
import type { BaseEventLoop } from './base-events.js';
import type { Handle } from './events.js';

/** A signal, by name ('SIGINT') or number (2), as the platform numbers it. */
export type Signal = NodeJS.Signals | number;

const SIGNALS = osConstants.signals as Readonly<Record<string, number>>;
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(SIGNALS).map(([name, num]) => [num, name as NodeJS.Signals]));

/**
 * unix_events.py `_check_signal`: the Node name of `sig`.
 * @throws {TypeError} not a signal number or name
 * @throws {ValueError} 'invalid signal number N' (or name)
 */
export function signalName(sig: unknown): NodeJS.Signals {
  if (typeof sig === 'string') {
    if (!Object.hasOwn(SIGNALS, sig)) throw new ValueError(`invalid signal name ${JSON.stringify(sig)}`);
    return sig as NodeJS.Signals;
  }
  if (typeof sig !== 'number' || !Number.isInteger(sig)) {
    throw new TypeError(`sig must be an int or a signal name, not ${typeof sig === 'object' ? describe(sig) : typeof sig}`);
  }
  const name = SIGNAL_NAMES.get(sig);
  if (name === undefined || sig <= 0) throw new ValueError(`invalid signal number ${sig}`);
  return name;
}

/** One loop's handlers: the handle and the process listener, by signal name. */
export class SignalHandlers {
  readonly #loop: BaseEventLoop;
  readonly #entries = new Map<NodeJS.Signals, { handle: Handle; listener: () => void }>();

  constructor(loop: BaseEventLoop) {
    this.#loop = loop;
  }

  /**
   * Installs `handle` for signal `name` (`sig` as the caller gave it, for
   * the error), replacing the loop's earlier handler for it.
   * @throws {RuntimeError} 'sig N cannot be caught' (SIGKILL, SIGSTOP)
   */
  add(name: NodeJS.Signals, sig: Signal, handle: Handle): void {
    const loop = this.#loop;
    const listener = (): void => {
      // unix_events.py _handle_signal
      if (this.#entries.get(name)?.handle !== handle) return; // a race
      if (handle._cancelled) {
        loop.removeSignalHandler(name);
      } else if (!loop._closed) {
        loop._ready.push(handle);
        loop._wakeup();
      }
    };
    try {
      process.on(name, listener);
    } catch (exc) {
      if ((exc as { code?: unknown }).code === 'EINVAL') throw new RuntimeError(`sig ${describe(sig)} cannot be caught`);
      throw new RuntimeError((exc as Error).message);
    }
    const old = this.#entries.get(name);
    if (old !== undefined) process.off(name, old.listener);
    this.#entries.set(name, { handle, listener });
  }

  /** Removes the handler for signal `name`; true if there was one. */
  remove(name: NodeJS.Signals): boolean {
    const entry = this.#entries.get(name);
    if (entry === undefined) return false;
    this.#entries.delete(name);
    process.off(name, entry.listener);
    return true;
  }

  /** The signals with a handler installed, as a new array. */
  names(): NodeJS.Signals[] {
    return [...this.#entries.keys()];
  }
}
