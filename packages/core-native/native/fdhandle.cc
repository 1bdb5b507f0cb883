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
#include <unordered_set>

#include "args.h"
#include "backend.h"
#include "errno.h"
#include "fdhandle.h"

namespace iomux {

struct Tracker {
  std::unordered_set<FdBox*> boxes;
};

namespace {

void Release(FdBox* box) {
  if (--box->refs == 0) delete box;
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
  return ::close(fd) == 0 ? 0 : errno;
}

void TrackerFinalize(Napi::Env, Tracker* tracker) {
  for (FdBox* box : tracker->boxes) {
    CloseBox(box, false);
    box->tracker = nullptr;
    Release(box);
  }
  delete tracker;
}

void ExternalFinalize(Napi::Env, FdBox* box) {
  CloseBox(box, true);
  int drop = 1;
  if (box->tracker != nullptr) {
    box->tracker->boxes.erase(box);
    box->tracker = nullptr;
    drop = 2;
  }
  box->refs -= drop;
  if (box->refs == 0) delete box;
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
  FdBox* box = new FdBox{fd, 2, tracker, nullptr};
  tracker->boxes.insert(box);
  Napi::External<FdBox> ext = Napi::External<FdBox>::New(info.Env(), box, ExternalFinalize);
  if (napi_type_tag_object(info.Env(), ext, &kFdBoxTag) != napi_ok) ThrowTypeError(info.Env(), "cannot tag an fd handle");
  return ext;
}

// fdhandle_close(h): closes the descriptor once; later calls do nothing.
Napi::Value Close(const Napi::CallbackInfo& info) {
  FdBox* box = BoxArg(info, 0);
  int err = CloseBox(box, true);
  if (box->tracker != nullptr) {
    box->tracker->boxes.erase(box);
    box->tracker = nullptr;
    Release(box);
  }
  if (err != 0 && err != EINTR) ThrowErrno(info.Env(), err, "close");
  return info.Env().Undefined();
}

// fdhandle_detach(h) -> fd: gives up ownership without closing; -1 if closed.
Napi::Value Detach(const Napi::CallbackInfo& info) {
  FdBox* box = BoxArg(info, 0);
  if (box->watcher != nullptr) CloseWatcher(box, true);
  int fd = box->fd;
  box->fd = -1;
  if (box->tracker != nullptr) {
    box->tracker->boxes.erase(box);
    box->tracker = nullptr;
    Release(box);
  }
  return Napi::Number::New(info.Env(), fd);
}

// fdhandle_fd(h) -> fd, or -1 once closed or detached.
Napi::Value Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), BoxArg(info, 0)->fd);
}

// fdhandle_open_count() -> descriptors this environment still owns.
Napi::Value OpenCount(const Napi::CallbackInfo& info) {
  Tracker* t = info.Env().GetInstanceData<Tracker>();
  return Napi::Number::New(info.Env(), t ? static_cast<double>(t->boxes.size()) : 0);
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
