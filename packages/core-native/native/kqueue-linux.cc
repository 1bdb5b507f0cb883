// kqueue(2)/kevent(2) on Linux (kqueue-linux.h): the kqueue is an epoll
// descriptor; its knotes live in a process-wide registry keyed by that
// descriptor (worker_threads share it, so fromfd works across threads), each
// state under its own mutex. The filters are in kqueue-linux-filters.cc
// (READ, WRITE), kqueue-linux-timer.cc (TIMER, USER) and
// kqueue-linux-notes.cc and kqueue-linux-vnode.cc (PROC, SIGNAL, VNODE).
//
// Lifetime: iomux_kqueue_release() frees a state (fdhandle.cc calls it
// before it closes any descriptor, so close(), GC and environment teardown
// all free it). A descriptor closed behind our back (os.close(fileno()))
// leaves its state until the number is closed through a handle or a new
// kqueue gets it, which then starts afresh. If another epoll gets the number
// meanwhile, kevent() notices the foreign events (their data lacks our
// cookie) and fails with EBADF; changes applied before that land in it.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <memory>
#include <new>
#include <system_error>

#include "kqueue-linux-state.h"

namespace iomux {
namespace kq {

void FreeAll(KqState* st) {
  for (auto& e : st->fds) {
    delete e.second.rd;
    delete e.second.wr;
  }
  for (auto& e : st->timers) {
    close(e.second->tfd);
    delete e.second;
  }
  for (auto& e : st->users) delete e.second;
  FreeNotes(st);
  st->fds.clear();
  st->timers.clear();
  st->by_tfd.clear();
  st->users.clear();
  st->soft.clear();
}

KqState::~KqState() {
  if (efd >= 0) close(efd);
}

namespace {

struct Registry {
  std::mutex mu;
  std::map<int, std::shared_ptr<KqState>> states;
  uint32_t next_cookie = 1;
};

// Never destroyed: a worker may still be in kevent() while the process exits.
Registry& Reg() {
  static Registry* r = new Registry();
  return *r;
}

std::shared_ptr<KqState> Find(int kq) {
  Registry& r = Reg();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.states.find(kq);
  if (it == r.states.end()) return nullptr;
  return it->second;
}

// A thread blocked in kevent() on it wakes (the eventfd turns readable) and
// fails with EBADF.
void Retire(const std::shared_ptr<KqState>& st) {
  std::lock_guard<std::mutex> lock(st->mu);
  st->closed = true;
  FreeAll(st.get());
  uint64_t one = 1;
  if (!st->signalled && write(st->efd, &one, sizeof one) == static_cast<ssize_t>(sizeof one)) st->signalled = true;
}

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Milliseconds for epoll_wait, rounded up; -1 blocks.
int WaitMs(int64_t deadline) {
  if (deadline < 0) return -1;
  int64_t left = deadline - NowNs();
  if (left <= 0) return 0;
  int64_t ms = (left + 999999) / 1000000;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// Records a change's error (or EV_RECEIPT's 0) as FreeBSD does.
void ErrorEvent(struct kevent* out, const struct kevent& ch, int err) {
  *out = ch;
  out->flags = EV_ERROR;
  out->data = err;
}

int Apply(KqState* st, const struct kevent& ch) {
  switch (ch.filter) {
    case EVFILT_READ:
    case EVFILT_WRITE:
      return ApplyFd(st, ch);
    case EVFILT_TIMER:
      return ApplyTimer(st, ch);
    case EVFILT_USER:
      return ApplyUser(st, ch);
    case EVFILT_PROC:
      return ApplyProc(st, ch);
    case EVFILT_VNODE:
      return ApplyVnode(st, ch);
    case EVFILT_SIGNAL:
      return ApplySignal(st, ch);
    default:
      return EINVAL;  // AIO and unknown filters
  }
}

// kevent(2) itself: returns -(events written) (0 or less), or a positive errno.
int Kevent(int kq, const struct kevent* changes, int nchanges, struct kevent* out, int nevents,
           const struct timespec* timeout) {
  if (nchanges < 0 || nevents < 0) return EINVAL;
  if ((nchanges > 0 && changes == nullptr) || (nevents > 0 && out == nullptr)) return EFAULT;
  if (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000)) {
    return EINVAL;
  }
  std::shared_ptr<KqState> st = Find(kq);
  if (st == nullptr) return EBADF;
  int n = 0;
  if (nchanges > 0 || nevents == 0) {
    std::lock_guard<std::mutex> lock(st->mu);
    if (st->closed) return EBADF;
    int nerrors = 0;
    for (int i = 0; i < nchanges; i++) {
      struct kevent ch = changes[i];  // one read of the caller's memory
      if (ch.filter == 0) continue;   // FreeBSD skips these
      ch.flags &= ~EV_SYSFLAGS;       // and clears the kernel's own flags
      int err = Apply(st.get(), ch);
      if (err != 0 || (ch.flags & EV_RECEIPT) != 0) {
        if (nevents - nerrors == 0) {
          UpdateSignal(st.get());
          if (err != 0) return err;
          return -nerrors;  // FreeBSD stops here; the receipts written so far
        }
        ErrorEvent(&out[nerrors], ch, err);
        nerrors++;
      }
    }
    UpdateSignal(st.get());
    if (nerrors > 0 || nevents == 0) return -nerrors;
  }
  bool poll = timeout != nullptr && timeout->tv_sec == 0 && timeout->tv_nsec == 0;
  int64_t deadline = -1;
  if (timeout != nullptr && !poll) {
    int64_t ns = static_cast<int64_t>(timeout->tv_nsec);
    int64_t sec = static_cast<int64_t>(timeout->tv_sec);
    deadline = sec > (INT64_MAX / 2 - NowNs()) / 1000000000 ? -1 : NowNs() + sec * 1000000000 + ns;
  }
  // As many epoll events as the eventlist has room for: BSD fills it.
  constexpr int kLocal = 128;
  struct epoll_event local[kLocal];
  std::unique_ptr<struct epoll_event[]> heap;
  struct epoll_event* evs = local;
  if (nevents > kLocal) {
    heap.reset(new struct epoll_event[static_cast<size_t>(nevents)]);
    evs = heap.get();
  }
  for (;;) {
    int ms = poll ? 0 : WaitMs(deadline);
    int k = epoll_wait(st->epfd, evs, nevents, ms);
    if (k < 0) return errno;
    {
      std::lock_guard<std::mutex> lock(st->mu);
      if (st->closed) return EBADF;
      st->gen++;
      for (int i = 0; i < k; i++) {
        uint64_t data = evs[i].data.u64;
        if ((data >> 32) != st->cookie) return EBADF;  // another epoll got the number
        n += FromEpoll(st.get(), data, evs[i].events, out + n, nevents - n);
      }
      if (n < nevents && !st->soft.empty()) n += ScanSoft(st.get(), out + n, nevents - n);
      UpdateSignal(st.get());
    }
    if (n > 0 || ms == 0) return -n;
    // Only events with nothing new to report (see kqueue-linux-filters.cc):
    // wait again for what is left of the timeout.
  }
}

}  // namespace
}  // namespace kq
}  // namespace iomux

