/**
 * What an entry point gives the runner: one call, built from the episode's
 * values, and what the runner must know to judge it.
 */
import type { Env } from './env.js';
import type { V } from './values.js';

export interface Call {
  /** The receiver, for the reproduction line (`<recv>.method(args)`). */
  recv?: V;
  args: V[];
  invoke(): unknown;
  /** Which results are descriptors the caller now owns. */
  ret?: 'fd' | 'fds' | 'fd0';
  /** A returned promise settles by itself within this many ms; null: only once the settlers run. */
  bound?: number | null;
  /** The call may clear O_NONBLOCK or a socket's timeout: restore them afterwards. */
  changesBlocking?: boolean;
  /** Descriptors handed over for adoption (fresh dups): closed by the runner if the call failed without taking them. */
  adopt?: number[];
  /** Runs after the call, whatever happened (restores global state). */
  after?(): void;
}

export interface Target {
  name: string;
  weight: number;
  make(env: Env): Call;
}

/** A list of values, described. */
export function vs(...xs: V[]): V[] {
  return xs;
}

/** `{ v, d }` for a value the fuzzer made valid on purpose. */
export function ok(v: unknown, d: string): V {
  return { v, d };
}

/** Collects the adoptable descriptors among a call's arguments. */
export function adopted(...xs: Array<V & { adopt?: number }>): number[] {
  const out: number[] = [];
  for (const x of xs) if (x.adopt !== undefined) out.push(x.adopt);
  return out;
}

/** Calls `f` with `args`, keeping the argument count (some entry points check arguments.length). */
export function apply(f: unknown, self: unknown, args: V[]): unknown {
  return Reflect.apply(f as (...a: unknown[]) => unknown, self, args.map((a) => a.v));
}
