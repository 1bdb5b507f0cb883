/**
 * Test support for the examples that are not TCP servers: run one to its
 * end (a client), or start the Unix-socket server and wait for its
 * `listening on unix:PATH (backend NAME)` line. Through the launcher a user
 * runs (`npm run example -- NAME`), as test/support/example.ts does.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import type { Test } from 'tap';
import { LAUNCHER, REPO } from '../../test/support/example.js';

export interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

/** Runs `npm run example -- name args` to its exit (SIGKILL and a rejection after timeoutMs). */
export function runExample(name: string, args: string[], timeoutMs = 60000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [LAUNCHER, name, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not finish in ${timeoutMs} ms; stdout=${stdout} stderr=${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

export interface UnixServer {
  pid: number;
  path: string;
  backend: string;
  stdout: () => string;
  stderr: () => string;
  /** Sends `signal` and resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts loop-unix-echo-server with `args`; resolves once it listens, rejects if it exits first. */
export function startUnixServer(args: string[], timeoutMs = 15000): Promise<UnixServer> {
  const child = spawn(process.execPath, [LAUNCHER, 'loop-unix-echo-server', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no listening line in ${timeoutMs} ms; stdout=${out} stderr=${err}`));
    }, timeoutMs);
    const early = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before listening; stdout=${out} stderr=${err}`));
    };
    child.on('exit', early);
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /^listening on unix:(.+) \(backend ([\w-]+)\)$/m.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({
        pid: child.pid!,
        path: m[1]!,
        backend: m[2]!,
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

/** A Node TCP server on 127.0.0.1 that does `onConn` with each connection (a peer that misbehaves); closed at teardown. */
export async function peerServer(t: Test, onConn: (c: net.Socket) => void): Promise<number> {
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', () => {});
    onConn(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const c of conns) c.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}
