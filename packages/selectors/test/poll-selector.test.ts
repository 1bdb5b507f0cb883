// CPython 3.11 test_selectors.py PollSelectorTestCase: the shared suite
// (base-selector.suite.ts) run against PollSelector.
import t from 'tap';
import * as selectors from '@iomux/selectors';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { selectorSuite, type SelectorClass } from './base-selector.suite.js';

checkNoFdLeak(t);

selectorSuite(t, (selectors as Record<string, unknown>).PollSelector as SelectorClass | undefined, 'PollSelector');
