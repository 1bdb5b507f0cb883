// Shared between fdhandle.cc (descriptor ownership) and wait.cc (the libuv
// watcher that lets a promise wait on an owned descriptor).
#pragma once
#include <napi.h>

namespace iomux {

struct Tracker;
struct Watcher;

// One owned descriptor. refs: the External and the per-environment tracker.
struct FdBox {
  int fd;
  int refs;
  Tracker* tracker;
  Watcher* watcher;  // wait.cc; closed before fd is
  FdBox* prev;       // the tracker's list (intrusive: no std container,
  FdBox* next;       // whose code would need a newer libstdc++ in prebuilds)
};

// The FdBox behind an fdhandle External argument (TypeError otherwise).
FdBox* BoxArg(const Napi::CallbackInfo& info, size_t i);

// wait.cc: stops and closes box->watcher and detaches it from the box.
// from_js: called on the JS thread outside environment teardown, so the
// callback reference may be released.
void CloseWatcher(FdBox* box, bool from_js);

}  // namespace iomux
