// CPython 3.11 test_selectors.py DevpollSelectorTestCase: the shared suite
// (base-selector.suite.ts) run against DevpollSelector; on Linux through
// the addon's /dev/poll emulation.
import t from 'tap';
import * as selectors from '@iomux/selectors';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { selectorSuite, type SelectorClass } from './base-selector.suite.js';

checkNoFdLeak(t);

selectorSuite(t, (selectors as Record<string, unknown>).DevpollSelector as SelectorClass | undefined, 'DevpollSelector');
