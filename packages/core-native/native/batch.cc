// The batches a loop makes of its transports' reads and writes: one call
// into the addon per batch instead of one per message. Each is a plain loop
// of send()/recv(), with every value of the table checked here: the table
// is writable from JS at any time.
//
// A table is an Int32Array: table[0] is the number of entries, then entries
// of kStride int32s, one layout for sends and receives (exported as
// batch_layout, which @iomux/core-native checks at load):
//
//   fd      the socket; a negative fd skips the entry (result 0)
//   offset  send: where its bytes start in the slab; recv: written, where
//           its bytes went
//   length  send: how many bytes; recv: the most to receive
//   result  written: bytes moved, or -errno (EINTR is retried)
//
// No call blocks, even on a blocking socket (MSG_DONTWAIT: -EAGAIN instead).
// Where this thread has an io_uring (uring.h, batch_io below), the sends or
// receives of a batch of two or more are one syscall instead of one each,
// with the same results.
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "args.h"
#include "batch.h"
#include "errno.h"
#include "uring.h"

namespace iomux {
namespace {

constexpr size_t kCountAt = 0;
constexpr size_t kHeader = 1;
constexpr size_t kStride = 4;
constexpr size_t kFd = 0;
constexpr size_t kOffset = 1;
constexpr size_t kLength = 2;
constexpr size_t kResult = 3;

struct BatchArgs {
  ByteSpan slab;
  int32_t* table;
  size_t count;
  // Entry i's first int32.
  int32_t* Entry(size_t i) const { return table + kHeader + i * kStride; }
};

BatchArgs BatchValues(napi_env env, napi_value slabv, napi_value tablev) {
  ByteSpan slab = BytesValue(env, slabv, "slab must be a Buffer or TypedArray");
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, tablev, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array) {
    ThrowTypeError(env, "table must be an Int32Array");
  }
  // A detached table reports no data: treat it as empty.
  if (data == nullptr || length == 0) return BatchArgs{slab, nullptr, 0};
  auto* table = static_cast<int32_t*>(data);
  int32_t count = table[kCountAt];
  if (count < 0 || static_cast<size_t>(count) > (length - kHeader) / kStride) {
    ThrowValueError(env, "batch count out of range");
  }
  return BatchArgs{slab, table, static_cast<size_t>(count)};
}

napi_value Int32Value(napi_env env, int32_t v) {
  napi_value out;
  NAPI_THROW_IF_FAILED(env, napi_create_int32(env, v, &out), nullptr);
  return out;
}

// Runs ops[0, n) in order, sends or receives, each result (bytes moved or
// -errno) in results[k]: through the thread's ring where it takes them,
// the rest with a syscall each. The caller has checked every op's buffer.
// A lone op is a plain syscall: io_uring_enter for one send costs more
// (bench/README.md, LOOP-ONE-CONN).
void RunOps(bool send, const UringOp* ops, int32_t* results, size_t n) {
  for (size_t k = n >= 2 ? UringRun(send, ops, results, n) : 0; k < n; k++) {
    ssize_t r;
    do {
      // SAFETY: ops[k] lies inside its slab, checked by the caller.
      r = send ? FastSend(ops[k].fd, ops[k].buf, ops[k].len, kSendFlags | MSG_DONTWAIT)
               : FastRecv(ops[k].fd, ops[k].buf, ops[k].len, MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
    results[k] = r < 0 ? -errno : static_cast<int32_t>(r);
  }
}

// send_batch(slab, table): sends slab[offset, offset + length) on fd for
// each entry (MSG_NOSIGNAL); a window outside the slab is -EINVAL. Returns
// the number of entries done (all of them).
napi_value SendBatch(napi_env env, napi_value slabv, napi_value tablev) {
  BatchArgs a = BatchValues(env, slabv, tablev);
  // The valid entries go in groups of kUringMaxOps (RunOps), in order.
  UringOp ops[kUringMaxOps];
  int32_t* slots[kUringMaxOps];
  int32_t results[kUringMaxOps];
  size_t pending = 0;
  auto flush = [&]() {
    RunOps(true, ops, results, pending);
    for (size_t k = 0; k < pending; k++) *slots[k] = results[k];
    pending = 0;
  };
  for (size_t i = 0; i < a.count; i++) {
    int32_t* e = a.Entry(i);
    int fd = e[kFd];
    int32_t off = e[kOffset];
    int32_t len = e[kLength];
    if (fd < 0) {
      e[kResult] = 0;
      continue;
    }
    if (off < 0 || len < 0 || static_cast<uint64_t>(off) + static_cast<uint64_t>(len) > a.slab.length) {
      e[kResult] = -EINVAL;
      continue;
    }
    ops[pending] = UringOp{fd, a.slab.data + off, static_cast<uint32_t>(len)};
    slots[pending] = e + kResult;
    if (++pending == kUringMaxOps) flush();
  }
  if (pending > 0) flush();
  return Int32Value(env, static_cast<int32_t>(a.count));
}

// recv_batch(slab, table): receives up to `length` bytes for each fd into
// the slab and writes each entry's result and offset, in entry order, each
// start 8-byte aligned; length <= 0 is -EINVAL. Returns the number of
// entries done.
//
// How much of the slab an entry may take:
// - Shares: 2 to kUringMaxOps entries, with an equal share of the slab of
//   at least kRecvBatchMin bytes each (a multiple of 8). Each entry takes
//   at most its share and every entry is done; one that gets less than its
//   peer sent leaves the rest readable, as after any short read. Where an
//   entry's bytes go: with a syscall per entry, right after the entry
//   before (packed); with a ring (uring.h), which receives every entry in
//   one syscall, each lands at the start of its share and one of fewer than
//   kRecvBatchMin bytes is then moved down, packed after the entry before,
//   while a larger one stays (no copy) and the next is packed after it.
// - Otherwise: packed from offset 0 one after another, each taking up to
//   `length` bytes of what is left; the batch stops early at an entry when
//   what is left is less than its length and less than kRecvBatchMin bytes.
constexpr size_t kRecvBatchMin = 4096;

inline size_t Align8(size_t n) { return (n + 7) & ~static_cast<size_t>(7); }

// A syscall per entry, from entry 0, packed; `share` as above, or 0 for
// the other rule.
size_t RecvPlain(const BatchArgs& a, size_t share) {
  size_t cursor = 0;
  size_t i = 0;
  for (; i < a.count; i++) {
    // Read here, not before the loop: an earlier entry's bytes may have
    // landed on this one (the slab may alias the table).
    int32_t* e = a.Entry(i);
    int fd = e[kFd];
    int32_t max = e[kLength];
    if (fd < 0) {
      e[kResult] = 0;
      e[kOffset] = 0;
      continue;
    }
    if (max <= 0) {
      e[kResult] = -EINVAL;
      e[kOffset] = 0;
      continue;
    }
    size_t left = cursor < a.slab.length ? a.slab.length - cursor : 0;
    size_t cap = static_cast<size_t>(max) < left ? static_cast<size_t>(max) : left;
    if (share > 0) {
      // Never short of room: each earlier entry took at most its share.
      if (cap > share) cap = share;
    } else if (cap < static_cast<size_t>(max) && cap < kRecvBatchMin) {
      break;
    }
    ssize_t n;
    do {
      // SAFETY: [cursor, cursor + cap) lies inside the slab (cap <= left).
      n = FastRecv(fd, a.slab.data + cursor, cap, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    e[kOffset] = static_cast<int32_t>(cursor);
    if (n < 0) {
      e[kResult] = -errno;
      continue;
    }
    e[kResult] = static_cast<int32_t>(n);
    cursor += Align8(static_cast<size_t>(n));
  }
  return i;
}

napi_value RecvBatch(napi_env env, napi_value slabv, napi_value tablev) {
  BatchArgs a = BatchValues(env, slabv, tablev);
  // Offsets cross as int32: use no more of the slab than they can name.
  if (a.slab.length > static_cast<size_t>(INT32_MAX)) a.slab.length = static_cast<size_t>(INT32_MAX);
  size_t share = a.count >= 2 ? (a.slab.length / a.count) & ~static_cast<size_t>(7) : 0;
  if (share < kRecvBatchMin) share = 0;
  if (share == 0 || a.count > kUringMaxOps || !UringReady()) {
    return Int32Value(env, static_cast<int32_t>(RecvPlain(a, share)));
  }
  // Every entry is read (and checked) before any byte is received: the
  // slab may alias the table, and what lands there is not read as entries.
  UringOp ops[kUringMaxOps];
  int32_t results[kUringMaxOps];
  // Per entry: kReceived, or the result of a skipped one (0 for fd < 0,
  // -EINVAL for length <= 0).
  constexpr int32_t kReceived = 1;
  int32_t state[kUringMaxOps];
  size_t m = 0;
  for (size_t i = 0; i < a.count; i++) {
    int32_t* e = a.Entry(i);
    int fd = e[kFd];
    int32_t max = e[kLength];
    state[i] = fd < 0 ? 0 : max <= 0 ? -EINVAL : kReceived;
    if (state[i] != kReceived) continue;
    size_t cap = static_cast<size_t>(max) < share ? static_cast<size_t>(max) : share;
    // SAFETY: [i * share, i * share + cap) lies inside the slab:
    // (i + 1) * share <= count * share <= slab length.
    ops[m++] = UringOp{fd, a.slab.data + i * share, static_cast<uint32_t>(cap)};
  }
  RunOps(false, ops, results, m);
  // Where each entry's bytes end up. The cursor never passes the start of
  // the current entry's share: each earlier entry ends inside its own.
  size_t cursor = 0;
  size_t k = 0;
  for (size_t i = 0; i < a.count; i++) {
    int32_t* e = a.Entry(i);
    if (state[i] != kReceived) {
      e[kResult] = state[i];
      e[kOffset] = 0;
      continue;
    }
    const UringOp& op = ops[k];
    int32_t n = results[k++];
    if (n <= 0) {
      e[kResult] = n;
      e[kOffset] = static_cast<int32_t>(cursor);
      continue;
    }
    size_t len = static_cast<size_t>(n) < op.len ? static_cast<size_t>(n) : op.len;
    size_t at = i * share;
    if (len < kRecvBatchMin) {
      // SAFETY: both ranges lie inside the slab; memmove allows overlap.
      if (cursor != at) std::memmove(a.slab.data + cursor, op.buf, len);
      at = cursor;
    }
    e[kResult] = static_cast<int32_t>(len);
    e[kOffset] = static_cast<int32_t>(at);
    cursor = at + Align8(len);
  }
  return Int32Value(env, static_cast<int32_t>(a.count));
}

// batch_io([mode]) -> how this thread's send_batch/recv_batch reach the
// kernel: "io_uring" (one syscall per batch), or why not: "disabled"
// (IOMUX_URING=0, or turned off), "unavailable" (refused by the kernel or a
// seccomp profile), "unsupported" (not Linux); those make a syscall per
// entry. mode "syscalls" turns the ring off for this thread, "io_uring"
// on again (where it can be); the answer is the state after.
Napi::Value BatchIo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() == 0 || info[0].IsUndefined()) return Napi::String::New(env, UringState());
  if (!info[0].IsString()) ThrowTypeError(env, "mode must be 'io_uring' or 'syscalls'");
  std::string mode = info[0].As<Napi::String>().Utf8Value();
  if (mode != "io_uring" && mode != "syscalls") ThrowValueError(env, "mode must be 'io_uring' or 'syscalls'");
  return Napi::String::New(env, UringSet(mode == "io_uring"));
}

}  // namespace

void InitBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("send_batch", Function2<SendBatch>(env, "send_batch"));
  exports.Set("recv_batch", Function2<RecvBatch>(env, "recv_batch"));
  exports.Set("batch_io", Napi::Function::New(env, BatchIo, "batch_io"));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("header", Napi::Number::New(env, static_cast<double>(kHeader)));
  layout.Set("stride", Napi::Number::New(env, static_cast<double>(kStride)));
  layout.Set("fd", Napi::Number::New(env, static_cast<double>(kFd)));
  layout.Set("offset", Napi::Number::New(env, static_cast<double>(kOffset)));
  layout.Set("length", Napi::Number::New(env, static_cast<double>(kLength)));
  layout.Set("result", Napi::Number::New(env, static_cast<double>(kResult)));
  layout.Set("ring_ops", Napi::Number::New(env, static_cast<double>(kUringMaxOps)));
  layout.Freeze();
  exports.Set("batch_layout", layout);
}

}  // namespace iomux
