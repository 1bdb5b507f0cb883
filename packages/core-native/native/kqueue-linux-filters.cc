// The emulated filters (kqueue-linux-state.h), FreeBSD's semantics:
//   READ/WRITE  one epoll registration per descriptor, level-triggered, or
//               edge-triggered while an enabled knote on it has EV_CLEAR
//               (a knote without it there is then kept level-triggered by
//               the soft queue, which polls the descriptor again).
//               NOTE_LOWAT: reported once data reaches the knote's data.
//               data: FIONREAD for READ; for WRITE SO_SNDBUF less SIOCOUTQ
//               (a socket), the pipe's size less FIONREAD (a pipe), else 1.
//               EV_EOF on EPOLLHUP/EPOLLRDHUP (READ) or EPOLLHUP/EPOLLERR
//               (WRITE); fflags stays 0: Linux can read a socket's error
//               only by clearing it (SO_ERROR), and the program (asyncio's
//               connect) must still find it there.
//               A regular file, which epoll refuses, is always ready.
//   TIMER, USER in kqueue-linux-timer.cc; PROC, SIGNAL, VNODE in
//   kqueue-linux-notes.cc and kqueue-linux-vnode.cc.
//
// Stale readability of the epoll descriptor (readable, yet kevent(0) finds
// nothing), each gone after that kevent(): a knote without EV_CLEAR on an
// edge-triggered registration whose descriptor is no longer ready; a READ
// with FIONREAD 0 and no EOF. An EV_CLEAR knote may be reported again when
// an edge for the other filter on its descriptor comes (a spurious report,
// never a lost one). An always-ready file at its end does not wake a wait.
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>

#include "kqueue-linux-state.h"

namespace iomux {
namespace kq {

static constexpr unsigned short kKeptFlags = EV_ONESHOT | EV_CLEAR | EV_DISPATCH;

Knote* NewKnote(const struct kevent& ch) {
  Knote* kn = new Knote();
  kn->ident = ch.ident;
  kn->filter = ch.filter;
  kn->flags = ch.flags & kKeptFlags;
  kn->sfflags = ch.fflags;
  kn->sdata = ch.data;
  kn->udata = ch.udata;
  return kn;
}

void Dequeue(KqState* st, Knote* kn) {
  if (!kn->queued) return;
  st->soft.erase(std::remove(st->soft.begin(), st->soft.end(), kn), st->soft.end());
  kn->queued = false;
  kn->hot = false;
}

void Toggle(Knote* kn, const struct kevent& ch) {
  if (ch.flags & EV_DISABLE) kn->enabled = false;
  else if (ch.flags & (EV_ENABLE | EV_ADD)) kn->enabled = true;
}

static bool Pending(const Knote* kn) {
  if (!kn->enabled) return false;
  switch (kn->filter) {
    case EVFILT_USER: return kn->triggered;
    case EVFILT_TIMER:
    case EVFILT_SIGNAL:
    case EVFILT_PROC: return kn->fired > 0;
    case EVFILT_VNODE: return kn->notes != 0;
    default: return kn->carried != 0 || kn->hot;
  }
}

// --- READ / WRITE -------------------------------------------------------

// Registers w's interest in the epoll (ADD, MOD or DEL as needed).
static int Rearm(KqState* st, uintptr_t ident, FdWatch* w, bool force = false) {
  bool rd = w->rd != nullptr && w->rd->enabled;
  bool wr = w->wr != nullptr && w->wr->enabled;
  uint32_t ev = (rd ? uint32_t{EPOLLIN | EPOLLRDHUP} : 0u) | (wr ? uint32_t{EPOLLOUT} : 0u);
  // NOTE_LOWAT too: below its mark a ready descriptor reports nothing, so
  // only a change (an edge) is worth a look.
  auto edgy = [](const Knote* kn) { return (kn->flags & EV_CLEAR) || (kn->sfflags & NOTE_LOWAT); };
  bool clear = (rd && edgy(w->rd)) || (wr && edgy(w->wr));
  if (ev != 0 && clear) ev |= EPOLLET;
  int fd = static_cast<int>(ident);
  if (w->always) {
    for (Knote* kn : {w->rd, w->wr}) {
      if (kn != nullptr && kn->enabled) Enqueue(st, kn, true);
      else if (kn != nullptr) Dequeue(st, kn);
    }
    return 0;
  }
  if (ev == w->events && !force) return 0;
  struct epoll_event e;
  e.events = ev;
  e.data.u64 = Tag(st, fd);
  if (ev == 0) {
    epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, &e);  // ENOENT/EBADF: gone already
    w->events = 0;
    return 0;
  }
  int op = w->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  int r = epoll_ctl(st->epfd, op, fd, &e);
  // The descriptor was closed and its number reused behind our back: epoll
  // dropped the old registration (ENOENT), or kept one we lost track of.
  if (r < 0 && errno == ENOENT) r = epoll_ctl(st->epfd, EPOLL_CTL_ADD, fd, &e);
  else if (r < 0 && errno == EEXIST) r = epoll_ctl(st->epfd, EPOLL_CTL_MOD, fd, &e);
  if (r < 0 && errno == EPERM && op == EPOLL_CTL_ADD) {
    w->always = true;  // a regular file or a directory
    return Rearm(st, ident, w, false);
  }
  if (r < 0) return errno;
  w->events = ev;
  return 0;
}

static void DropFd(KqState* st, uintptr_t ident, FdWatch* w, Knote* kn) {
  (kn == w->rd ? w->rd : w->wr) = nullptr;
  Dequeue(st, kn);
  delete kn;
  Rearm(st, ident, w);
  if (w->rd == nullptr && w->wr == nullptr) st->fds.erase(ident);
}

static void Probe(FdWatch* w, int fd) {
  struct stat sb;
  if (fstat(fd, &sb) != 0) return;
  if (S_ISSOCK(sb.st_mode)) {
    int v = 0;
    socklen_t len = sizeof v;
    w->kind = kSocket;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len) == 0) w->wcap = v;
  } else if (S_ISFIFO(sb.st_mode)) {
    w->kind = kPipe;
    int v = fcntl(fd, F_GETPIPE_SZ);
    if (v > 0) w->wcap = v;
  }
}

