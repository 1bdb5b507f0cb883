// kqueue(2)/kevent(2) emulated on Linux (kqueue-linux.cc): a small
// <sys/event.h> with FreeBSD's struct kevent (without FreeBSD 12's ext[4])
// and FreeBSD's constant values, so kqueue.cc has one code path for the real
// kqueue and this one. READ, WRITE, TIMER, USER, PROC (NOTE_EXIT), VNODE and
// SIGNAL (fed by iomux_kqueue_signal_post) are emulated; every other filter fails with EINVAL, as an unknown filter does
// on BSD.
#pragma once

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kevent {
  uintptr_t ident;     // a descriptor, or any number for TIMER and USER
  short filter;        // EVFILT_*
  unsigned short flags;  // EV_*
  unsigned int fflags;   // NOTE_*
  int64_t data;
  void* udata;
};

#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_AIO (-3)
#define EVFILT_VNODE (-4)
#define EVFILT_PROC (-5)
#define EVFILT_SIGNAL (-6)
#define EVFILT_TIMER (-7)
#define EVFILT_USER (-11)

#define EV_ADD 0x0001
#define EV_DELETE 0x0002
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008
#define EV_ONESHOT 0x0010
#define EV_CLEAR 0x0020
#define EV_RECEIPT 0x0040
#define EV_DISPATCH 0x0080
#define EV_SYSFLAGS 0xF000
#define EV_FLAG1 0x2000
#define EV_EOF 0x8000
#define EV_ERROR 0x4000

// READ/WRITE
#define NOTE_LOWAT 0x0001
// USER
#define NOTE_FFNOP 0x00000000u
#define NOTE_FFAND 0x40000000u
#define NOTE_FFOR 0x80000000u
#define NOTE_FFCOPY 0xc0000000u
#define NOTE_FFCTRLMASK 0xc0000000u
#define NOTE_FFLAGSMASK 0x00ffffffu
#define NOTE_TRIGGER 0x01000000u
// TIMER: the unit of data (milliseconds when none is given)
#define NOTE_SECONDS 0x00000001u
#define NOTE_MSECONDS 0x00000002u
#define NOTE_USECONDS 0x00000004u
#define NOTE_NSECONDS 0x00000008u
// VNODE (NOTE_REVOKE is not emulated: EINVAL)
#define NOTE_DELETE 0x0001
#define NOTE_WRITE 0x0002
#define NOTE_EXTEND 0x0004
#define NOTE_ATTRIB 0x0008
#define NOTE_LINK 0x0010
#define NOTE_RENAME 0x0020
#define NOTE_REVOKE 0x0040
// PROC: NOTE_EXIT only (the others fail with EINVAL)
#define NOTE_EXIT 0x80000000u
#define NOTE_FORK 0x40000000u
#define NOTE_EXEC 0x20000000u
#define NOTE_PCTRLMASK 0xf0000000u
#define NOTE_PDATAMASK 0x000fffffu
#define NOTE_TRACK 0x00000001u
#define NOTE_TRACKERR 0x00000002u
#define NOTE_CHILD 0x00000004u

// kqueue(2): a new kqueue, an epoll descriptor made with EPOLL_CLOEXEC.
int iomux_kqueue(void);

// kevent(2) with FreeBSD's semantics; -1 and errno on failure.
int iomux_kevent(int kq, const struct kevent* changelist, int nchanges, struct kevent* eventlist,
                 int nevents, const struct timespec* timeout);

// Frees the emulated state of descriptor fd if it is (or was) a kqueue:
// call it just before closing any descriptor that may be one (fdhandle.cc
// does, for every descriptor it closes). Does nothing for other numbers.
void iomux_kqueue_release(int fd);

// How many kqueues have emulated state (leak checks in tests).
int iomux_kqueue_count(void);

// SIGNAL: the emulation installs no signal handler (it would take the
// signal from Node's); whoever hears signo posts each delivery here. cookie
// names the state (iomux_kqueue_signals), so a post after the kqueue's
// number was reused goes nowhere. 1: counted; 0: no SIGNAL knote for signo;
// -1: kq is not that kqueue any more.
int iomux_kqueue_signal_post(int kq, uint32_t cookie, int signo);

// The state's cookie and the signals (bit signo) it has SIGNAL knotes for;
// -1 if kq is no emulated kqueue.
int iomux_kqueue_signals(int kq, uint32_t* cookie, uint32_t* mask);

#ifdef __cplusplus
}
#endif
