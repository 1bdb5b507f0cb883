/**
 * Platform constants, read from the addon (each one compiled under #ifdef,
 * so a constant this platform lacks is absent, as in Python).
 */
import { binding } from './binding.js';

/** select/poll/epoll constants (POLLIN, EPOLLET, FD_SETSIZE, PIPE_BUF, ...). */
export const selectConstants: Readonly<Record<string, number | undefined>> = binding.select_constants;
/** Socket constants (AF_INET, SOCK_STREAM, SO_REUSEADDR, TCP_NODELAY, ...). */
export const socketConstants: Readonly<Record<string, number | undefined>> = binding.socket_constants;
/** errno values by name (EAGAIN, EBADF, ...), as Python's `errno` module. */
export const errnoConstants: Readonly<Record<string, number | undefined>> = binding.errno_constants;
/** Which multiplexing syscalls this build has. */
export const has = binding.has;
/** The size of select()'s fd_set: descriptors must be below it. */
export const FD_SETSIZE: number = binding.select_constants.FD_SETSIZE!;
