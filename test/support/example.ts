/**
 * Test support: start an example server through the same launcher a user
 * runs (`npm run example -- NAME`), wait for its `listening on HOST:PORT
 * (backend NAME)` line, and stop it with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

// Compiled to build/tests/test/support: the repository is four levels up.
export const REPO = path.resolve(__dirname, '..', '..', '..', '..');
export const LAUNCHER = path.join(REPO, 'examples', 'dist', 'run.js');

export interface RunningExample {
  child: ChildProcess;
  pid: number;
  host: string;
  port: number;
  backend: string;
  stdout: () => string;
  stderr: () => string;
  /** Sends `signal` and resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function startExample(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, timeoutMs = 15000): Promise<RunningExample> {
  return spawnListening(name, process.execPath, [LAUNCHER, name, ...args], { ...process.env, ...env }, timeoutMs);
}

/**
 * Spawns `cmd argv` and resolves once it prints its `listening on HOST:PORT
 * (backend NAME)` line; rejects if it exits first or stays silent for
 * `timeoutMs`. `label` names it in those errors.
 */
export function spawnListening(label: string, cmd: string, argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunningExample> {
  const child = spawn(cmd, argv, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} printed no listening line in ${timeoutMs} ms; stdout=${out} stderr=${err}`));
    }, timeoutMs);
    const early = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code}) before listening; stdout=${out} stderr=${err}`));
    };
    child.on('exit', early);
    child.stdout!.on('data', (d: string) => {
      out += d;
      const m = /^listening on \[?([^\]\s]+?)\]?:(\d+) \(backend ([\w-]+)\)$/m.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({
        child,
        pid: child.pid!,
        host: m[1]!,
        port: Number(m[2]),
        backend: m[3]!,
        stdout: () => out,
        stderr: () => err,
        stop(signal: NodeJS.Signals = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    });
  });
}

/** Connects, sends `payload`, and resolves with exactly payload.length echoed bytes. */
export function echoRoundTrip(host: string, port: number, payload: Buffer, timeoutMs = 10000): Promise<Buffer> {
  return echoRoundTripTo({ host, port }, payload, timeoutMs);
}

/** echoRoundTrip to any `net.connect()` target (a TCP address, or `{ path }` for a Unix socket). */
export function echoRoundTripTo(target: net.NetConnectOpts, payload: Buffer, timeoutMs = 10000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(target);
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`echo timed out after ${got}/${payload.length} bytes`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(payload));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= payload.length) {
        clearTimeout(timer);
        sock.end();
        resolve(Buffer.concat(chunks));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
