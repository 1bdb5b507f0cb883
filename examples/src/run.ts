/**
 * The launcher behind `npm run example -- NAME [args]` and `npm start`: runs
 * examples/src/NAME.ts (compiled to dist) by name, passing the rest of the
 * command line through.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './cli.js';

const NOT_EXAMPLES = new Set(['run', 'cli']);

function available(): string[] {
  return fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .filter((n) => !NOT_EXAMPLES.has(n))
    .sort();
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const names = available();
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`usage: npm run example -- NAME [options]\nexamples: ${names.join(', ')}\n`);
    return name === undefined ? 2 : 0;
  }
  if (!names.includes(name)) {
    process.stderr.write(`unknown example '${name}'; available: ${names.join(', ')}\n`);
    return 2;
  }
  const mod = (await import(path.join(__dirname, `${name}.js`))) as { main(argv: string[]): Promise<number> };
  try {
    return await mod.main(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
