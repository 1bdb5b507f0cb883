// The shared suite (base-selector.suite.ts) run against a subclass of each
// backend that overrides select() and selectAsync(), delegating: a user's
// subclass must keep every case passing, selectEach and selectEachAsync
// included (issue 19).
import t from 'tap';
import * as selectors from '@iomux/selectors';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { selectorSuite, type SelectorClass } from './base-selector.suite.js';

checkNoFdLeak(t);

for (const name of ['SelectSelector', 'PollSelector', 'EpollSelector', 'KqueueSelector', 'DevpollSelector']) {
  const Base = (selectors as Record<string, unknown>)[name] as typeof selectors.SelectSelector | undefined;
  if (Base === undefined) {
    selectorSuite(t, undefined, name);
    continue;
  }
  class Overriding extends Base {
    override select(timeout?: number | null): selectors.Ready {
      return super.select(timeout);
    }
    override selectAsync(timeout?: number | null, options?: selectors.SelectAsyncOptions): Promise<selectors.Ready> {
      return super.selectAsync(timeout, options);
    }
  }
  // The suite keys a few skips on the class name.
  Object.defineProperty(Overriding, 'name', { value: name });
  selectorSuite(t, Overriding as SelectorClass, name);
}
