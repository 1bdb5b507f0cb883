/**
 * Test support: the environment for a child process that must run as a
 * user runs it, without tap's instrumentation.
 */

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
