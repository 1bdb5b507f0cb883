// The emulated VNODE filter (kqueue-linux-state.h), FreeBSD's semantics
// through inotify: one inotify descriptor per kqueue, made on the first
// VNODE knote and registered in its epoll; each knote watches the file its
// descriptor names (through /proc/self/fd/<ident>, so a file renamed or
// unlinked since it was opened is still the one watched). inotify's events
// map to notes:
//   IN_MODIFY                  NOTE_WRITE, and NOTE_EXTEND if the size grew
//   IN_CREATE, IN_DELETE,      NOTE_WRITE (a directory's entries changed),
//   IN_MOVED_FROM, IN_MOVED_TO and NOTE_LINK if its link count changed
//   IN_ATTRIB                  link count down: NOTE_DELETE (an unlink, as
//                              FreeBSD's remove); up: NOTE_LINK; else NOTE_ATTRIB
//   IN_MOVE_SELF               NOTE_RENAME
//   IN_DELETE_SELF             NOTE_DELETE
// fflags accumulates the asked-for notes until reported, data is 0. As on
// FreeBSD, EV_CLEAR reports them once; without it the knote stays active.
// NOTE_REVOKE (no Linux equivalent) and unknown bits fail with EINVAL; so
// does a descriptor that is no file, directory or device (a pipe, a socket).
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>

#include "kqueue-linux-state.h"

namespace iomux {
namespace kq {
namespace {

constexpr unsigned int kVnodeNotes = NOTE_DELETE | NOTE_WRITE | NOTE_EXTEND | NOTE_ATTRIB | NOTE_LINK | NOTE_RENAME;
constexpr uint32_t kMask = IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                           IN_MOVED_TO;

int EnsureInotify(KqState* st) {
  if (st->ifd >= 0) return 0;
  int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ifd < 0) return errno;
  struct epoll_event e;
  e.events = EPOLLIN;
  e.data.u64 = Tag(st, ifd);
  if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, ifd, &e) < 0) {
    int err = errno;
    close(ifd);
    return err;
  }
  st->ifd = ifd;
  return 0;
}

// The notes one inotify event means for kn (before its interest mask).
unsigned int Notes(Knote* kn, uint32_t mask) {
  unsigned int notes = 0;
  if (mask & IN_MOVE_SELF) notes |= NOTE_RENAME;
  if (mask & IN_DELETE_SELF) notes |= NOTE_DELETE;
  bool entries = (mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) != 0;
  if (!(mask & (IN_MODIFY | IN_ATTRIB)) && !entries) return notes;
  struct stat sb;
  if (kn->ident > INT_MAX || fstat(static_cast<int>(kn->ident), &sb) != 0) return notes;
  if (mask & IN_MODIFY || entries) notes |= NOTE_WRITE;
  if ((mask & IN_MODIFY) && sb.st_size > kn->size) notes |= NOTE_EXTEND;
  uint64_t nlink = static_cast<uint64_t>(sb.st_nlink);
  if (nlink < kn->nlink) notes |= entries ? NOTE_LINK : NOTE_DELETE;
  else if (nlink > kn->nlink) notes |= NOTE_LINK;
  else if (mask & IN_ATTRIB) notes |= NOTE_ATTRIB;
  kn->size = static_cast<int64_t>(sb.st_size);
  kn->nlink = nlink;
  return notes;
}

void Unwatch(KqState* st, Knote* kn) {
  if (kn->wd < 0) return;
  bool shared = false;
  auto range = st->by_wd.equal_range(kn->wd);
  for (auto it = range.first; it != range.second;) {
    if (it->second == kn) it = st->by_wd.erase(it);
    else shared = true, ++it;
  }
  if (!shared) inotify_rm_watch(st->ifd, kn->wd);
  kn->wd = -1;
}

}  // namespace

void ReadInotify(KqState* st) {
  alignas(struct inotify_event) char buf[4096];
  for (;;) {
    ssize_t len = read(st->ifd, buf, sizeof buf);
    if (len <= 0) return;  // EAGAIN: drained
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(struct inotify_event)) <= len;) {
      const struct inotify_event* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      auto range = st->by_wd.equal_range(ev->wd);
      if (ev->mask & IN_IGNORED) {  // the watch is gone (the file was deleted)
        for (auto it = range.first; it != range.second; ++it) it->second->wd = -1;
        st->by_wd.erase(range.first, range.second);
        continue;
      }
      for (auto it = range.first; it != range.second; ++it) {
        Knote* kn = it->second;
        kn->notes |= Notes(kn, ev->mask) & kn->sfflags;
        if (kn->notes != 0 && kn->enabled) Enqueue(st, kn, false);
      }
    }
  }
}

int ReportVnode(KqState* st, Knote* kn, struct kevent* out, int room) {
  if (!kn->enabled || kn->notes == 0) return 0;
  if (room <= 0) {
    Enqueue(st, kn, false);
    return 0;
  }
  *out = {kn->ident, EVFILT_VNODE, kn->flags, kn->notes, 0, kn->udata};
  if (kn->flags & EV_CLEAR) kn->notes = 0;
  if (AfterReport(st, kn) && kn->notes != 0 && kn->enabled) Enqueue(st, kn, false);
  return 1;
}

void DropVnode(KqState* st, Knote* kn) {
  Dequeue(st, kn);
  Unwatch(st, kn);
  st->vnodes.erase(kn->ident);
  delete kn;
}

void FreeVnodes(KqState* st) {
  for (auto& e : st->vnodes) delete e.second;
  st->vnodes.clear();
  st->by_wd.clear();
  if (st->ifd >= 0) close(st->ifd);  // its watches go with it
  st->ifd = -1;
}

int ApplyVnode(KqState* st, const struct kevent& ch) {
  auto it = st->vnodes.find(ch.ident);
  Knote* kn = it == st->vnodes.end() ? nullptr : it->second;
  int fd = ch.ident > INT_MAX ? -1 : static_cast<int>(ch.ident);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    if (kn != nullptr) DropVnode(st, kn);  // on BSD close() had removed it
    return EBADF;
  }
  if (kn == nullptr && !(ch.flags & EV_ADD)) return ENOENT;
  if ((ch.flags & EV_ADD) && (ch.fflags & ~kVnodeNotes) != 0) return EINVAL;  // NOTE_REVOKE too
  if (kn == nullptr) {
    if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode) && !S_ISCHR(sb.st_mode) && !S_ISBLK(sb.st_mode)) return EINVAL;
    int err = EnsureInotify(st);
    if (err != 0) return err;
    char path[32];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int wd = inotify_add_watch(st->ifd, path, kMask);
    if (wd < 0) return errno;
    kn = NewKnote(ch);
    kn->wd = wd;
    kn->size = static_cast<int64_t>(sb.st_size);
    kn->nlink = static_cast<uint64_t>(sb.st_nlink);
    st->vnodes[ch.ident] = kn;
    st->by_wd.emplace(wd, kn);
  } else {
    kn->udata = ch.udata;
    if (ch.flags & EV_ADD) kn->sfflags = ch.fflags, kn->notes &= ch.fflags;
  }
  if (ch.flags & EV_DELETE) {
    DropVnode(st, kn);
    return 0;
  }
  Toggle(kn, ch);
  if (kn->notes != 0 && kn->enabled) Enqueue(st, kn, false);
  return 0;
}

}  // namespace kq
}  // namespace iomux
