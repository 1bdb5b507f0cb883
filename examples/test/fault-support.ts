/**
 * Test support for the fault tests of the loop servers: a server child
 * process (an example through its launcher, or a Node `net` echo server for
 * comparison) optionally under a lowered descriptor limit, its RSS and
 * descriptor count read from /proc, and peers that send and never read.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { plainEnv } from '../../test/support/env.js';
import { LAUNCHER, spawnListening, type RunningExample } from '../../test/support/example.js';

export interface ServerProcess extends RunningExample {
  /** Whether the process is still running. */
  alive: () => boolean;
}

/**
 * The Node `net` echo server of bench/src/node-net-echo-server.ts, inline so
 * the tests need no bench build: it pauses a socket while its write is
 * buffered, Node's own flow control.
 */
const NODE_NET_ECHO = `
const net = require('node:net');
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('data', (data) => {
    if (!socket.write(data)) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
  socket.on('end', () => socket.end());
  socket.on('error', () => socket.destroy());
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
  const a = server.address();
  process.stdout.write('listening on ' + a.address + ':' + a.port + ' (backend node-net)\\n');
});
process.on('SIGTERM', () => { server.close(); process.stdout.write('stopped\\n'); process.exit(0); });
`;

export interface StartOptions {
  /** Lowers the process's open-file limit (soft and hard) to this. */
  nofile?: number;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /**
   * Without tap's coverage hooks (NODE_OPTIONS --import, NODE_V8_COVERAGE),
   * which add tens of MiB: memory is measured as a user runs the server.
   */
  plain?: boolean;
}


/** `example` is an example's name, or 'node-net' for the Node `net` server. */
export async function startServer(example: string, args: string[] = [], opts: StartOptions = {}): Promise<ServerProcess> {
  const nodeArgs = example === 'node-net' ? ['-e', NODE_NET_ECHO] : [LAUNCHER, example, '--port', '0', ...args];
  let cmd = process.execPath;
  let argv = nodeArgs;
  if (opts.nofile !== undefined) {
    // exec keeps the pid, so /proc/PID is the server's own.
    cmd = 'bash';
    argv = ['-c', `ulimit -n ${opts.nofile} && exec "$@"`, 'bash', process.execPath, ...nodeArgs];
  }
  const env = { ...(opts.plain === true ? plainEnv() : process.env), ...opts.env };
  const srv = await spawnListening(example, cmd, argv, env, opts.timeoutMs ?? 15000);
  return { ...srv, alive: () => srv.child.exitCode === null && srv.child.signalCode === null };
}

/** VmRSS of process `pid`, in KiB. */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** How many descriptors process `pid` holds. */
export function fdCountOf(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** CPU time (user + system) process `pid` has used, in ms. */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime is the 12th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms until it holds or `ms` pass; whether it held. */
export async function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() >= end) return false;
    await sleep(20);
  }
  return true;
}

/** Connects; resolves with the socket once connected (rejects on error or after `ms`). */
export function connect(host: string, port: number, ms = 5000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect timed out after ${ms} ms`));
    }, ms);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export interface SlowReaders {
  /** Bytes the peers' write() calls took, in all. */
  sent(): number;
  /** Resets every peer. */
  destroy(): void;
}

/**
 * `count` peers that each send `msgSize`-byte messages, as fast as their
 * socket takes them (waiting for 'drain'), until `capBytes` each or
 * `durationMs`, and never read: with no 'data' listener Node stops
 * reading once its own small buffer is full.
 */
export async function slowReaders(host: string, port: number, count: number, msgSize: number, capBytes: number, durationMs: number): Promise<SlowReaders> {
  const msg = Buffer.alloc(msgSize, 0x61);
  const socks = await Promise.all(Array.from({ length: count }, () => connect(host, port)));
  const deadline = Date.now() + durationMs;
  let sent = 0;
  for (const sock of socks) {
    sock.on('error', () => {});
    let mine = 0;
    const pump = (): void => {
      while (mine < capBytes && Date.now() < deadline && !sock.destroyed) {
        mine += msgSize;
        sent += msgSize;
        if (!sock.write(msg)) {
          sock.once('drain', pump);
          return;
        }
      }
    };
    pump();
  }
  return {
    sent: () => sent,
    destroy: () => {
      for (const s of socks) s.destroy();
    },
  };
}
