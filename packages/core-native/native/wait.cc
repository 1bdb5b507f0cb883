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
// fdhandle_watch(h, callback, out, maxevents)
//                              (epoll) the same, and the addon looks first:
//                              epoll_wait(h, out, maxevents, 0) before the
//                              callback, which gets (0, n) only when n > 0
//                              (or n = -errno); a wake that finds nothing
//                              stays armed and never enters JS.
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
#include <cstdint>
#ifdef IOMUX_HAVE_EPOLL
#include <sys/epoll.h>
#endif

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
  napi_ref out;               // the look's Int32Array, while armed with one
  int maxevents;              // the look's maxevents
  napi_async_cleanup_hook_handle hook;
  bool closing;
  bool polling;  // uv_poll_start'ed (may be unref'd)
};

namespace {

// Releases the callback and the look's array (on the JS thread).
void DropRefs(Watcher* w) {
  if (w->callback != nullptr) napi_delete_reference(w->env, w->callback);
  if (w->out != nullptr) napi_delete_reference(w->env, w->out);
  w->callback = nullptr;
  w->out = nullptr;
}

// The look of a watch armed with an array: epoll_wait(fd, out, max, 0), the
// events written into the array as epoll_wait() writes them (epoll.cc).
// Returns n, -errno, or INT32_MIN when there is no room (a detached array).
int32_t Look(Watcher* w) {
#ifdef IOMUX_HAVE_EPOLL
  napi_value arr = nullptr;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_reference_value(w->env, w->out, &arr) != napi_ok || arr == nullptr ||
      napi_get_typedarray_info(w->env, arr, &type, &length, &data, nullptr, nullptr) != napi_ok || data == nullptr) {
    return INT32_MIN;
  }
  size_t room = length * sizeof(int32_t) / sizeof(struct epoll_event);
  int max = static_cast<size_t>(w->maxevents) < room ? w->maxevents : static_cast<int>(room);
  if (max < 1 || w->box == nullptr || w->box->fd < 0) return INT32_MIN;
  // The number JS sees, not the duplicate: a number closed behind our back
  // fails here as it would in JS's own look.
  int n = ::epoll_wait(w->box->fd, static_cast<struct epoll_event*>(data), max, 0);
  return n >= 0 ? n : -errno;
#else
  (void)w;
  return INT32_MIN;
#endif
}

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
  if (from_js) DropRefs(w);
  w->callback = nullptr;
  w->out = nullptr;
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
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  int32_t found = INT32_MIN;
  if (w->out != nullptr && status == 0) {
    found = Look(w);
    // Nothing there (or EINTR): stay armed, with no trip into JS.
    if (found == 0 || found == -EINTR) {
      napi_close_handle_scope(env, scope);
      return;
    }
  }
  if (w->out != nullptr) napi_delete_reference(env, w->out);
  w->out = nullptr;
  // One-shot for JavaScript: disarm (and stop keeping the process alive)
  // before the callback, which re-arms if it wants more.
  w->callback = nullptr;
  uv_unref(reinterpret_cast<uv_handle_t*>(h));
  napi_value fn = nullptr;
  napi_get_reference_value(env, ref, &fn);
  napi_delete_reference(env, ref);
  if (fn != nullptr) {
    napi_value global;
    napi_value args[2];
    size_t argc = found == INT32_MIN ? 1 : 2;
    napi_get_global(env, &global);
    napi_create_int32(env, status, &args[0]);
    if (argc == 2) napi_create_int32(env, found, &args[1]);
    // napi_make_callback runs the microtask queue afterwards, as Node does
    // for its own I/O callbacks, so promise continuations run at once.
    napi_status st = napi_make_callback(env, nullptr, global, fn, argc, args, nullptr);
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
  // The look's array and maxevents (epoll only; checked again at each look).
  bool looks = info.Length() >= 3 && !info[2].IsUndefined();
  int64_t max = 0;
  if (looks) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      ThrowTypeError(env, "out must be an Int32Array");
    }
    max = IntArg(info, 3, 1, INT32_MAX, "maxevents must be a positive integer");
  }
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
  if (looks) {
    napi_create_reference(env, info[2], 1, &w->out);
    w->maxevents = static_cast<int>(max);
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
    DropRefs(w);
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
