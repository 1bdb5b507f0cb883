// The contract between addon.cc and each mechanism file. Each <mech>.cc is a
// thin syscall layer: it exports one JS function per syscall, named after the
// syscall, takes numbers and Int32Arrays, checks every value itself, and
// returns the raw result. Python's semantics live in TypeScript.
//
//   fdhandle.cc  fdhandle_new, fdhandle_close, fdhandle_detach, fdhandle_fd,
//                fdhandle_open_count: descriptor ownership (GC + env teardown)
//   constants.cc constants object, FD_SETSIZE, PIPE_BUF
//   select.cc    select(r, w, x, timeoutUs) -> nready
//   poll.cc      poll(pollfds, nfds, timeoutMs, out) -> nready
//   epoll.cc     epoll_create1, epoll_ctl, epoll_wait (IOMUX_HAVE_EPOLL)
//   os.cc        pipe, read, readinto, write, close, dup, get/set_inheritable,
//                get/set_blocking
//   kqueue.cc    kqueue_create, kevent, kevent_layout (IOMUX_HAVE_KQUEUE:
//                BSD and macOS, or Linux through kqueue-linux*.cc, which
//                also gives kqueue_count)
//   devpoll.cc   devpoll_open, devpoll_write, devpoll_poll (IOMUX_HAVE_DEVPOLL:
//                illumos and Solaris, or Linux through devpoll-linux.cc,
//                which also gives devpoll_count)
//   socket.cc    socket, socketpair, bind, listen, accept, connect, recv,
//                send, shutdown, getsockname, getpeername, setsockopt_int,
//                getsockopt_int
//   batch.cc     send_batch, recv_batch, batch_io, batch_layout: the loop's
//                batches (batch.h)
//   uring.cc     the batches' io_uring per thread (uring.h; Linux), no
//                exports of its own
//   wait.cc      fdhandle_watch, fdhandle_unwatch: one-shot libuv watch on an
//                owned descriptor (the promise twins' wait; fdhandle.h)
//   (the C loops of the benchmarks are a separate addon: bench/addon/)
#pragma once
#include <napi.h>

namespace iomux {

void InitFdHandle(Napi::Env env, Napi::Object exports);
void InitConstants(Napi::Env env, Napi::Object exports);
void InitSelect(Napi::Env env, Napi::Object exports);
void InitPoll(Napi::Env env, Napi::Object exports);
#ifdef IOMUX_HAVE_EPOLL
void InitEpoll(Napi::Env env, Napi::Object exports);
#endif
void InitOs(Napi::Env env, Napi::Object exports);
void InitSendfile(Napi::Env env, Napi::Object exports);  // sendfile.cc: sendfile, lseek, SEEK_*
void InitResource(Napi::Env env, Napi::Object exports);
#ifdef IOMUX_HAVE_KQUEUE
void InitKqueue(Napi::Env env, Napi::Object exports);
#endif
#ifdef IOMUX_HAVE_DEVPOLL
void InitDevpoll(Napi::Env env, Napi::Object exports);
#endif
void InitSocket(Napi::Env env, Napi::Object exports);
void InitDgram(Napi::Env env, Napi::Object exports);  // dgram.cc: sendto, recvfrom, recvmmsg, sendmmsg
void InitDgramFds(Napi::Env env, Napi::Object exports);  // dgram-fds.cc: sendmsg_fds, recvmsg_fds
void InitBatch(Napi::Env env, Napi::Object exports);
void InitWait(Napi::Env env, Napi::Object exports);
void InitSpawn(Napi::Env env, Napi::Object exports);  // spawn.cc: posix_spawn, pidfd_open, pidfd_send_signal, waitpid, kill
void InitSsl(Napi::Env env, Napi::Object exports);  // ssl*.cc: memtls_*, TLS over memory BIOs in Node's OpenSSL

}  // namespace iomux
