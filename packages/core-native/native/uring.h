// Batches of send()/recv() in one syscall: an io_uring per thread (Linux),
// used by the loop's write and read batches (batch.cc send_batch and
// recv_batch) instead of a syscall per message. Only non-blocking,
// complete-at-once operations: each is MSG_DONTWAIT, so the kernel does it
// inline during io_uring_enter() and returns -EAGAIN rather than waiting,
// exactly as the plain syscall would; every operation is complete (its
// buffer no longer used by the kernel) before UringRun returns.
//
// Where io_uring is missing or refused (old kernels, seccomp profiles that
// block it, IOMUX_URING=0 in the environment when the thread's ring would be
// made) or turned off (UringSet), UringRun returns 0 and the caller makes
// the plain syscalls.
#pragma once
#include <cstddef>
#include <cstdint>

namespace iomux {

struct UringOp {
  int fd;
  void* buf;
  uint32_t len;
};

// Most operations one UringRun takes.
constexpr size_t kUringMaxOps = 64;

// Runs ops[0, n) (n <= kUringMaxOps) in order as sends (MSG_NOSIGNAL) or
// recvs, writing each result (bytes moved, or -errno) to results[i].
// Returns how many of the first ops it ran: n, or fewer (0 when there is no
// ring) when the rest must be done with plain syscalls.
size_t UringRun(bool send, const UringOp* ops, int32_t* results, size_t n);

// Whether UringRun would use this thread's ring (making it if needed).
bool UringReady();

// "io_uring" when this thread's ring is in use, else why not: "disabled"
// (IOMUX_URING=0, or UringSet(false)), "unavailable" (refused), or
// "unsupported" (no io_uring in this build).
const char* UringState();

// Turns this thread's ring on (making it if needed, whatever IOMUX_URING
// says) or off (kept for a later on); returns UringState().
const char* UringSet(bool on);

}  // namespace iomux
