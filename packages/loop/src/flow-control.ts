/**
 * asyncio's FlowControlMixin (streams.py): the protocol side of a writer's
 * drain(), shared by StreamReaderProtocol and SubprocessStreamProtocol as
 * asyncio shares it.
 */
import { ConnectionResetError } from '@iomux/core-native/error-classes';
import { deferred, type Waiter } from './stream-reader.js';

/** pauseWriting/resumeWriting and the drain() waiters they release. */
export class FlowControlMixin {
  /** @internal The transport asked to pause writing. */
  _paused = false;
  /** @internal connectionLost() has run. */
  _connectionLost = false;
  #drainWaiters: Waiter[] = [];

  /** The transport's buffer went over its high-water mark: drain() waits from now on. */
  pauseWriting(): void {
    this._paused = true;
  }

  /** The transport's buffer went under its low-water mark: every waiting drain() returns. */
  resumeWriting(): void {
    this._paused = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** @internal FlowControlMixin.connection_lost: wakes the writers if paused. */
  _flowConnectionLost(exc: Error | null): void {
    this._connectionLost = true;
    if (!this._paused) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) {
      if (exc === null) w.resolve();
      else w.reject(exc);
    }
  }

  /** @internal FlowControlMixin._drain_helper, for a writer's drain(). */
  async _drainHelper(): Promise<void> {
    if (this._connectionLost) throw new ConnectionResetError('Connection lost');
    if (!this._paused) return;
    const [p, w] = deferred();
    this.#drainWaiters.push(w);
    await p;
  }
}
