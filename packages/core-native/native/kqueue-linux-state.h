// The emulated kqueue's state (kqueue-linux.cc: registry, kevent() and
// FreeAll; kqueue-linux-*.cc: the filters). Internal to the emulation.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "kqueue-linux.h"

namespace iomux {
namespace kq {

struct Knote {
  uintptr_t ident;
  short filter;
  unsigned short flags;  // kept from the EV_ADD: EV_ONESHOT, EV_CLEAR, EV_DISPATCH
  unsigned int sfflags;
  int64_t sdata;
  void* udata;
  bool enabled = true;
  bool queued = false;     // in KqState::soft
  bool hot = false;        // queued and reportable now (always-ready files)
  uint32_t carried = 0;    // epoll events not yet reported (the eventlist was full)
  int64_t last_data = 0;   // EV_CLEAR: what was last seen
  bool last_eof = false;
  int tfd = -1;            // TIMER: its timerfd; PROC: its pidfd until the exit
  uint64_t fired = 0;      // TIMER: expirations, SIGNAL: deliveries, not yet reported; PROC: 1 once exited
  int64_t status = 0;      // PROC: the wait status
  unsigned int notes = 0;  // VNODE: the notes seen and not yet reported
  int wd = -1;             // VNODE: its inotify watch (shared by knotes on one file)
  int64_t size = 0;        // VNODE: the file's size and link count when last looked at
  uint64_t nlink = 0;
  bool triggered = false;  // USER
  uint64_t seen = 0;       // KqState::gen when last reported from epoll
};

// One descriptor's READ and WRITE knotes: one epoll registration with the
// union of the enabled ones' interest.
struct FdWatch {
  Knote* rd = nullptr;
  Knote* wr = nullptr;
  uint32_t events = 0;  // registered epoll interest (0: not in the epoll)
  bool always = false;  // epoll refuses it (a regular file): always ready
  int kind = 0;         // kSocket, kPipe, kOther
  int64_t wcap = 0;     // SO_SNDBUF or the pipe's size when registered
};

enum { kOther = 0, kSocket = 1, kPipe = 2 };

struct KqState {
  int epfd = -1;
  int efd = -1;         // eventfd: readable while a soft knote is hot
  uint32_t cookie = 0;  // the high half of every epoll_event.data we register
  bool closed = false;
  bool signalled = false;
  uint64_t gen = 0;  // one per scan (epoll events, then the soft queue)
  std::mutex mu;
  std::map<uintptr_t, FdWatch> fds;
  std::map<uintptr_t, Knote*> timers;
  std::map<int, Knote*> by_tfd;  // timerfds and pidfds
  std::map<uintptr_t, Knote*> procs;
  int ifd = -1;  // VNODE: an inotify descriptor, made on first use
  std::map<uintptr_t, Knote*> vnodes;
  std::multimap<int, Knote*> by_wd;
  std::map<uintptr_t, Knote*> signals;
  std::map<uintptr_t, Knote*> users;
  // Knotes checked on every scan without epoll: triggered USER events,
  // timers with expirations and descriptors' events that did not fit in the
  // last eventlist, and always-ready files.
  std::vector<Knote*> soft;

  // The eventfd outlives FreeAll: a thread still in epoll_wait holds this
  // state, and Retire's write to it is what wakes that thread.
  ~KqState();
};

inline uint64_t Tag(const KqState* st, int fd) {
  return (static_cast<uint64_t>(st->cookie) << 32) | static_cast<uint32_t>(fd);
}

// kqueue-linux-filters.cc (READ, WRITE, the soft queue),
// kqueue-linux-timer.cc (TIMER, USER), kqueue-linux-notes.cc (PROC, SIGNAL)
// and kqueue-linux-vnode.cc (VNODE); all with st->mu held.
Knote* NewKnote(const struct kevent& ch);
void Dequeue(KqState* st, Knote* kn);
// EV_DISABLE, or the enable that EV_ENABLE and EV_ADD make, as FreeBSD.
void Toggle(Knote* kn, const struct kevent& ch);
// After a report: EV_ONESHOT deletes the knote (false), EV_DISPATCH disables it.
bool AfterReport(KqState* st, Knote* kn);
int TimerInterest(KqState* st, Knote* kn);
void DropTimer(KqState* st, Knote* kn);
int ReportTimer(KqState* st, Knote* kn, struct kevent* out, int room);
int ApplyFd(KqState* st, const struct kevent& ch);
int ApplyTimer(KqState* st, const struct kevent& ch);
int ApplyUser(KqState* st, const struct kevent& ch);
int ApplyProc(KqState* st, const struct kevent& ch);
int ApplySignal(KqState* st, const struct kevent& ch);
// SIGNAL: one delivery of signo; false when no knote asks for it.
bool PostSignal(KqState* st, int signo);
// PROC, once its pidfd polls readable: records the exit and queues it.
void ProcExited(KqState* st, Knote* kn);
// Whether filter is one of kqueue-linux-notes.cc's (reported from the soft queue).
bool IsNote(short filter);
// Reports a notes knote (IsNote) into out[0, room); returns how many (0 or 1).
int ReportNote(KqState* st, Knote* kn, struct kevent* out, int room);
void DropNote(KqState* st, Knote* kn);
void FreeNotes(KqState* st);
int ApplyVnode(KqState* st, const struct kevent& ch);
// Reads the inotify descriptor and queues the VNODE knotes it concerns.
void ReadInotify(KqState* st);
int ReportVnode(KqState* st, Knote* kn, struct kevent* out, int room);
void DropVnode(KqState* st, Knote* kn);
void FreeVnodes(KqState* st);
// Turns one epoll event into kevents in out[0, room); returns how many.
int FromEpoll(KqState* st, uint64_t data, uint32_t revents, struct kevent* out, int room);
// Reports the hot soft knotes into out[0, room); returns how many.
int ScanSoft(KqState* st, struct kevent* out, int room);
void Enqueue(KqState* st, Knote* kn, bool hot);
// Makes the eventfd readable exactly while a soft knote is hot.
void UpdateSignal(KqState* st);
// Frees every knote and its internal descriptor (timerfd, pidfd, inotify;
// not epfd, nor efd: ~KqState). In kqueue-linux.cc.
void FreeAll(KqState* st);

}  // namespace kq
}  // namespace iomux
