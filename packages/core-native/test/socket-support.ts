// What the socket*.test.ts files share: Python's errno text, descriptor
// checks, a connected TCP trio, whether ::1 works here, and a temporary
// directory for AF_UNIX paths.
import * as fs from 'node:fs';
import * as nodeOs from 'node:os';
import * as path from 'node:path';
import { binding, os, socket, Socket, createServer, selectConstants } from '@iomux/core-native';

const { AF_INET6, SOCK_STREAM } = socket;

/** Python's OSError text for an errno: `[Errno 9] Bad file descriptor`. */
export const msg = (errno: number): string => `[Errno ${errno}] ${os.strerror(errno)}`;
export const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`);
export const bad = (x: unknown): any => x;

/** poll(2) one descriptor for POLLOUT through the binding; true if ready. */
export function waitWritable(fd: number, ms: number): boolean {
  const fds = new Int32Array(2);
  fds[0] = fd;
  new Int16Array(fds.buffer)[2] = selectConstants.POLLOUT!;
  return binding.poll(fds, 1, ms, new Int32Array(2)) > 0;
}

/** A listening server, a connected client and the accepted peer. */
export function tcpTrio(family: number, host: string): { srv: Socket; cli: Socket; acc: Socket; close(): void } {
  const srv = createServer([host, 0], { family });
  const cli = new Socket(family, SOCK_STREAM);
  cli.connect(srv.getsockname() as [string, number]);
  const [acc] = srv.accept();
  return {
    srv, cli, acc,
    close() {
      acc.close();
      cli.close();
      srv.close();
    },
  };
}

function ipv6Available(): boolean {
  try {
    const s = new Socket(AF_INET6, SOCK_STREAM);
    try {
      s.bind(['::1', 0]);
      return true;
    } finally {
      s.close();
    }
  } catch {
    return false;
  }
}
export const HAVE_V6 = ipv6Available();
export const NO_V6 = HAVE_V6 ? false : 'IPv6 loopback (::1) is not available on this machine';

/** A fresh directory under the OS's tmpdir, removed when the test file ends. */
export function makeTmpRoot(t: { teardown(fn: () => unknown): unknown }): string {
  const tmpRoot = fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'iomux-sock-'));
  t.teardown(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
  return tmpRoot;
}
