// The emulated TIMER and USER filters (kqueue-linux-state.h), FreeBSD's
// semantics:
//   TIMER  a timerfd per knote in the kqueue's epoll; data is the period in
//          milliseconds, or NOTE_SECONDS/USECONDS/NSECONDS; periodic unless
//          EV_ONESHOT (a period of 0 fires once); a report's data counts the
//          expirations since the last one. Disabled, it keeps counting.
//   USER   no descriptor: a triggered one sits in the soft queue, which
//          makes the kqueue's eventfd readable.
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "kqueue-linux-state.h"

namespace iomux {
namespace kq {

static constexpr unsigned int kTimerUnits = NOTE_SECONDS | NOTE_MSECONDS | NOTE_USECONDS | NOTE_NSECONDS;

static int ArmTimer(Knote* kn) {
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

}  // namespace kq
}  // namespace iomux
