// The emulated filters (kqueue-linux-state.h), FreeBSD's semantics:
//   READ/WRITE  one epoll registration per descriptor, level-triggered, or
//               edge-triggered while every enabled knote on it has EV_CLEAR.
//               data: FIONREAD for READ; for WRITE SO_SNDBUF less SIOCOUTQ
//               (a socket), the pipe's size less FIONREAD (a pipe), else 1.
//               EV_EOF on EPOLLHUP/EPOLLRDHUP (READ) or EPOLLHUP/EPOLLERR
//               (WRITE); fflags then holds the socket's error, read with
//               SO_ERROR only when epoll reports EPOLLERR (which clears it).
//               A regular file, which epoll refuses, is always ready.
//   TIMER       a timerfd; data counts the expirations since last reported.
//   USER        no descriptor: pending ones make the eventfd readable.
//
// Stale readability of the epoll descriptor (readable, yet kevent(0) finds
// nothing): an EV_CLEAR knote sharing its descriptor with a knote without
// EV_CLEAR (level-triggered: kevent() waits again, and a blocking wait may
// spin until the state changes); a READ with FIONREAD 0 and no EOF; an
// always-ready file at its end.
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>

#include "kqueue-linux-state.h"

namespace iomux {
namespace kq {
namespace {

constexpr unsigned short kKeptFlags = EV_ONESHOT | EV_CLEAR | EV_DISPATCH;
constexpr unsigned int kTimerUnits = NOTE_SECONDS | NOTE_MSECONDS | NOTE_USECONDS | NOTE_NSECONDS;

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

// The enabled/disabled switch and EV_ADD's implicit enable, as FreeBSD.
void Toggle(Knote* kn, const struct kevent& ch) {
  if (ch.flags & EV_DISABLE) kn->enabled = false;
  else if (ch.flags & (EV_ENABLE | EV_ADD)) kn->enabled = true;
}

bool Pending(const Knote* kn) {
  if (!kn->enabled) return false;
  switch (kn->filter) {
    case EVFILT_USER: return kn->triggered;
    case EVFILT_TIMER: return kn->fired > 0;
    default: return kn->carried != 0 || kn->hot;
  }
}

// --- READ / WRITE -------------------------------------------------------

// Registers w's interest in the epoll (ADD, MOD or DEL as needed).
int Rearm(KqState* st, uintptr_t ident, FdWatch* w, bool force = false) {
  bool rd = w->rd != nullptr && w->rd->enabled;
  bool wr = w->wr != nullptr && w->wr->enabled;
  uint32_t ev = (rd ? uint32_t{EPOLLIN | EPOLLRDHUP} : 0u) | (wr ? uint32_t{EPOLLOUT} : 0u);
  bool clear = (!rd || (w->rd->flags & EV_CLEAR)) && (!wr || (w->wr->flags & EV_CLEAR));
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

void DropFd(KqState* st, uintptr_t ident, FdWatch* w, Knote* kn) {
  (kn == w->rd ? w->rd : w->wr) = nullptr;
  Dequeue(st, kn);
  delete kn;
  Rearm(st, ident, w);
  if (w->rd == nullptr && w->wr == nullptr) st->fds.erase(ident);
}

void Probe(FdWatch* w, int fd) {
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

// Fills ev from a READ/WRITE knote given epoll's events; false when there is
// nothing new to report.
bool FdEvent(FdWatch* w, Knote* kn, uint32_t revents, struct kevent* ev) {
  int fd = static_cast<int>(kn->ident);
  int64_t data = 1;
  bool eof;
  int n = 0;
  if (kn->filter == EVFILT_READ) {
    eof = (revents & (EPOLLHUP | EPOLLRDHUP)) != 0;
    if (ioctl(fd, FIONREAD, &n) == 0) data = n;  // a listening socket: 1
    if (!w->always && data == 0 && !eof && !(revents & EPOLLERR)) return false;
  } else {
    eof = (revents & (EPOLLHUP | EPOLLERR)) != 0;
    if (w->always) data = 0;
    else if (w->kind == kSocket && ioctl(fd, SIOCOUTQ, &n) == 0) data = std::max<int64_t>(w->wcap - n, 1);
    else if (w->kind == kPipe && ioctl(fd, FIONREAD, &n) == 0) data = std::max<int64_t>(w->wcap - n, eof ? 0 : 1);
  }
  bool edge = (w->events & EPOLLET) != 0;
  if ((kn->flags & EV_CLEAR) && !edge && !(data > kn->last_data || (eof && !kn->last_eof))) {
    kn->last_data = data;  // a drop lets the next growth be reported
    return false;
  }
  if (kn->filter == EVFILT_READ && w->always && data == 0) return false;
  kn->last_data = data;
  kn->last_eof = eof;
  unsigned int fflags = 0;
  if (eof && (revents & EPOLLERR) && w->kind == kSocket) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) fflags = static_cast<unsigned int>(err);
  }
  ev->ident = kn->ident;
  ev->filter = kn->filter;
  ev->flags = kn->flags | (eof ? EV_EOF : 0);
  ev->fflags = fflags;
  ev->data = data;
  ev->udata = kn->udata;
  return true;
}

// After a knote was reported: EV_ONESHOT deletes it, EV_DISPATCH disables it.
// Returns false when it was deleted.
bool AfterReport(KqState* st, Knote* kn);

// Reports a READ/WRITE knote, or carries its events to the next scan when
// out has no room. Returns the kevents written (0 or 1).
int ReportFd(KqState* st, FdWatch* w, Knote* kn, uint32_t revents, struct kevent* out, int room) {
  if (kn == nullptr || !kn->enabled) return 0;
  bool fires = kn->filter == EVFILT_READ ? (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0
                                         : (revents & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
  if (!fires) return 0;
  if (room <= 0) {
    kn->carried |= revents;
    Enqueue(st, kn, false);
    return 0;
  }
  if (!FdEvent(w, kn, revents, out)) return 0;
  AfterReport(st, kn);
  return 1;
}

// --- TIMER --------------------------------------------------------------

int ArmTimer(Knote* kn) {
  int64_t v = kn->sdata;
  unsigned int unit = kn->sfflags & kTimerUnits;
  int64_t mul = unit == NOTE_SECONDS ? 1000000000 : unit == NOTE_USECONDS ? 1000 : unit == NOTE_NSECONDS ? 1 : 1000000;
  int64_t ns = v > INT64_MAX / mul ? INT64_MAX : v * mul;
  if (ns == 0 && !(kn->flags & EV_ONESHOT)) kn->flags |= EV_ONESHOT;  // FreeBSD: a 0 period fires once
  struct itimerspec its;
  its.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
  its.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  if (ns == 0) its.it_value.tv_nsec = 1;  // 0 would disarm it
  its.it_interval = its.it_value;
  if (kn->flags & EV_ONESHOT) its.it_interval = {0, 0};
  kn->fired = 0;
  return timerfd_settime(kn->tfd, 0, &its, nullptr) == 0 ? 0 : errno;
}

int TimerInterest(KqState* st, Knote* kn) {
  struct epoll_event e;
  e.events = kn->enabled ? uint32_t{EPOLLIN} : 0u;  // disabled: expirations accumulate
  e.data.u64 = Tag(st, kn->tfd);
  if (epoll_ctl(st->epfd, EPOLL_CTL_MOD, kn->tfd, &e) < 0) return errno;
  if (kn->fired > 0 && kn->enabled) Enqueue(st, kn, false);
  return 0;
}

void DropTimer(KqState* st, Knote* kn) {
  Dequeue(st, kn);
  st->timers.erase(kn->ident);
  st->by_tfd.erase(kn->tfd);
  close(kn->tfd);  // also leaves the epoll
  delete kn;
}

int ReportTimer(KqState* st, Knote* kn, struct kevent* out, int room) {
  uint64_t count = 0;
  if (read(kn->tfd, &count, sizeof count) == static_cast<ssize_t>(sizeof count)) kn->fired += count;
  if (kn->fired == 0 || !kn->enabled) return 0;
  if (room <= 0) {
    Enqueue(st, kn, false);
    return 0;
  }
  out->ident = kn->ident;
  out->filter = EVFILT_TIMER;
  out->flags = kn->flags;
  out->fflags = 0;
  out->data = kn->fired > INT64_MAX ? INT64_MAX : static_cast<int64_t>(kn->fired);
  out->udata = kn->udata;
  kn->fired = 0;
  AfterReport(st, kn);
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
    } else {
      auto it = st->fds.find(kn->ident);
      DropFd(st, kn->ident, &it->second, kn);
    }
    return false;
  }
  if (kn->flags & EV_DISPATCH) {
    kn->enabled = false;
    if (kn->filter == EVFILT_TIMER) TimerInterest(st, kn);
    else if (kn->filter != EVFILT_USER) Rearm(st, kn->ident, &st->fds.find(kn->ident)->second);
  }
  return true;
}

}  // namespace

void Enqueue(KqState* st, Knote* kn, bool hot) {
  kn->hot = kn->hot || hot;
  if (kn->queued) return;
  st->soft.push_back(kn);
  kn->queued = true;
}

void UpdateSignal(KqState* st) {
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

int ApplyTimer(KqState* st, const struct kevent& ch) {
  auto it = st->timers.find(ch.ident);
  Knote* kn = it == st->timers.end() ? nullptr : it->second;
  if (kn == nullptr && !(ch.flags & EV_ADD)) return ENOENT;
  if (ch.flags & EV_ADD) {
    unsigned int unit = ch.fflags & kTimerUnits;
    if (ch.data < 0 || (ch.fflags & ~kTimerUnits) != 0 || (unit & (unit - 1)) != 0) return EINVAL;
  }
  if (kn == nullptr) {
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (tfd < 0) return errno;
    struct epoll_event e;
    e.events = EPOLLIN;
    e.data.u64 = Tag(st, tfd);
    if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, tfd, &e) < 0) {
      int err = errno;
      close(tfd);
      return err;
    }
    kn = NewKnote(ch);
    kn->tfd = tfd;
    st->timers[ch.ident] = kn;
    st->by_tfd[tfd] = kn;
  } else {
    kn->udata = ch.udata;
    if (ch.flags & EV_ADD) kn->sfflags = ch.fflags, kn->sdata = ch.data;
  }
  if (ch.flags & EV_DELETE) {
    DropTimer(st, kn);
    return 0;
  }
  if (ch.flags & EV_ADD) {
    Dequeue(st, kn);
    int err = ArmTimer(kn);
    if (err != 0) {
      DropTimer(st, kn);
      return err;
    }
  }
  Toggle(kn, ch);
  return TimerInterest(st, kn);
}

int ApplyUser(KqState* st, const struct kevent& ch) {
  auto it = st->users.find(ch.ident);
  Knote* kn = it == st->users.end() ? nullptr : it->second;
  if (kn == nullptr && !(ch.flags & EV_ADD)) return ENOENT;
  if (kn == nullptr) {
    kn = NewKnote(ch);
    // The control bits are requests, not state (FreeBSD keeps them raw).
    kn->sfflags = ch.fflags & NOTE_FFLAGSMASK;
    kn->triggered = (ch.fflags & NOTE_TRIGGER) != 0;
    st->users[ch.ident] = kn;
  } else if (!(ch.flags & EV_DELETE)) {
    // FreeBSD's filt_usertouch(EVENT_REGISTER), for any change.
    kn->udata = ch.udata;
    if (ch.fflags & NOTE_TRIGGER) kn->triggered = true;
    unsigned int ff = ch.fflags & NOTE_FFLAGSMASK;
    switch (ch.fflags & NOTE_FFCTRLMASK) {
      case NOTE_FFAND: kn->sfflags &= ff; break;
      case NOTE_FFOR: kn->sfflags |= ff; break;
      case NOTE_FFCOPY: kn->sfflags = ff; break;
      default: break;  // NOTE_FFNOP
    }
    kn->sdata = ch.data;
    if (ch.flags & EV_CLEAR) kn->triggered = false;
  }
  if (ch.flags & EV_DELETE) {
    Dequeue(st, kn);
    st->users.erase(ch.ident);
    delete kn;
    return 0;
  }
  Toggle(kn, ch);
  if (kn->triggered && kn->enabled) Enqueue(st, kn, false);
  return 0;
}

int FromEpoll(KqState* st, uint64_t data, uint32_t revents, struct kevent* out, int room) {
  int fd = static_cast<int>(static_cast<uint32_t>(data));
  if (fd == st->efd) return 0;  // the soft knotes: ScanSoft reports them
  auto t = st->by_tfd.find(fd);
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
    } else {
      FdWatch* w = &st->fds.find(kn->ident)->second;
      uint32_t revents = w->always ? EPOLLIN | EPOLLOUT : kn->carried;
      kn->carried = 0;
      bool reported = FdEvent(w, kn, revents, out + n);
      if (reported) {
        n++;
        if (!AfterReport(st, kn)) continue;
      }
      // An always-ready file stays queued; it keeps the eventfd readable
      // only while it has something to report.
      if (w->always && kn->enabled) Enqueue(st, kn, reported && !(kn->flags & EV_CLEAR));
    }
  }
  for (; i < queue.size(); i++) Enqueue(st, queue[i], queue[i]->hot);  // no room: next time
  return n;
}

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
  st->fds.clear();
  st->timers.clear();
  st->by_tfd.clear();
  st->users.clear();
  st->soft.clear();
  if (st->efd >= 0) close(st->efd);
  st->efd = -1;
}

}  // namespace kq
}  // namespace iomux
