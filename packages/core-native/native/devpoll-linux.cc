// /dev/poll on Linux (devpoll-linux.h): the devpoll is a level-triggered
// epoll descriptor; its fd -> mask table lives in a process-wide registry
// keyed by that descriptor (worker_threads share it), each state under its
// own mutex, which no thread holds while it waits in epoll_wait. An eventfd
// in the epoll wakes such a thread when the devpoll is closed (EBADF).
//
// POLLNVAL: a descriptor that is closed while registered is found by a sweep
// that checks kSweep registered fds per poll (fcntl F_GETFD), so poll stays
// flat in N; with N <= kSweep it is reported on the next poll, else within
// ceil(N / kSweep) polls. A number closed and reused meanwhile is not seen.
// Each write checks dpfd with one fcntl (poll through epoll_wait's error),
// so a devpoll closed behind our back fails with EBADF and its state goes.
// Regular files (epoll refuses them) are always ready, as poll(2) has them.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "devpoll-linux.h"

namespace {

constexpr size_t kSweep = 2;
constexpr uint16_t kAlways = POLLERR | POLLHUP;

enum Kind : uint8_t { kEpoll, kFile, kNval };

struct Entry {
  uint16_t mask;
  Kind kind;
  size_t at;  // index in DpState::order
};

struct DpState {
  std::mutex mu;
  std::unordered_map<int, Entry> fds;
  std::vector<int> order;    // every registered fd, for the sweep
  std::vector<int> special;  // kFile and kNval fds: reported on every poll
  size_t cursor = 0;
  int efd = -1;         // in the epoll: wakes pollers when the devpoll is released
  bool closed = false;  // released: pollers fail with EBADF
  ~DpState() {
    if (efd >= 0) close(efd);
  }
};

constexpr uint64_t kWake = UINT64_MAX;  // data of efd's epoll item; an fd's is the fd

// Released: a thread blocked in epoll_wait on it wakes and fails with EBADF.
void Retire(const std::shared_ptr<DpState>& st) {
  std::lock_guard<std::mutex> lock(st->mu);
  st->closed = true;
  uint64_t one = 1;
  if (write(st->efd, &one, sizeof one) < 0) {
    // a full counter already wakes every poller
  }
}

struct Registry {
  std::mutex mu;
  std::map<int, std::shared_ptr<DpState>> states;
};

// Never destroyed: a worker may still be polling while the process exits.
Registry& Reg() {
  static Registry* r = new Registry();
  return *r;
}

std::shared_ptr<DpState> Find(int fd) {
  Registry& r = Reg();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.states.find(fd);
  return it == r.states.end() ? nullptr : it->second;
}

void EraseFrom(std::vector<int>& v, int fd) {
  for (size_t i = 0; i < v.size(); i++) {
    if (v[i] == fd) {
      v[i] = v.back();
      v.pop_back();
      return;
    }
  }
}

void Remove(DpState* st, int dpfd, int fd) {
  auto it = st->fds.find(fd);
  if (it == st->fds.end()) return;
  if (it->second.kind == kEpoll) epoll_ctl(dpfd, EPOLL_CTL_DEL, fd, nullptr);
  else EraseFrom(st->special, fd);
  size_t at = it->second.at;
  int last = st->order.back();
  st->order[at] = last;
  st->fds[last].at = at;
  st->order.pop_back();
  st->fds.erase(fd);
}

// epoll_ctl ADD or MOD as the table needs; ENOENT (epoll dropped a closed
// file) and EEXIST fall back to the other op.
int Ctl(int dpfd, int fd, uint16_t mask, bool known) {
  struct epoll_event ev;
  ev.events = mask & ~(POLLNVAL | IOMUX_DP_POLLREMOVE);
  ev.data.u64 = static_cast<uint64_t>(fd);
  int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(dpfd, op, fd, &ev) == 0) return 0;
  if (errno == ENOENT || errno == EEXIST) {
    op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(dpfd, op, fd, &ev) == 0) return 0;
  }
  return errno;
}

void Add(DpState* st, int dpfd, const struct pollfd& p) {
  uint16_t events = static_cast<uint16_t>(p.events);
  auto it = st->fds.find(p.fd);
  if (it != st->fds.end()) {
    Entry& e = it->second;
    e.mask |= events;
    if (e.kind == kEpoll && Ctl(dpfd, p.fd, e.mask, true) == EBADF) {
      e.kind = kNval;
      st->special.push_back(p.fd);
    }
    return;
  }
  Entry e{events, kEpoll, st->order.size()};
  int err = Ctl(dpfd, p.fd, events, false);
  if (err == EPERM) e.kind = kFile;
  else if (err != 0) e.kind = kNval;  // EBADF (and anything else): poll(2)'s POLLNVAL
  if (e.kind != kEpoll) st->special.push_back(p.fd);
  st->fds.emplace(p.fd, e);
  st->order.push_back(p.fd);
}

// Checks up to kSweep registered fds; a closed one turns kNval.
void Sweep(DpState* st) {
  size_t n = st->order.size() < kSweep ? st->order.size() : kSweep;
  for (size_t i = 0; i < n; i++) {
    if (st->cursor >= st->order.size()) st->cursor = 0;
    int fd = st->order[st->cursor++];
    Entry& e = st->fds[fd];
    if (e.kind == kEpoll && fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      e.kind = kNval;
      st->special.push_back(fd);
    }
  }
}

