// Errors thrown by the native layer. Every failing syscall throws through
// ThrowErrno, which sets errno (positive POSIX number), code ('EBADF'),
// syscall and strerror on a plain Error; src/errors.ts fromNative() turns it
// into OSError or its PEP 3151 subclass. Argument errors carry `pyType`
// ('ValueError', 'OverflowError') so TypeScript can rethrow the contract's
// class with the same message.
#pragma once
#include <napi.h>

namespace iomux {

[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall);
[[noreturn]] void ThrowTypeError(Napi::Env env, const char* msg);
[[noreturn]] void ThrowValueError(Napi::Env env, const char* msg);
[[noreturn]] void ThrowOverflowError(Napi::Env env, const char* msg);

// 'EBADF' for EBADF, or nullptr when the platform has no symbolic name.
const char* ErrnoCode(int err);

}  // namespace iomux
