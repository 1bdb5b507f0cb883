// The addon's os and resource calls (os.cc, resource.cc), typed;
// binding.ts assembles the whole Binding.

/** resource.cc and os.cc: part of `Binding` (binding.ts). */
export interface OsBinding {
  // resource.cc
  /** getrlimit(2): `[soft, hard]`, RLIM_INFINITY as -1. */
  resource_getrlimit(resource: number): [number, number];
  /** setrlimit(2); -1 is RLIM_INFINITY, other negatives are cast to rlim_t. */
  resource_setrlimit(resource: number, soft: number, hard: number): void;
  /** The platform's RLIMIT_* numbers. */
  resource_constants: Readonly<Record<string, number>>;

  // os.cc
  /** The C library's text for an errno. */
  strerror(errno: number): string;
  /** pipe2(O_CLOEXEC): [read end, write end]. */
  pipe(): [number, number];
  /** read(2) into `buf[offset, offset + length)`; returns the bytes read. */
  read(fd: number, buf: ArrayBufferView, offset: number, length: number): number;
  /** write(2) from `buf[offset, offset + length)`; returns the bytes written. */
  write(fd: number, buf: ArrayBufferView, offset: number, length: number): number;
  /** close(2). */
  close(fd: number): void;
  /** dup(2), close-on-exec. */
  dup(fd: number): number;
  /** Whether close-on-exec is clear. */
  get_inheritable(fd: number): boolean;
  /** Clears (true) or sets (false) close-on-exec. */
  set_inheritable(fd: number, inheritable: boolean): void;
  /** Whether O_NONBLOCK is clear. */
  get_blocking(fd: number): boolean;
  /** Clears (true) or sets (false) O_NONBLOCK. */
  set_blocking(fd: number, blocking: boolean): void;
  /** The view's first byte's address modulo 4096 (buffer placement). */
  address_mod_4096(view: ArrayBufferView): number;
}
