// See uring.h. The ring is made with raw syscalls (no liburing): one per
// thread that asks, on first use, with room for kUringMaxOps operations. Its
// descriptor is registered with the kernel and closed, so it takes no slot
// in the thread's descriptor table (where registration is missing, the
// descriptor stays open, close-on-exec). The kernel frees the ring when the
// thread exits.
#include "uring.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#if defined(__linux__) && __has_include(<linux/io_uring.h>)
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#define IOMUX_HAVE_URING 1
#endif

namespace iomux {

#ifdef IOMUX_HAVE_URING
namespace {

struct Ring {
  enum State { kUntried, kReady, kDisabled, kUnavailable };
  State state = kUntried;
  bool opened = false;  // the ring exists (kept while disabled)
  int fd = -1;          // the descriptor, or the registered index
  unsigned enter_flags = 0;
  unsigned* sq_head = nullptr;
  unsigned* sq_tail = nullptr;
  unsigned sq_mask = 0;
  unsigned* sq_array = nullptr;
  io_uring_sqe* sqes = nullptr;
  unsigned* cq_head = nullptr;
  unsigned* cq_tail = nullptr;
  unsigned cq_mask = 0;
  io_uring_cqe* cqes = nullptr;
  void* ring_map = nullptr;
  size_t ring_size = 0;
  size_t sqes_size = 0;

