// /dev/poll emulated on Linux (devpoll-linux.cc): open, write pollfd records
// (POLLREMOVE removes) and DP_POLL, with illumos' semantics, so devpoll.cc has
// one code path for the real device and this one.
#pragma once

#include <poll.h>

#ifdef __cplusplus
extern "C" {
#endif

// illumos' value; Linux's own POLLREMOVE (0x1000) is never used here.
#define IOMUX_DP_POLLREMOVE 0x0800

// A new /dev/poll: an epoll descriptor made with EPOLL_CLOEXEC; -1 and errno.
int iomux_devpoll_open(void);

// write(dpfd, fds, n * sizeof(struct pollfd)): a record for a registered fd
// ORs its mask, IOMUX_DP_POLLREMOVE removes it (unknown fds are ignored).
// 0, or -1 and errno (EBADF: no descriptor; EINVAL: not a devpoll).
int iomux_devpoll_write(int dpfd, const struct pollfd* fds, int n);

// ioctl(dpfd, DP_POLL): up to nfds ready records into out, timeout_ms -1
// blocks; how many, or -1 and errno (devpoll.cc checks RLIMIT_NOFILE).
int iomux_devpoll_poll(int dpfd, struct pollfd* out, int nfds, int timeout_ms);

// Frees the emulated state of fd if it is (or was) a devpoll: call it just
// before closing any descriptor that may be one (fdhandle.cc does).
void iomux_devpoll_release(int fd);

// How many devpolls have emulated state (leak checks in tests).
int iomux_devpoll_count(void);

#ifdef __cplusplus
}
#endif
