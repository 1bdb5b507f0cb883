// The shared backend suite: a case-by-case port of CPython 3.11's
// Lib/test/test_selectors.py (BaseSelectorTestCase, ScalableSelectorMixIn,
// and EpollSelectorTestCase.test_register_file), under the same case names.
// Each `<mech>-selector.test.ts` runs it against one class, as CPython's
// `<Mech>SelectorTestCase` classes do; an absent backend is skipped with
// CPython's own reason text ('Test needs selectors.EpollSelector').
//
// Where a Python case leans on something Node cannot do, the port says so
// next to it: the signal cases (a JS signal handler cannot run, let alone
// raise, while the thread is inside a blocking wait), the mocks (patched
// per instance instead of per class) and dup2 (emulated with dup).
//
// The cases live in one file per concern: base-selector-keys.suite.ts
// (registration), base-selector-select.suite.ts (selecting) and
// base-selector-wait.suite.ts (waiting, signals, many descriptors).
import type { Test } from 'tap';
import { type BaseSelector } from '@iomux/selectors';
import type { SelectorClass } from './base-selector-support.js';
import { keyCases } from './base-selector-keys.suite.js';
import { selectCases } from './base-selector-select.suite.js';
import { waitCases } from './base-selector-wait.suite.js';

export type { SelectorClass } from './base-selector-support.js';

/**
 * Runs CPython's test_selectors.py cases against `SelectorClass` as the
 * subtest `${name}TestCase` (e.g. 'EpollSelectorTestCase'). `name` is the
 * class's Python name ('SelectSelector', 'PollSelector', 'EpollSelector',
 * 'DefaultSelector'); an undefined class skips with CPython's reason.
 */
export function selectorSuite(t: Test, SelectorClass: SelectorClass | undefined, name: string): void {
  if (SelectorClass === undefined) {
    t.test(`${name}TestCase`, { skip: `Test needs selectors.${name}` }, async () => {});
    return;
  }
  t.test(`${name}TestCase`, async (t) => {
    cases(t, SelectorClass, name);
  });
}

function cases(t: Test, SELECTOR: SelectorClass, name: string): void {
  /** `s = self.SELECTOR(); self.addCleanup(s.close)`. */
  const make = (t: Test): BaseSelector => {
    const s = new SELECTOR();
    t.teardown(() => s.close());
    return s;
  };
  // The class a selector instance really is (DefaultSelector makes one of
  // the others; in CPython it *is* one of the others).
  const probe = new SELECTOR();
  const instanceName = probe.constructor.name;
  const instanceClass = probe.constructor;
  probe.close();

  const ctx = { make, name, instanceName, instanceClass };
  keyCases(t, ctx);
  selectCases(t, ctx);
  waitCases(t, ctx);
}
