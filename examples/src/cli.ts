/**
 * What every example server shares: its command line (`--host`, `--port`,
 * and `--backend` where a backend can be chosen), the one `listening on`
 * line tests and users wait for, and a clean stop on SIGINT or SIGTERM.
 */

export interface ServerArgs {
  host: string;
  port: number;
  backend?: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParseOptions {
  /** Accept `--backend NAME` (validated by the example). */
  backend?: boolean;
  usage: string;
}

/**
 * Walks a command line of `--opt value` / `--opt=value` options: calls
 * `handle(name, next)` for each, where `next()` takes the option's value.
 * `--help` prints `usage` and exits; an option `handle` refuses (returns
 * false) is a UsageError.
 */
export function forEachOption(argv: string[], usage: string, handle: (name: string, next: () => string) => boolean): void {
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const name = arg;
    const next = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (name === '--help' || name === '-h') {
      process.stdout.write(usage + '\n');
      process.exit(0);
    }
    if (!handle(name, next)) throw new UsageError(`unknown option ${name}`);
  }
}

/** An integer option in [min, max], or a UsageError naming the range. */
export function intOption(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, not '${v}'`);
  return n;
}

/** Parses `--host H --port P [--backend B]` (also `--opt=value`). */
export function parseServerArgs(argv: string[], opts: ParseOptions): ServerArgs {
  const out: ServerArgs = { host: '127.0.0.1', port: 0 };
  forEachOption(argv, opts.usage, (name, next) => {
    switch (name) {
      case '--host':
      case '-H':
        out.host = next();
        return true;
      case '--port':
      case '-p':
        out.port = intOption('--port', next(), 0, 65535);
        return true;
      case '--backend':
      case '-b':
        if (!opts.backend) return false;
        out.backend = next();
        return true;
      default:
        return false;
    }
  });
  return out;
}

/** A Unix socket path as the kernel takes it: `@name` is the Linux abstract name "\0name". */
export function unixSocketName(p: string): string {
  return p.startsWith('@') ? `\0${p.slice(1)}` : p;
}

/** Prints the line the tests (and users) wait for, and how to connect (`nc HOST PORT` unless `connectWith` says). */
export function announce(host: string, port: number, backend: string, connectWith = `nc ${host} ${port}`): void {
  const shown = host.includes(':') ? `[${host}]` : host;
  // One write, so a reader never sees the first line without the second.
  process.stdout.write(`listening on ${shown}:${port} (backend ${backend})\nconnect with: ${connectWith}\n`);
}

/**
 * Resolves on the first SIGINT or SIGTERM; `requested()` says whether one
 * came. The handlers are removed once it fires, so a second Ctrl-C kills
 * the process the usual way.
 */
export function stopSignal(): { requested(): boolean; promise: Promise<NodeJS.Signals> } {
  let fired = false;
  const promise = new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      fired = true;
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  return { requested: () => fired, promise };
}