// READ's data on a listening TCP socket, as BSD gives it: the connections
// waiting in its accept queue (tcpi_unacked, for a listener); else 1.
static int64_t Backlog(int fd) {
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state == TCP_LISTEN) return ti.tcpi_unacked;
  return 1;
}

// Fills ev from a READ/WRITE knote given epoll's events; false when there is
// nothing new to report.
static bool FdEvent(FdWatch* w, Knote* kn, uint32_t revents, struct kevent* ev) {
  int fd = static_cast<int>(kn->ident);
  int64_t data = 1;
  bool eof;
  int n = 0;
  if (kn->filter == EVFILT_READ) {
    eof = (revents & (EPOLLHUP | EPOLLRDHUP)) != 0;
    if (ioctl(fd, FIONREAD, &n) == 0) data = n;
    else if (w->kind == kSocket) data = Backlog(fd);  // a listener (FIONREAD: EINVAL)
    if (!w->always && data == 0 && !eof && !(revents & EPOLLERR)) return false;
  } else {
    eof = (revents & (EPOLLHUP | EPOLLERR)) != 0;
    if (w->always) data = 0;
    else if (w->kind == kSocket && ioctl(fd, SIOCOUTQ, &n) == 0) data = std::max<int64_t>(w->wcap - n, 1);
    else if (w->kind == kPipe && ioctl(fd, FIONREAD, &n) == 0) data = std::max<int64_t>(w->wcap - n, eof ? 0 : 1);
  }
  if ((kn->sfflags & NOTE_LOWAT) && !eof && data < kn->sdata) return false;
  // An edge is a change; an always-ready file changed if it grew.
  if ((kn->flags & EV_CLEAR) && w->always && !(data > kn->last_data || (eof && !kn->last_eof))) {
    kn->last_data = data;  // a drop lets the next growth be reported
    return false;
  }
  if (kn->filter == EVFILT_READ && w->always && data == 0) return false;
  kn->last_data = data;
  kn->last_eof = eof;
  unsigned int fflags = 0;
  ev->ident = kn->ident;
  ev->filter = kn->filter;
  ev->flags = kn->flags | (eof ? EV_EOF : 0);
  ev->fflags = fflags;
  ev->data = data;
  ev->udata = kn->udata;
  return true;
}

