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

/** Parses `--host H --port P [--backend B]` (also `--opt=value`). */
export function parseServerArgs(argv: string[], opts: ParseOptions): ServerArgs {
  const out: ServerArgs = { host: '127.0.0.1', port: 0 };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--host':
      case '-H':
        out.host = next();
        break;
      case '--port':
      case '-p': {
        const v = next();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, not '${v}'`);
        out.port = n;
        break;
      }
      case '--backend':
      case '-b':
        if (!opts.backend) throw new UsageError(`unknown option ${arg}`);
        out.backend = next();
        break;
      case '--help':
      case '-h':
        process.stdout.write(opts.usage + '\n');
        process.exit(0);
      // falls through (never reached)
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  return out;
}

/** Prints the line the tests (and users) wait for, and how to connect. */
export function announce(host: string, port: number, backend: string): void {
  const shown = host.includes(':') ? `[${host}]` : host;
  // One write, so a reader never sees the first line without the second.
  process.stdout.write(`listening on ${shown}:${port} (backend ${backend})\nconnect with: nc ${host} ${port}\n`);
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
