// CPython 3.11 test_selectors.py DefaultSelectorTestCase: the shared suite
// (base-selector.suite.ts) run against DefaultSelector.
import t from 'tap';
import * as selectors from '@iomux/selectors';
import { checkNoFdLeak } from '../../../test/support/fds.js';
import { selectorSuite, type SelectorClass } from './base-selector.suite.js';

checkNoFdLeak(t);

selectorSuite(t, (selectors as Record<string, unknown>).DefaultSelector as SelectorClass | undefined, 'DefaultSelector');