  // At the thread's exit (a worker's end): the mappings go, and so does the
  // descriptor where it was not registered (a registered one goes with the
  // thread), so a process that runs many workers keeps no rings.
  ~Ring() {
    if (!opened) return;
    ::munmap(sqes, sqes_size);
    ::munmap(ring_map, ring_size);
    if (enter_flags == 0) ::close(fd);
  }
};

thread_local Ring tl_ring;

int Setup(unsigned entries, io_uring_params* p) {
  return static_cast<int>(::syscall(__NR_io_uring_setup, entries, p));
}

int Enter(const Ring& r, unsigned submit, unsigned wait) {
  return static_cast<int>(::syscall(__NR_io_uring_enter, r.fd, submit, wait,
                                    IORING_ENTER_GETEVENTS | r.enter_flags, nullptr, 0));
}

bool Open(Ring* r, bool honor_env) {
  const char* env = honor_env ? std::getenv("IOMUX_URING") : nullptr;
  if (env != nullptr && std::strcmp(env, "0") == 0) {
    r->state = Ring::kDisabled;
    return false;
  }
  if (r->opened) {
    r->state = Ring::kReady;
    return true;
  }
  r->state = Ring::kUnavailable;
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  // Submit every entry even when one fails early; no interrupt of the
  // thread for completions (all are inline here).
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
  int fd = Setup(kUringMaxOps, &p);
  if (fd < 0 && errno == EINVAL) {  // kernels before 5.18/5.19
    std::memset(&p, 0, sizeof p);
    fd = Setup(kUringMaxOps, &p);
  }
  if (fd < 0) return false;
  // Inline completion of MSG_DONTWAIT requests (REQ_F_NOWAIT) and one mmap
  // for both rings: both came with kernel 5.4's features; require them.
  if ((p.features & IORING_FEAT_SINGLE_MMAP) == 0 || (p.features & IORING_FEAT_NODROP) == 0 ||
      p.sq_entries < kUringMaxOps || p.cq_entries < kUringMaxOps) {
    ::close(fd);
    return false;
  }
  size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  size_t ring_size = sq_size > cq_size ? sq_size : cq_size;
  void* ring = ::mmap(nullptr, ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (ring == MAP_FAILED) {
    ::close(fd);
    return false;
  }
  size_t sqes_size = p.sq_entries * sizeof(io_uring_sqe);
  void* sqes = ::mmap(nullptr, sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) {
    ::munmap(ring, ring_size);
    ::close(fd);
    return false;
  }
  char* base = static_cast<char*>(ring);
  r->sq_head = reinterpret_cast<unsigned*>(base + p.sq_off.head);
  r->sq_tail = reinterpret_cast<unsigned*>(base + p.sq_off.tail);
  r->sq_mask = *reinterpret_cast<unsigned*>(base + p.sq_off.ring_mask);
  r->sq_array = reinterpret_cast<unsigned*>(base + p.sq_off.array);
  r->sqes = static_cast<io_uring_sqe*>(sqes);
  r->cq_head = reinterpret_cast<unsigned*>(base + p.cq_off.head);
  r->cq_tail = reinterpret_cast<unsigned*>(base + p.cq_off.tail);
  r->cq_mask = *reinterpret_cast<unsigned*>(base + p.cq_off.ring_mask);
  r->cqes = reinterpret_cast<io_uring_cqe*>(base + p.cq_off.cqes);
  r->ring_map = ring;
  r->ring_size = ring_size;
  r->sqes_size = sqes_size;
  r->fd = fd;
#ifdef IORING_ENTER_REGISTERED_RING  // with IORING_REGISTER_RING_FDS (5.18)
  // Registered, the ring is entered by index (no descriptor lookup per
  // call), and its descriptor can go: the mappings and the registration
  // keep the ring.
  io_uring_rsrc_update reg;
  std::memset(&reg, 0, sizeof reg);
  reg.offset = static_cast<unsigned>(-1);
  reg.data = static_cast<uint64_t>(fd);
  if (::syscall(__NR_io_uring_register, fd, IORING_REGISTER_RING_FDS, &reg, 1) == 1) {
    ::close(fd);
    r->fd = static_cast<int>(reg.offset);
    r->enter_flags = IORING_ENTER_REGISTERED_RING;
  }
#endif
  r->opened = true;
  r->state = Ring::kReady;
  return true;
}

// Takes the completions of ops [0, n) off the completion queue.
void Reap(Ring* r, int32_t* results, size_t n) {
  size_t got = 0;
  while (got < n) {
    unsigned head = *r->cq_head;
    unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; head++) {
      const io_uring_cqe& c = r->cqes[head & r->cq_mask];
      // user_data is the op's index; anything else is not ours to count.
      if (c.user_data < n) {
        results[c.user_data] = c.res;
        got++;
      }
    }
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    if (got >= n) break;
    // Not all inline (never seen): wait for the rest. Each op is
    // non-blocking, so the wait is as long as the kernel's own work.
    int rc = Enter(*r, 0, static_cast<unsigned>(n - got));
    if (rc < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) {
      // Cannot wait (never seen): the ring is unusable from now on; the ops
      // not completed are reported as failed with that error.
      int err = errno;
      for (size_t i = 0; i < n; i++) {
        if (results[i] == INT32_MIN) results[i] = -err;
      }
      r->state = Ring::kUnavailable;
      return;
    }
  }
}

}  // namespace

size_t UringRun(bool send, const UringOp* ops, int32_t* results, size_t n) {
  Ring* r = &tl_ring;
  if (r->state != Ring::kReady) {
    if (r->state != Ring::kUntried || !Open(r, true)) return 0;
  }
  if (n > kUringMaxOps) n = kUringMaxOps;
  if (n == 0) return 0;
  const unsigned tail = *r->sq_tail;  // the only producer: this thread
  for (size_t i = 0; i < n; i++) {
    unsigned idx = (tail + static_cast<unsigned>(i)) & r->sq_mask;
    io_uring_sqe* s = &r->sqes[idx];
    std::memset(s, 0, sizeof *s);
    s->opcode = send ? IORING_OP_SEND : IORING_OP_RECV;
    s->fd = ops[i].fd;
    s->addr = reinterpret_cast<uint64_t>(ops[i].buf);
    s->len = ops[i].len;
    // MSG_DONTWAIT: done inline or failed with -EAGAIN, never left waiting
    // for the socket (as the plain non-blocking call).
    s->msg_flags = MSG_DONTWAIT | (send ? MSG_NOSIGNAL : 0);
    s->user_data = i;
    r->sq_array[idx] = idx;
    results[i] = INT32_MIN;
  }
  __atomic_store_n(r->sq_tail, tail + static_cast<unsigned>(n), __ATOMIC_RELEASE);
  int rc;
  do {
    rc = Enter(*r, static_cast<unsigned>(n), static_cast<unsigned>(n));
  } while (rc < 0 && errno == EINTR && __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) == tail);
  // How many the kernel took; the rest are taken back (this thread is the
  // only producer, and the kernel reads the tail only inside enter).
  size_t taken = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) - tail;
  if (taken < n) __atomic_store_n(r->sq_tail, tail + static_cast<unsigned>(taken), __ATOMIC_RELEASE);
  if (rc < 0 && taken == 0) {
    // Refused: plain syscalls for this batch, and for good unless the
    // kernel was only short of memory for the moment.
    if (errno != EAGAIN && errno != EBUSY && errno != EINTR) r->state = Ring::kUnavailable;
    return 0;
  }
  Reap(r, results, taken);
  return taken;
}

bool UringReady() {
  Ring* r = &tl_ring;
  if (r->state == Ring::kReady) return true;
  return r->state == Ring::kUntried && Open(r, true);
}

const char* UringSet(bool on) {
  Ring* r = &tl_ring;
  if (on) {
    if (r->state == Ring::kUntried || r->state == Ring::kDisabled) Open(r, false);
  } else if (r->state != Ring::kUnavailable) {
    r->state = Ring::kDisabled;
  }
  return UringState();
}

const char* UringState() {
  Ring* r = &tl_ring;
  if (r->state == Ring::kUntried) Open(r, true);
  switch (r->state) {
    case Ring::kReady: return "io_uring";
    case Ring::kDisabled: return "disabled";
    default: return "unavailable";
  }
}

#else  // no io_uring here

size_t UringRun(bool, const UringOp*, int32_t*, size_t) { return 0; }
bool UringReady() { return false; }
const char* UringSet(bool) { return "unsupported"; }
const char* UringState() { return "unsupported"; }

#endif

}  // namespace iomux
