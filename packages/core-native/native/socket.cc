// BSD sockets: socket(2), bind(2), listen(2), accept4(2), connect(2), recv(2),
// send(2), shutdown(2), getsockname(2), getpeername(2), setsockopt(2).
// AF_INET, AF_INET6 and AF_UNIX. (Filled in by the socket work.)
#include "backend.h"

namespace iomux {

void InitSocket(Napi::Env env, Napi::Object exports) {}

}  // namespace iomux