using iomux::kq::KqState;

extern "C" int iomux_kqueue(void) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return -1;
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    int saved = errno;
    close(epfd);
    errno = saved;
    return -1;
  }
  std::shared_ptr<KqState> st;
  std::shared_ptr<KqState> stale;
  try {
    st = std::make_shared<KqState>();
  } catch (const std::bad_alloc&) {
    close(efd);
    close(epfd);
    errno = ENOMEM;
    return -1;
  }
  st->epfd = epfd;
  st->efd = efd;
  {
    iomux::kq::Registry& r = iomux::kq::Reg();
    std::lock_guard<std::mutex> lock(r.mu);
    st->cookie = r.next_cookie++;
    if (r.next_cookie == 0) r.next_cookie = 1;
    auto it = r.states.find(epfd);
    if (it != r.states.end()) stale = it->second;  // its descriptor was closed behind our back
    try {
      r.states[epfd] = st;
    } catch (const std::bad_alloc&) {
      close(epfd);  // efd: ~KqState
      errno = ENOMEM;
      return -1;
    }
  }
  if (stale != nullptr) iomux::kq::Retire(stale);
  struct epoll_event ev;
  ev.events = EPOLLIN;
  ev.data.u64 = iomux::kq::Tag(st.get(), efd);
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) < 0) {
    int saved = errno;
    iomux_kqueue_release(epfd);
    close(epfd);
    errno = saved;
    return -1;
  }
  return epfd;
}

extern "C" int iomux_kevent(int kq, const struct kevent* changelist, int nchanges, struct kevent* eventlist,
                            int nevents, const struct timespec* timeout) {
  int r;
  try {
    r = iomux::kq::Kevent(kq, changelist, nchanges, eventlist, nevents, timeout);
  } catch (const std::bad_alloc&) {
    r = ENOMEM;
  } catch (const std::system_error&) {
    r = EAGAIN;  // a mutex that could not be locked
  }
  if (r > 0) {
    errno = r;
    return -1;
  }
  return -r;
}

extern "C" void iomux_kqueue_release(int fd) {
  std::shared_ptr<KqState> st;
  {
    iomux::kq::Registry& r = iomux::kq::Reg();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.states.find(fd);
    if (it == r.states.end()) return;
    st = it->second;
    r.states.erase(it);
  }
  iomux::kq::Retire(st);
}

extern "C" int iomux_kqueue_count(void) {
  iomux::kq::Registry& r = iomux::kq::Reg();
  std::lock_guard<std::mutex> lock(r.mu);
  return static_cast<int>(r.states.size());
}

extern "C" int iomux_kqueue_signal_post(int kq, uint32_t cookie, int signo) {
  std::shared_ptr<KqState> st = iomux::kq::Find(kq);
  if (st == nullptr) return -1;
  try {
    std::lock_guard<std::mutex> lock(st->mu);
    if (st->closed || st->cookie != cookie) return -1;
    bool counted = iomux::kq::PostSignal(st.get(), signo);
    iomux::kq::UpdateSignal(st.get());
    return counted ? 1 : 0;
  } catch (const std::exception&) {
    return 0;  // no memory for the soft queue, or no lock: this delivery is lost
  }
}

extern "C" int iomux_kqueue_signals(int kq, uint32_t* cookie, uint32_t* mask) {
  std::shared_ptr<KqState> st = iomux::kq::Find(kq);
  if (st == nullptr) return -1;
  std::unique_lock<std::mutex> lock(st->mu, std::defer_lock);
  try {
    lock.lock();
  } catch (const std::system_error&) {
    return -1;
  }
  if (st->closed) return -1;
  *cookie = st->cookie;
  *mask = 0;
  for (auto& e : st->signals) *mask |= uint32_t{1} << e.first;  // idents are 1..31
  return 0;
}