// The state of dpfd; a state whose number was closed behind our back
// (os.close) is dropped here: EBADF.
int StateOf(int dpfd, std::shared_ptr<DpState>* out) {
  *out = Find(dpfd);
  bool open = fcntl(dpfd, F_GETFD) >= 0 || errno != EBADF;
  if (open) return *out != nullptr ? 0 : EINVAL;
  if (*out != nullptr) {
    Registry& r = Reg();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.states.find(dpfd);
    if (it != r.states.end() && it->second == *out) r.states.erase(it);
    Retire(*out);
    out->reset();
  }
  return EBADF;
}

}  // namespace

extern "C" int iomux_devpoll_open(void) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return -1;
  try {
    auto st = std::make_shared<DpState>();
    st->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev;
    ev.events = EPOLLIN;
    ev.data.u64 = kWake;
    if (st->efd < 0 || epoll_ctl(fd, EPOLL_CTL_ADD, st->efd, &ev) < 0) {
      int err = errno;
      close(fd);
      errno = err;
      return -1;
    }
    std::shared_ptr<DpState> stale;
    {
      Registry& r = Reg();
      std::lock_guard<std::mutex> lock(r.mu);
      std::shared_ptr<DpState>& slot = r.states[fd];
      stale = slot;  // a state whose number was closed behind our back
      slot = st;
    }
    if (stale != nullptr) Retire(stale);
  } catch (const std::bad_alloc&) {
    close(fd);
    errno = ENOMEM;
    return -1;
  }
  return fd;
}

extern "C" int iomux_devpoll_write(int dpfd, const struct pollfd* fds, int n) {
  if (n < 0) {
    errno = EINVAL;
    return -1;
  }
  std::shared_ptr<DpState> st;
  if (int err = StateOf(dpfd, &st)) {
    errno = err;
    return -1;
  }
  std::lock_guard<std::mutex> lock(st->mu);
  try {
    for (int i = 0; i < n; i++) {
      if (fds[i].fd < 0) continue;  // poll(2) ignores negative fds
      if (fds[i].events & IOMUX_DP_POLLREMOVE) Remove(st.get(), dpfd, fds[i].fd);
      else Add(st.get(), dpfd, fds[i]);
    }
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

extern "C" int iomux_devpoll_poll(int dpfd, struct pollfd* out, int nfds, int timeout_ms) {
  if (nfds < 0 || timeout_ms < -1) {
    errno = EINVAL;
    return -1;
  }
  // No fcntl here (the hot path): epoll_wait's EBADF tells a closed dpfd.
  std::shared_ptr<DpState> st = Find(dpfd);
  if (st == nullptr) {
    errno = fcntl(dpfd, F_GETFD) < 0 ? EBADF : EINVAL;
    return -1;
  }
  int count = 0;
  size_t room;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    Sweep(st.get());
    for (int fd : st->special) {
      if (count >= nfds) break;
      const Entry& e = st->fds[fd];
      uint16_t re = e.kind == kNval ? POLLNVAL : e.mask & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
      if (re != 0) out[count++] = pollfd{fd, static_cast<short>(e.mask), static_cast<short>(re)};
    }
    room = st->fds.size() + 1;  // and the wake item
  }
  if (count >= nfds && nfds > 0) return count;
  int max = nfds - count;
  if (static_cast<size_t>(max) > room) max = static_cast<int>(room);
  if (max < 1) max = 1;
  // Per thread and never shrunk: no allocation (or zeroing) per poll.
  thread_local std::unique_ptr<struct epoll_event[]> evs;
  thread_local size_t cap = 0;
  if (cap < static_cast<size_t>(max)) {
    evs.reset(new (std::nothrow) struct epoll_event[max]);
    cap = evs == nullptr ? 0 : static_cast<size_t>(max);
    if (evs == nullptr) {
      errno = ENOMEM;
      return -1;
    }
  }
  int n = epoll_wait(dpfd, evs.get(), max, count > 0 ? 0 : timeout_ms);
  if (n < 0) {
    int err = errno;
    if (err == EBADF || err == EINVAL) StateOf(dpfd, &st);  // closed behind our back: drop it
    errno = err;
    return -1;
  }
  std::lock_guard<std::mutex> lock(st->mu);
  if (st->closed) {
    errno = EBADF;
    return -1;
  }
  for (int i = 0; i < n && count < nfds; i++) {
    if (evs[i].data.u64 == kWake) continue;
    int fd = static_cast<int>(evs[i].data.u64);
    auto it = st->fds.find(fd);
    if (it == st->fds.end() || it->second.kind != kEpoll) continue;  // removed meanwhile
    uint16_t re = static_cast<uint16_t>(evs[i].events) & (it->second.mask | kAlways);
    if (re != 0) out[count++] = pollfd{fd, static_cast<short>(it->second.mask), static_cast<short>(re)};
  }
  return count;
}

extern "C" void iomux_devpoll_release(int fd) {
  std::shared_ptr<DpState> st;
  {
    Registry& r = Reg();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.states.find(fd);
    if (it == r.states.end()) return;
    st = it->second;
    r.states.erase(it);
  }
  Retire(st);
}

extern "C" int iomux_devpoll_count(void) {
  Registry& r = Reg();
  std::lock_guard<std::mutex> lock(r.mu);
  return static_cast<int>(r.states.size());
}
