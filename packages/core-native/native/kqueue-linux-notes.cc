// The emulated filters that report from the soft queue once something has
// happened (kqueue-linux-state.h), FreeBSD's semantics:
//   PROC  NOTE_EXIT only, through a pidfd in the kqueue's epoll; on the exit
//         the pidfd leaves the epoll and the knote reports once with EV_EOF
//         | EV_ONESHOT, data the wait status (WEXITSTATUS(data) and so on).
//         The status comes from waitid(WNOWAIT) while the child is a zombie
//         of ours, else from PIDFD_GET_INFO once it is reaped (Linux 6.15);
//         neither (a reaped child on an older kernel, or another parent's
//         child not yet reaped): data 0. NOTE_FORK/EXEC/TRACK and any other
//         bit: EINVAL. Without NOTE_EXIT the knote goes away unreported, as
//         FreeBSD drops it.
//   SIGNAL no descriptor and no handler: the emulation never touches a
//         signal's disposition, so Node's own handlers keep working. Whoever
//         hears a delivery (@iomux/select, through process.on) posts it with
//         iomux_kqueue_signal_post(); data counts the deliveries since the
//         last report, and EV_CLEAR is always set, as FreeBSD sets it.
//         Signals 1 to 31 but SIGKILL and SIGSTOP (which no handler can
//         hear); any other ident fails with EINVAL.
//   VNODE in kqueue-linux-vnode.cc.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

#include "kqueue-linux-state.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace iomux {
namespace kq {
namespace {

// <linux/pidfd.h>'s first version of struct pidfd_info (64 bytes), which
// older headers lack; the kernel reads its size from the ioctl number.
struct PidfdInfo {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t ids[11];  // pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid
  int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);
constexpr uint64_t kPidfdInfoExit = 1u << 3;

int64_t ExitStatus(int pidfd) {
  siginfo_t si;
  std::memset(&si, 0, sizeof si);
  if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si, WEXITED | WNOWAIT | WNOHANG) == 0 &&
      si.si_pid != 0) {
    int code = si.si_status;
    if (si.si_code == CLD_EXITED) return (code & 0xff) << 8;
    if (si.si_code == CLD_KILLED) return code & 0x7f;
    if (si.si_code == CLD_DUMPED) return (code & 0x7f) | 0x80;
  }
  PidfdInfo info;
  std::memset(&info, 0, sizeof info);
  info.mask = kPidfdInfoExit;
  if (ioctl(pidfd, kPidfdGetInfo, &info) == 0 && (info.mask & kPidfdInfoExit)) return info.exit_code;
  return 0;
}

// The pidfd leaves the epoll (closing it does) and the knote the map of
// internal descriptors.
void ClosePidfd(KqState* st, Knote* kn) {
  if (kn->tfd < 0) return;
  st->by_tfd.erase(kn->tfd);
  close(kn->tfd);
  kn->tfd = -1;
}

}  // namespace

bool IsNote(short filter) { return filter == EVFILT_PROC || filter == EVFILT_VNODE || filter == EVFILT_SIGNAL; }

void DropNote(KqState* st, Knote* kn) {
  if (kn->filter == EVFILT_VNODE) return DropVnode(st, kn);
  Dequeue(st, kn);
  if (kn->filter == EVFILT_PROC) {
    ClosePidfd(st, kn);
    st->procs.erase(kn->ident);
  } else {
    st->signals.erase(kn->ident);
  }
  delete kn;
}

void FreeNotes(KqState* st) {
  for (auto& e : st->procs) {
    if (e.second->tfd >= 0) close(e.second->tfd);
    delete e.second;
  }
  st->procs.clear();
  for (auto& e : st->signals) delete e.second;
  st->signals.clear();
  FreeVnodes(st);
}

void ProcExited(KqState* st, Knote* kn) {
  kn->status = ExitStatus(kn->tfd);
  kn->fired = 1;
  ClosePidfd(st, kn);
  if (!(kn->sfflags & NOTE_EXIT)) {
    DropNote(st, kn);  // FreeBSD's EV_DROP: nothing was asked for
    return;
  }
  if (kn->enabled) Enqueue(st, kn, false);
}

