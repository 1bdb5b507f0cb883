/** What every bench script does at its edges: run main, save its raw results. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Runs `main` and sets the exit code from it: its result, or 1 with the error's stack. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      if (code !== 0) process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * Writes `data` as bench/results/<kind>-<time>.json under `root` and logs
 * where; a failure to write is ignored (the results are a convenience).
 */
export function saveResults(root: string, kind: string, data: unknown, log: (line: string) => void): void {
  try {
    const out = path.join(root, 'bench', 'results');
    fs.mkdirSync(out, { recursive: true });
    const file = path.join(out, `${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify(data, null, 1));
    log(`raw results: ${path.relative(root, file)}`);
  } catch {
    // results are a convenience only
  }
}
