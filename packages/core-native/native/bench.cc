// Benchmark-only helpers: the same syscalls the JS layers make, looped in C,
// so `npm run bench` can report iomux's cost as a ratio to plain C measured in
// the same run. (Filled in by the benchmark work.)
#include "backend.h"

namespace iomux {

void InitBench(Napi::Env env, Napi::Object exports) {}

}  // namespace iomux