int ReportNote(KqState* st, Knote* kn, struct kevent* out, int room) {
  if (kn->filter == EVFILT_VNODE) return ReportVnode(st, kn, out, room);
  if (!kn->enabled || kn->fired == 0) return 0;
  if (room <= 0) {
    Enqueue(st, kn, false);
    return 0;
  }
  if (kn->filter == EVFILT_SIGNAL) {
    int64_t count = kn->fired > INT64_MAX ? INT64_MAX : static_cast<int64_t>(kn->fired);
    *out = {kn->ident, EVFILT_SIGNAL, kn->flags, 0, count, kn->udata};
    kn->fired = 0;
    AfterReport(st, kn);
    return 1;
  }
  // PROC: the process is gone, so is the knote.
  kn->flags |= EV_EOF | EV_ONESHOT;
  *out = {kn->ident, EVFILT_PROC, kn->flags, NOTE_EXIT, kn->status, kn->udata};
  AfterReport(st, kn);
  return 1;
}

int ApplyProc(KqState* st, const struct kevent& ch) {
  auto it = st->procs.find(ch.ident);
  Knote* kn = it == st->procs.end() ? nullptr : it->second;
  if (kn == nullptr && !(ch.flags & EV_ADD)) return ENOENT;
  if ((ch.flags & EV_ADD) && (ch.fflags & ~NOTE_EXIT) != 0) return EINVAL;  // FORK, EXEC, TRACK: not emulated
  if (kn == nullptr) {
    if (ch.ident == 0 || ch.ident > INT_MAX) return ESRCH;
    long pidfd = syscall(SYS_pidfd_open, static_cast<pid_t>(ch.ident), 0u);  // close-on-exec
    if (pidfd < 0) return errno;
    struct epoll_event e;
    e.events = EPOLLIN;
    e.data.u64 = Tag(st, static_cast<int>(pidfd));
    if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, static_cast<int>(pidfd), &e) < 0) {
      int err = errno;
      close(static_cast<int>(pidfd));
      return err;
    }
    kn = NewKnote(ch);
    kn->tfd = static_cast<int>(pidfd);
    st->procs[ch.ident] = kn;
    st->by_tfd[kn->tfd] = kn;
  } else {
    kn->udata = ch.udata;
    if (ch.flags & EV_ADD) kn->sfflags = ch.fflags;
  }
  if (ch.flags & EV_DELETE) {
    DropNote(st, kn);
    return 0;
  }
  Toggle(kn, ch);
  if (kn->fired > 0 && kn->enabled) Enqueue(st, kn, false);
  return 0;
}

int ApplySignal(KqState* st, const struct kevent& ch) {
  auto it = st->signals.find(ch.ident);
  Knote* kn = it == st->signals.end() ? nullptr : it->second;
  if (ch.ident < 1 || ch.ident > 31 || ch.ident == SIGKILL || ch.ident == SIGSTOP) return EINVAL;
  if (kn == nullptr && !(ch.flags & EV_ADD)) return ENOENT;
  if (kn == nullptr) {
    kn = NewKnote(ch);
    kn->flags |= EV_CLEAR;  // FreeBSD's filt_sigattach sets it
    st->signals[ch.ident] = kn;
  } else {
    kn->udata = ch.udata;
    if (ch.flags & EV_ADD) kn->sfflags = ch.fflags, kn->sdata = ch.data;
  }
  if (ch.flags & EV_DELETE) {
    DropNote(st, kn);
    return 0;
  }
  Toggle(kn, ch);
  if (kn->fired > 0 && kn->enabled) Enqueue(st, kn, false);
  return 0;
}

bool PostSignal(KqState* st, int signo) {
  auto it = st->signals.find(static_cast<uintptr_t>(signo));
  if (it == st->signals.end()) return false;
  Knote* kn = it->second;
  kn->fired++;  // disabled, it keeps counting, as FreeBSD's does
  if (kn->enabled) Enqueue(st, kn, false);
  return true;
}

}  // namespace kq
}  // namespace iomux