static bool Fires(const Knote* kn, uint32_t revents) {
  return kn->filter == EVFILT_READ ? (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0
                                   : (revents & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
}

// A knote without EV_CLEAR on an edge-triggered registration stays
// level-triggered: after a report it waits in the soft queue, which polls.
static bool Level(const FdWatch* w, const Knote* kn) {
  return !w->always && (w->events & EPOLLET) && !(kn->flags & EV_CLEAR);
}

static_assert(POLLIN == EPOLLIN && POLLOUT == EPOLLOUT && POLLERR == EPOLLERR && POLLHUP == EPOLLHUP &&
                  POLLRDHUP == EPOLLRDHUP,
              "poll's and epoll's bits agree on Linux");

static uint32_t PollNow(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  return poll(&p, 1, 0) == 1 && !(p.revents & POLLNVAL) ? static_cast<uint32_t>(p.revents) : 0;
}

// Reports a READ/WRITE knote, or carries its events to the next scan when
// out has no room. Returns the kevents written (0 or 1).
static int ReportFd(KqState* st, FdWatch* w, Knote* kn, uint32_t revents, struct kevent* out, int room) {
  if (kn == nullptr || !kn->enabled || !Fires(kn, revents)) return 0;
  if (room <= 0) {
    kn->carried |= revents;
    Enqueue(st, kn, false);
    return 0;
  }
  kn->carried = 0;  // superseded by this report
  if (!FdEvent(w, kn, revents, out)) return 0;
  kn->seen = st->gen;
  if (AfterReport(st, kn) && kn->enabled && Level(w, kn)) {
    kn->carried = revents;
    Enqueue(st, kn, false);
  }
  return 1;
}

bool AfterReport(KqState* st, Knote* kn) {
  if (kn->flags & EV_ONESHOT) {
    if (kn->filter == EVFILT_TIMER) {
      DropTimer(st, kn);
    } else if (kn->filter == EVFILT_USER) {
      Dequeue(st, kn);
      st->users.erase(kn->ident);
      delete kn;
    } else if (IsNote(kn->filter)) {
      DropNote(st, kn);
    } else {
      auto it = st->fds.find(kn->ident);
      DropFd(st, kn->ident, &it->second, kn);
    }
    return false;
  }
  if (kn->flags & EV_DISPATCH) {
    kn->enabled = false;
    if (kn->filter == EVFILT_TIMER) TimerInterest(st, kn);
    else if (kn->filter == EVFILT_READ || kn->filter == EVFILT_WRITE) Rearm(st, kn->ident, &st->fds.find(kn->ident)->second);
  }
  return true;
}

void Enqueue(KqState* st, Knote* kn, bool hot) {
  kn->hot = kn->hot || hot;
  if (kn->queued) return;
  st->soft.push_back(kn);
  kn->queued = true;
}

void UpdateSignal(KqState* st) {
  if (st->soft.empty() && !st->signalled) return;
  bool want = false;
  for (Knote* kn : st->soft) want = want || Pending(kn);
  if (want == st->signalled) return;
  uint64_t v = 1;
  if (want) {
    if (write(st->efd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) return;
  } else if (read(st->efd, &v, sizeof v) < 0 && errno != EAGAIN) {
    return;
  }
  st->signalled = want;
}

int ApplyFd(KqState* st, const struct kevent& ch) {
  auto it = st->fds.find(ch.ident);
  FdWatch* w = it == st->fds.end() ? nullptr : &it->second;
  Knote* kn = w == nullptr ? nullptr : ch.filter == EVFILT_READ ? w->rd : w->wr;
  if (ch.ident > INT_MAX || fcntl(static_cast<int>(ch.ident), F_GETFD) < 0) {
    // Not open: on BSD close() had removed its knotes already.
    if (kn != nullptr) DropFd(st, ch.ident, w, kn);
    return EBADF;
  }
  if (static_cast<int>(ch.ident) == st->epfd) return EINVAL;
  if (kn == nullptr && !(ch.flags & EV_ADD)) return ENOENT;
  bool created = false;
  if (kn == nullptr) {
    if (w == nullptr) {
      w = &st->fds[ch.ident];
      Probe(w, static_cast<int>(ch.ident));
    }
    kn = NewKnote(ch);
    (ch.filter == EVFILT_READ ? w->rd : w->wr) = kn;
    created = true;
  } else {
    kn->udata = ch.udata;
    kn->sfflags = ch.fflags;
    kn->sdata = ch.data;
    if (ch.flags & EV_ADD) kn->last_data = 0, kn->last_eof = false;
  }
  if (ch.flags & EV_DELETE) {
    DropFd(st, ch.ident, w, kn);
    return 0;
  }
  Toggle(kn, ch);
  if (!kn->enabled) kn->carried = 0;
  // EV_ADD registers again: the number may now name another file.
  int err = Rearm(st, ch.ident, w, (ch.flags & EV_ADD) != 0);
  if (err != 0 && created) DropFd(st, ch.ident, w, kn);
  return err;
}

int FromEpoll(KqState* st, uint64_t data, uint32_t revents, struct kevent* out, int room) {
  int fd = static_cast<int>(static_cast<uint32_t>(data));
  if (fd == st->efd) return 0;  // the soft knotes: ScanSoft reports them
  if (fd == st->ifd) {
    ReadInotify(st);  // VNODE: queued for ScanSoft
    return 0;
  }
  auto t = st->by_tfd.find(fd);
  if (t != st->by_tfd.end() && t->second->filter == EVFILT_PROC) {
    ProcExited(st, t->second);  // reported from the soft queue
    return 0;
  }
  if (t != st->by_tfd.end()) return ReportTimer(st, t->second, out, room);
  auto it = st->fds.find(static_cast<uintptr_t>(fd));
  if (it == st->fds.end()) return 0;  // deleted while we waited
  FdWatch* w = &it->second;
  Knote* wr = w->wr;  // read may delete the READ knote (EV_ONESHOT), and w with it
  bool only_wr = w->rd == nullptr;
  int n = ReportFd(st, w, w->rd, revents, out, room);
  if (wr == nullptr) return n;
  if (!only_wr) {
    it = st->fds.find(static_cast<uintptr_t>(fd));
    if (it == st->fds.end()) return n;
    w = &it->second;
  }
  return n + ReportFd(st, w, w->wr, revents, out + n, room - n);
}

int ScanSoft(KqState* st, struct kevent* out, int room) {
  int n = 0;
  std::vector<Knote*> queue;
  queue.swap(st->soft);
  for (Knote* kn : queue) kn->queued = false;
  size_t i = 0;
  for (; i < queue.size() && n < room; i++) {
    Knote* kn = queue[i];
    kn->hot = false;
    if (!kn->enabled) continue;
    if (kn->filter == EVFILT_USER) {
      if (!kn->triggered) continue;
      out[n] = {kn->ident, EVFILT_USER, kn->flags, kn->sfflags, kn->sdata, kn->udata};
      n++;
      if (kn->flags & EV_CLEAR) kn->triggered = false;
      if (AfterReport(st, kn) && kn->triggered && kn->enabled) Enqueue(st, kn, false);
    } else if (kn->filter == EVFILT_TIMER) {
      n += ReportTimer(st, kn, out + n, room - n);
    } else if (IsNote(kn->filter)) {
      n += ReportNote(st, kn, out + n, room - n);
    } else {
      if (kn->seen == st->gen) {  // reported from epoll in this very call
        if (Pending(kn)) Enqueue(st, kn, false);
        continue;
      }
      FdWatch* w = &st->fds.find(kn->ident)->second;
      uint32_t revents = w->always ? uint32_t{EPOLLIN | EPOLLOUT} : Level(w, kn) ? PollNow(static_cast<int>(kn->ident)) : kn->carried;
      kn->carried = 0;
      bool reported = Fires(kn, revents) && FdEvent(w, kn, revents, out + n);
      if (reported) {
        n++;
        if (!AfterReport(st, kn)) continue;
      }
      if (!kn->enabled) continue;
      // An always-ready file stays queued; it keeps the eventfd readable
      // only while it has something to report.
      if (w->always) Enqueue(st, kn, reported && !(kn->flags & EV_CLEAR));
      else if (reported && Level(w, kn)) kn->carried = revents, Enqueue(st, kn, false);
    }
  }
  for (; i < queue.size(); i++) Enqueue(st, queue[i], queue[i]->hot);  // no room: next time
  return n;
}

}  // namespace kq
}  // namespace iomux
