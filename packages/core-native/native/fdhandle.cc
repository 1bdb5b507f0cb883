// Descriptor ownership. An object that owns a descriptor (epoll, Socket) keeps
// an External made here; the descriptor is closed by fdhandle_close(), or by
// the External's finalizer when the object is garbage-collected, or when the
// Node environment (main thread or worker) is torn down, whichever is first.
//
// Each box is referenced twice: by its External and by the per-environment
// tracker. Whichever side lets go last frees it, so the two finalizers may
// run in either order without a use-after-free.
#include <napi.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "args.h"
#include "backend.h"
#include "errno.h"
#include "fdhandle.h"
#ifdef IOMUX_KQUEUE_EMULATION
#include "kqueue-linux.h"
#endif
#ifdef IOMUX_DEVPOLL_EMULATION
#include "devpoll-linux.h"
#endif

namespace iomux {

// The boxes an environment owns, as a doubly linked list through the boxes.
struct Tracker {
  FdBox* head = nullptr;
  size_t count = 0;

  void Add(FdBox* box) {
    box->tracker = this;
    box->prev = nullptr;
    box->next = head;
    if (head != nullptr) head->prev = box;
    head = box;
    count++;
  }

  void Remove(FdBox* box) {
    if (box->prev != nullptr) box->prev->next = box->next;
    else head = box->next;
    if (box->next != nullptr) box->next->prev = box->prev;
    box->prev = box->next = nullptr;
    box->tracker = nullptr;
    count--;
  }
};

namespace {

void Release(FdBox* box) {
  if (--box->refs == 0) delete box;
}

// Drops the tracker's hold on box, if it still has one.
void Untrack(FdBox* box) {
  if (box->tracker == nullptr) return;
  box->tracker->Remove(box);
  Release(box);
}

// Close without retrying on EINTR: on Linux the descriptor is released even
// when close() reports EINTR (PEP 475 makes the same choice for os.close).
int CloseBox(FdBox* box, bool from_js) {
  // The libuv watcher (wait.cc) must let go of the descriptor before it is
  // closed: stopping it later would epoll_ctl(DEL) a number that may by then
  // belong to one of Node's own handles.
  if (box->watcher != nullptr) CloseWatcher(box, from_js);
  int fd = box->fd;
  box->fd = -1;
  if (fd < 0) return 0;
#ifdef IOMUX_KQUEUE_EMULATION
  // An emulated kqueue's knotes, timerfds and eventfd go with it (close or
  // GC); a no-op for any other descriptor.
  iomux_kqueue_release(fd);
#endif
#ifdef IOMUX_DEVPOLL_EMULATION
  iomux_devpoll_release(fd);  // an emulated devpoll's fd -> mask table
#endif
  return ::close(fd) == 0 ? 0 : errno;
}

void TrackerFinalize(Napi::Env, Tracker* tracker) {
  while (tracker->head != nullptr) {
    FdBox* box = tracker->head;
    CloseBox(box, false);
    Untrack(box);
  }
  delete tracker;
}

void ExternalFinalize(Napi::Env, FdBox* box) {
  CloseBox(box, true);
  Untrack(box);
  Release(box);  // the External's own reference
}

Tracker* GetTracker(Napi::Env env) {
  Tracker* t = env.GetInstanceData<Tracker>();
  if (t == nullptr) {
    t = new Tracker();
    env.SetInstanceData<Tracker, TrackerFinalize>(t);
  }
  return t;
}

}  // namespace

// Marks the Externals this file makes, so that an External from any other
// addon is refused instead of being read as an FdBox.
static const napi_type_tag kFdBoxTag = {0x696f6d7578666462ULL, 0x8a4f2c61d03e9b17ULL};

FdBox* BoxArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsExternal()) ThrowTypeError(info.Env(), "expected an fd handle");
  bool ours = false;
  if (napi_check_object_type_tag(info.Env(), info[i], &kFdBoxTag, &ours) != napi_ok || !ours) {
    ThrowTypeError(info.Env(), "expected an fd handle");
  }
  // SAFETY: the type tag proves fdhandle_new made this External.
  return info[i].As<Napi::External<FdBox>>().Data();
}

namespace {
// fdhandle_new(fd) -> External: takes ownership of fd.
Napi::Value New(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  Tracker* tracker = GetTracker(info.Env());
  FdBox* box = new FdBox{fd, 2, nullptr, nullptr, nullptr, nullptr};
  tracker->Add(box);
  Napi::External<FdBox> ext = Napi::External<FdBox>::New(info.Env(), box, ExternalFinalize);
  if (napi_type_tag_object(info.Env(), ext, &kFdBoxTag) != napi_ok) ThrowTypeError(info.Env(), "cannot tag an fd handle");
  return ext;
}

// fdhandle_close(h): closes the descriptor once; later calls do nothing.
Napi::Value Close(const Napi::CallbackInfo& info) {
  FdBox* box = BoxArg(info, 0);
  int err = CloseBox(box, true);
  Untrack(box);
  if (err != 0 && err != EINTR) ThrowErrno(info.Env(), err, "close");
  return info.Env().Undefined();
}

// fdhandle_detach(h) -> fd: gives up ownership without closing; -1 if closed.
Napi::Value Detach(const Napi::CallbackInfo& info) {
  FdBox* box = BoxArg(info, 0);
  if (box->watcher != nullptr) CloseWatcher(box, true);
  int fd = box->fd;
  box->fd = -1;
  Untrack(box);
  return Napi::Number::New(info.Env(), fd);
}

// fdhandle_fd(h) -> fd, or -1 once closed or detached.
Napi::Value Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), BoxArg(info, 0)->fd);
}

// fdhandle_open_count() -> descriptors this environment still owns.
Napi::Value OpenCount(const Napi::CallbackInfo& info) {
  Tracker* t = info.Env().GetInstanceData<Tracker>();
  return Napi::Number::New(info.Env(), t ? static_cast<double>(t->count) : 0);
}

}  // namespace

void InitFdHandle(Napi::Env env, Napi::Object exports) {
  exports.Set("fdhandle_new", Napi::Function::New(env, New, "fdhandle_new"));
  exports.Set("fdhandle_close", Napi::Function::New(env, Close, "fdhandle_close"));
  exports.Set("fdhandle_detach", Napi::Function::New(env, Detach, "fdhandle_detach"));
  exports.Set("fdhandle_fd", Napi::Function::New(env, Fd, "fdhandle_fd"));
  exports.Set("fdhandle_open_count", Napi::Function::New(env, OpenCount, "fdhandle_open_count"));
}

}  // namespace iomux
