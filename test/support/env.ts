/**
 * Test support: the environment for a child process that must run as a
 * user runs it, without tap's instrumentation.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * process.env less what tap adds to instrument child processes (NODE_OPTIONS
 * --import, NODE_V8_COVERAGE, _TAPJS_*): the hooks add tens of MiB, and
 * write a file at exit, which fails under a low descriptor limit.
 */
export function plainEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_OPTIONS' || k === 'NODE_V8_COVERAGE' || k.startsWith('_TAPJS_')) continue;
    env[k] = v;
  }
  return env;
}

/**
 * Runs `node [nodeArgs] -e code` under `ulimit -n nofile` (a limit can be
 * lowered, never raised), as a user runs it; resolves with its exit code and
 * output once it exits.
 */
export async function nodeUnderLimit(nofile: number, code: string, nodeArgs: string[] = []): Promise<{ status: number | null; out: string; err: string }> {
  const script = `ulimit -n ${nofile} && exec "$0" "$@"`;
  const child = spawn('bash', ['-c', script, process.execPath, ...nodeArgs, '-e', code], { stdio: ['ignore', 'pipe', 'pipe'], env: plainEnv() });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const [status] = (await once(child, 'exit')) as [number | null];
  return { status, out, err };
}
