/**
 * asyncio's documentation example "Subprocesses" (`run('ls /zzz')`),
 * ported onto @iomux/loop: runs a command, streams its stdout and stderr
 * as they come, and prints its exit status.
 *
 *   npm run example -- loop-subprocess [--shell] [--backend epoll|poll|select] [--] COMMAND [ARG...]
 *
 *   npm run example -- loop-subprocess ls -l /
 *   npm run example -- loop-subprocess --shell 'ls /zzz; echo done'
 *
 * Changes from the Python example: the output is streamed chunk by chunk
 * (the Python one collects it with communicate()), each stream to the
 * matching stream of this process, and the exit code is the command's
 * (128 + N for a command killed by signal N, as shells say; 127 when the
 * program is not found; 2 for a bad command line).
 */
import { createSubprocessExec, createSubprocessShell, EventLoop, OSError, PIPE, type Process, type StreamReader } from '@iomux/loop';
import { UsageError } from './cli.js';

const USAGE = 'usage: npm run example -- loop-subprocess [--shell] [--backend epoll|poll|select] [--] COMMAND [ARG...]';

export interface SubprocessArgs {
  shell: boolean;
  backend?: string;
  command: string[];
}

/** Options first; the first other word (or what follows `--`) is the command. */
export function parseSubprocessArgs(argv: string[]): SubprocessArgs {
  const out: SubprocessArgs = { shell: false, command: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    if (a === '--shell') out.shell = true;
    else if (a === '--backend' || a.startsWith('--backend=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError('--backend needs a value');
      out.backend = v;
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else break;
  }
  out.command = argv.slice(i);
  if (out.command.length === 0) throw new UsageError(`no command\n${USAGE}`);
  if (out.shell && out.command.length !== 1) throw new UsageError('--shell takes the command as one argument');
  return out;
}

/** Copies `reader` to `out` as the data comes; resolves with the bytes copied. */
async function pump(reader: StreamReader, out: NodeJS.WriteStream): Promise<number> {
  let n = 0;
  for (;;) {
    const chunk = await reader.read(65536);
    if (chunk.length === 0) return n;
    n += chunk.length;
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parseSubprocessArgs(argv);
  let loop: EventLoop;
  try {
    loop = new EventLoop(args.backend !== undefined ? { selector: args.backend } : {});
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const shown = args.command.join(' ');
  try {
    return await loop.runUntilComplete(async () => {
      let proc: Process;
      try {
        proc = args.shell
          ? await createSubprocessShell(args.command[0]!, { stdout: PIPE, stderr: PIPE })
          : await createSubprocessExec(args.command[0]!, args.command.slice(1), { stdout: PIPE, stderr: PIPE });
      } catch (e) {
        if (!(e instanceof OSError)) throw e;
        process.stderr.write(`[${shown}: ${e.name}: ${e.message}]\n`);
        return 127;
      }
      await Promise.all([pump(proc.stdout!, process.stdout), pump(proc.stderr!, process.stderr)]);
      const code = await proc.wait();
      process.stdout.write(`[${shown} exited with ${code}]\n`);
      return code >= 0 ? code : 128 - code;
    });
  } finally {
    loop.close();
  }
}
