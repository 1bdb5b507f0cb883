/**
 * Loads the compiled addon (node-gyp-build: the local build, else a prebuild
 * for this platform) and types every native function. The native layer is a
 * thin syscall layer (see native/backend.h): numbers and Int32Arrays in, raw
 * results out, every value re-checked in C++. Errors it throws are plain
 * Errors with errno/code/syscall; errors.ts fromNative() maps them.
 */
import nodeGypBuild from 'node-gyp-build';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FdBinding } from './binding-fd.js';
import type { OsBinding } from './binding-os.js';
import type { SelectBinding } from './binding-select.js';
import type { SocketBinding } from './binding-socket.js';
import type { SslBinding } from './binding-ssl.js';

export type { FdHandle } from './binding-fd.js';
export type { MemtlsCtxOptions, MemtlsHandle, MemtlsStatus } from './binding-ssl.js';

/**
 * The addon's exports, typed: one native function per syscall, named after it.
 * Raw and unchecked by Python's rules: the os, socket, select and selectors
 * APIs are the ones to use. Errors are plain Errors with errno, code and syscall.
 */
export interface Binding extends FdBinding, SelectBinding, OsBinding, SocketBinding, SslBinding {
  // constants.cc
  /** The select module's constants this platform has (POLLIN, EPOLLET, FD_SETSIZE, PIPE_BUF, ...). */
  select_constants: Readonly<Record<string, number>>;
  /** The socket constants this platform has (AF_INET, SO_REUSEADDR, ...). */
  socket_constants: Readonly<Record<string, number>>;
  /** errno values by name (EAGAIN, EBADF, ...). */
  errno_constants: Readonly<Record<string, number>>;
  /**
   * Which multiplexing syscalls this build has.
   * @property select select(2)
   * @property poll poll(2)
   * @property epoll epoll(7) (Linux)
   * @property kqueue kqueue(2) (BSD, macOS; on Linux the emulation, which DefaultSelector never picks)
   * @property devpoll /dev/poll (Solaris, illumos)
   */
  has: Readonly<{ select: boolean; poll: boolean; epoll: boolean; kqueue: boolean; devpoll: boolean }>;
}

// IOMUX_ADDON_DIR: another directory with a build/Release/ to load from (npm run test:asan's sanitized build).
const addon = loadAddon(process.env.IOMUX_ADDON_DIR || path.join(__dirname, '..'));

/** node-gyp-build's load, with an error that says what to do about a failure. */
function loadAddon(dir: string): Binding {
  try {
    return nodeGypBuild(dir) as Binding;
  } catch (err) {
    throw new Error(loadFailure(dir, err), { cause: err });
  }
}

/** The platform, the prebuilds in `dir` and what to install (as scripts/build-native.js says at install). */
function loadFailure(dir: string, err: unknown): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const libc = process.platform !== 'linux' ? '' : header?.glibcVersionRuntime ? ` (glibc ${header.glibcVersionRuntime})` : ' (not glibc: musl?)';
  let shipped: string[] = [];
  try {
    const pre = path.join(dir, 'prebuilds');
    shipped = fs.readdirSync(pre).filter((d) => fs.readdirSync(path.join(pre, d)).some((f) => f.endsWith('.node')));
  } catch {
    // no prebuilds directory: none shipped
  }
  const cause = String((err as Error)?.message ?? err).split('\n')[0];
  return [
    `@iomux/core-native: cannot load its native addon on ${process.platform}-${process.arch}${libc}, Node ${process.version}: ${cause}`,
    `Prebuilds in ${path.join(dir, 'prebuilds')}: ${shipped.length > 0 ? `${shipped.sort().join(', ')} (glibc)` : 'none'}; no build in ${path.join(dir, 'build', 'Release')}.`,
    process.platform === 'win32'
      ? 'Windows is not supported yet.'
      : 'To build it from source, install a C++17 compiler, make and Python 3 (Debian/Ubuntu: apt-get install -y g++ make python3; ' +
        'Alpine: apk add g++ make python3 linux-headers; Fedora: dnf install -y gcc-c++ make python3; macOS: xcode-select --install), ' +
        'then run `npm rebuild @iomux/core-native` (if install scripts are skipped there, by --ignore-scripts or npm\'s allowScripts, ' +
        'allow this one: `npm install-scripts approve @iomux/core-native`).',
  ].join('\n');
}

/**
 * The addon's functions on a plain object with V8 fast properties (the
 * addon's own exports object is in dictionary mode), so that a hot call
 * such as `binding.epoll_wait(...)` is one cheap property load.
 */
export const binding: Binding = { ...addon };
