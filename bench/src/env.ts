/** Benchmark settings from the environment, shared by the bench scripts. */

/** A positive number from `name`, or `dflt` when unset or empty. */
export function envNumber(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
}

/** A comma-separated list from `name` (blank items dropped), or `dflt`'s. */
export function envList(name: string, dflt: string): string[] {
  const v = process.env[name];
  return (v === undefined || v === '' ? dflt : v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
