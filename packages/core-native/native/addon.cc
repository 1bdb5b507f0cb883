// iomux native addon: the only file that sets exports. Each mechanism adds its
// functions through its Init* (see backend.h). Node-API is ABI-stable, so one
// binary loads on Node 20, 22 and 24, in the main thread and in workers.
#include <napi.h>

#include "backend.h"

namespace iomux {

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitFdHandle(env, exports);
  InitWait(env, exports);
  InitConstants(env, exports);
  InitSelect(env, exports);
  InitPoll(env, exports);
#ifdef IOMUX_HAVE_EPOLL
  InitEpoll(env, exports);
#endif
#ifdef IOMUX_HAVE_KQUEUE
  InitKqueue(env, exports);
#endif
#ifdef IOMUX_HAVE_DEVPOLL
  InitDevpoll(env, exports);
#endif
  InitOs(env, exports);
  InitSendfile(env, exports);
  InitResource(env, exports);
  InitSocket(env, exports);
  InitDgram(env, exports);
  InitDgramFds(env, exports);
  InitBatch(env, exports);
  InitSpawn(env, exports);
  InitSsl(env, exports);
  return exports;
}

}  // namespace iomux

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return iomux::Init(env, exports);
}

NODE_API_MODULE(iomux, InitAddon)
