/**
 * What counts as a documented error: an instance of an error class one of
 * the four packages exports, the built-in TypeError (but not one of Node's
 * own ERR_* errors), or what the fuzzer itself threw and the call let
 * through. The raw binding throws plain Errors carrying errno/pyType, which
 * its contract says fromNative() maps: those are judged after mapping.
 */
import * as core from '@iomux/core-native';
import * as select from '@iomux/select';
import * as selectors from '@iomux/selectors';
import * as loop from '@iomux/loop';
import { types } from 'node:util';
import { isFuzzerOwn } from './values.js';

const isProxy = (x: unknown): boolean => types.isProxy(x);

type Cls = abstract new (...a: never[]) => unknown;

function errorClasses(): Array<[string, Cls]> {
  const out = new Map<Cls, string>();
  for (const mod of [core, select, selectors, loop] as Array<Record<string, unknown>>) {
    for (const [name, v] of Object.entries(mod)) {
      if (typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error) out.set(v as Cls, name);
    }
  }
  return [...out].map(([c, n]) => [n, c]);
}

export const DOCUMENTED: Array<[string, Cls]> = errorClasses();

/** Whether `e` is a documented error; `binding` maps it as the binding's contract says first. */
export function documented(e: unknown, binding = false): boolean {
  if (isFuzzerOwn(e)) return true;
  // A thrown Proxy's traps would run (and may throw) in instanceof: it is no documented error.
  if (isProxy(e)) return false;
  if (e instanceof AggregateError) return e.errors.length > 0 && e.errors.every((x) => documented(x, binding));
  const x = binding ? core.fromNative(e) : e;
  if (typeof x !== 'object' || x === null) return false;
  const code = (x as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_')) return false;
  if (Object.getPrototypeOf(x) === TypeError.prototype) return true;
  return DOCUMENTED.some(([, c]) => x instanceof c);
}

/** Messages of TypeErrors V8 raises for a bug rather than for a checked argument (noted, not counted). */
const ENGINE_TYPEERROR = /Cannot read properties of|is not a function|is not iterable|Cannot convert a|Cannot mix BigInt|is not a constructor|Cannot destructure/;

export function suspectTypeError(e: unknown): boolean {
  if (isFuzzerOwn(e) || isProxy(e)) return false;
  return e instanceof TypeError && ENGINE_TYPEERROR.test(e.message) && !/private member/.test(e.message);
}

/** A short, stable description of an error for grouping and reports. */
export function describeError(e: unknown): string {
  if (isProxy(e)) return 'a Proxy';
  if (e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e)) {
    const x = e as Error & { code?: unknown };
    const name = x.name ?? x.constructor?.name ?? 'Error';
    const code = typeof x.code === 'string' ? ` [${x.code}]` : '';
    return `${name}${code}: ${String(x.message).slice(0, 160)}`;
  }
  try {
    return `non-Error thrown: ${typeof e} ${String(e).slice(0, 80)}`;
  } catch {
    return `non-Error thrown: ${typeof e}`;
  }
}
