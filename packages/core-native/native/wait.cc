// Waiting without blocking the JS thread: a libuv poll watcher (uv_poll_t,
// on the loop of the calling environment from napi_get_uv_event_loop) on a
// descriptor the addon owns: an epoll descriptor (Linux). It never watches a
// user's descriptor: a second libuv watcher on a descriptor Node already
// watches would take its events away.
//
// fdhandle_watch(h, callback)  arms a one-shot watch: when h's descriptor
//                              becomes readable callback(status) runs once on
//                              the JS thread (status 0, or a negative libuv
//                              error).
// fdhandle_unwatch(h)          disarms it; callback will not run.
//
// Arming and disarming cost no syscall: the libuv watch keeps polling between
// waits and is only ref'd while armed, so it keeps the process alive only
// while something waits. If it fires while disarmed (the loop is busy and
// not waiting), it stops polling, so a descriptor left readable never makes
// Node's loop spin; the next arm starts it again.
//
// The watcher is closed before its descriptor (fdhandle close, GC, detach),
// and on environment teardown (worker end or terminate) by an async cleanup
// hook, so Node's loop closes only after the watcher's close callback ran.
//
// libuv watches a private duplicate of the descriptor, never the number JS
// can see: libuv aborts the process when epoll_ctl fails on a watched
// descriptor, so `os.close(ep.fileno())` during a wait would kill it. The
// duplicate keeps the same epoll instance open, so it is readable exactly
// when the original is.
#include <fcntl.h>
#include <napi.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>

#include "args.h"
#include "backend.h"
#include "errno.h"
#include "fdhandle.h"

namespace iomux {

struct Watcher {
  uv_poll_t handle;
  int fd;  // the private duplicate libuv watches; closed with the watcher
  napi_env env;
  FdBox* box;                 // null once detached from its box
  napi_ref callback;          // set while armed
  napi_async_cleanup_hook_handle hook;
  bool closing;
  bool polling;  // uv_poll_start'ed (may be unref'd)
};

namespace {

void OnClosed(uv_handle_t* h) {
  Watcher* w = static_cast<Watcher*>(h->data);
  if (w->hook != nullptr) napi_remove_async_cleanup_hook(w->hook);
  delete w;
}

void Close(Watcher* w, bool from_js) {
  if (w->closing) return;
  w->closing = true;
  if (w->box != nullptr) {
    w->box->watcher = nullptr;
    w->box = nullptr;
  }
  if (from_js && w->callback != nullptr) napi_delete_reference(w->env, w->callback);
  w->callback = nullptr;
  // uv_close stops the watch at once (epoll_ctl DEL on the loop's backend),
  // so the caller may close the descriptor right after this returns, and so
  // may we close the duplicate.
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), OnClosed);
  ::close(w->fd);
  w->fd = -1;
}

// Environment teardown: the async hook keeps Node's loop alive until
// OnClosed has run and removed it.
void OnTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  Watcher* w = static_cast<Watcher*>(arg);
  w->hook = handle;
  if (w->closing) return;  // OnClosed is pending and will remove the hook
  Close(w, false);
}

void OnReadable(uv_poll_t* h, int status, int events) {
  Watcher* w = static_cast<Watcher*>(h->data);
  napi_ref ref = w->callback;
  if (ref == nullptr || w->closing) {
    // Nobody waits: stop polling rather than be woken on every turn.
    uv_poll_stop(h);
    w->polling = false;
    return;
  }
  // One-shot for JavaScript: disarm (and stop keeping the process alive)
  // before the callback, which re-arms if it wants more.
  w->callback = nullptr;
  uv_unref(reinterpret_cast<uv_handle_t*>(h));
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn = nullptr;
  napi_get_reference_value(env, ref, &fn);
  napi_delete_reference(env, ref);
  if (fn != nullptr) {
    napi_value global;
    napi_value arg;
    napi_get_global(env, &global);
    napi_create_int32(env, status, &arg);
    // napi_make_callback runs the microtask queue afterwards, as Node does
    // for its own I/O callbacks, so promise continuations run at once.
    napi_status st = napi_make_callback(env, nullptr, global, fn, 1, &arg, nullptr);
    if (st == napi_pending_exception) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);  // 'uncaughtException', as for any callback
    }
  }
  napi_close_handle_scope(env, scope);
}

Napi::Value Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FdBox* box = BoxArg(info, 0);
  if (info.Length() < 2 || !info[1].IsFunction()) ThrowTypeError(env, "callback must be a function");
  if (box->fd < 0) ThrowErrno(env, EBADF, "fdhandle_watch");
  Watcher* w = box->watcher;
  if (w == nullptr) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) ThrowErrno(env, ENOSYS, "uv_poll_init");
    int dup_fd = fcntl(box->fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) ThrowErrno(env, errno, "fdhandle_watch");
    w = new Watcher{};
    w->env = env;
    w->fd = dup_fd;
    int rc = uv_poll_init(loop, &w->handle, dup_fd);
    if (rc != 0) {
      ::close(dup_fd);
      delete w;
      ThrowErrno(env, -rc, "uv_poll_init");
    }
    w->handle.data = w;
    if (napi_add_async_cleanup_hook(env, OnTeardown, w, &w->hook) != napi_ok) {
      w->hook = nullptr;
    }
    w->box = box;
    box->watcher = w;
  }
  if (w->callback != nullptr) ThrowErrno(env, EBUSY, "fdhandle_watch");
  if (!w->polling) {
    int rc = uv_poll_start(&w->handle, UV_READABLE, OnReadable);
    if (rc != 0) ThrowErrno(env, -rc, "uv_poll_start");
    w->polling = true;
  }
  uv_ref(reinterpret_cast<uv_handle_t*>(&w->handle));
  napi_create_reference(env, info[1], 1, &w->callback);
  return env.Undefined();
}

Napi::Value Unwatch(const Napi::CallbackInfo& info) {
  FdBox* box = BoxArg(info, 0);
  Watcher* w = box->watcher;
  if (w != nullptr && !w->closing) {
    // Keep polling (no syscall); the next idle wake-up stops it.
    uv_unref(reinterpret_cast<uv_handle_t*>(&w->handle));
    if (w->callback != nullptr) napi_delete_reference(w->env, w->callback);
    w->callback = nullptr;
  }
  return info.Env().Undefined();
}

}  // namespace

void CloseWatcher(FdBox* box, bool from_js) {
  if (box->watcher != nullptr) Close(box->watcher, from_js);
}

void InitWait(Napi::Env env, Napi::Object exports) {
  exports.Set("fdhandle_watch", Napi::Function::New(env, Watch, "fdhandle_watch"));
  exports.Set("fdhandle_unwatch", Napi::Function::New(env, Unwatch, "fdhandle_unwatch"));
}

}  // namespace iomux
