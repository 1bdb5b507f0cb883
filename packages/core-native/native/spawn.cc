// Child processes for the loop's subprocesses: posix_spawn(3) with file
// actions (glibc's runs on CLONE_VFORK: no page-table copy), pidfd_open(2)
// and pidfd_send_signal(2) (Linux 5.3+, ENOSYS elsewhere), waitpid(2),
// kill(2). POSIX; the pidfd calls only on Linux.
//
// The child gets exactly fds 0-2 from the stdio actions: every descriptor
// iomux or Node opens is close-on-exec, and closefrom(3) (glibc 2.34+) or
// POSIX_SPAWN_CLOEXEC_DEFAULT (macOS) drops any other, as close_fds=True.
// The glibc extensions are looked up at run time, so the addon loads on any glibc.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "backend.h"
#include "errno.h"

extern char** environ;

#if defined(__GLIBC__)
#include <uv.h>
#define IOMUX_SPAWN_GLIBC_NP 1
#endif

namespace iomux {
namespace {

// Bounds on what one spawn copies: far above ARG_MAX's 2 MiB in practice.
constexpr uint32_t kMaxStrings = 1u << 20;
constexpr size_t kMaxStringBytes = 1u << 24;

constexpr int kInherit = -1;
constexpr int kDevnull = -2;

constexpr int kFlagSetsid = 1;
constexpr int kFlagSearchPath = 2;
constexpr int kFlagRestoreSignals = 4;

#ifdef IOMUX_SPAWN_GLIBC_NP
using AddClosefromFn = int (*)(posix_spawn_file_actions_t*, int);
using AddChdirFn = int (*)(posix_spawn_file_actions_t*, const char*);

// A glibc function found at run time (nullptr if this glibc lacks it): a
// link-time reference, even a weak one, would make the loader demand its
// glibc version (addclosefrom 2.34, addchdir 2.29). libuv's dlopen(NULL)
// and dlsym, not libc's: dlsym itself is versioned 2.34 in newer glibc.
template <typename F>
F GlibcFunction(const char* name) {
  uv_lib_t self;
  if (uv_dlopen(nullptr, &self) != 0) return nullptr;
  void* p = nullptr;
  if (uv_dlsym(&self, name, &p) != 0) p = nullptr;
  uv_dlclose(&self);
  return reinterpret_cast<F>(p);
}

// Looked up on first use (not while the addon itself is being loaded).
AddClosefromFn AddClosefrom() {
  static const AddClosefromFn f = GlibcFunction<AddClosefromFn>("posix_spawn_file_actions_addclosefrom_np");
  return f;
}

AddChdirFn AddChdir() {
  static const AddChdirFn f = GlibcFunction<AddChdirFn>("posix_spawn_file_actions_addchdir_np");
  return f;
}
#endif

// A string without NUL bytes (exec takes C strings), UTF-8.
std::string CString(napi_env env, napi_value v, const char* what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) ThrowTypeError(env, what);
  if (len > kMaxStringBytes) ThrowValueError(env, "argument too long");
  std::string s(len, '\0');
  size_t got = 0;
  // SAFETY: s holds len bytes plus its terminator.
  napi_get_value_string_utf8(env, v, &s[0], len + 1, &got);
  s.resize(got);
  if (std::memchr(s.data(), '\0', s.size()) != nullptr) ThrowValueError(env, "embedded null byte");
  return s;
}

std::vector<std::string> CStrings(napi_env env, napi_value v, const char* what) {
  bool isArray = false;
  if (napi_is_array(env, v, &isArray) != napi_ok || !isArray) ThrowTypeError(env, what);
  uint32_t n = 0;
  napi_get_array_length(env, v, &n);
  if (n > kMaxStrings) ThrowValueError(env, "too many arguments");
  std::vector<std::string> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, v, i, &e) != napi_ok) ThrowTypeError(env, what);
    out.push_back(CString(env, e, what));
  }
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& s) {
  std::vector<char*> p;
  p.reserve(s.size() + 1);
  for (auto& x : s) p.push_back(&x[0]);
  p.push_back(nullptr);
  return p;
}

// Owns the spawn attributes, file actions and temporary descriptors.
struct SpawnState {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  bool haveAttr = false;
  bool haveActions = false;
  int temps[3] = {-1, -1, -1};
  ~SpawnState() {
    if (haveActions) posix_spawn_file_actions_destroy(&actions);
    if (haveAttr) posix_spawnattr_destroy(&attr);
    for (int fd : temps) {
      if (fd >= 0) ::close(fd);
    }
  }
};

// posix_spawn(path, argv, env|null, stdio Int32Array[3], cwd|null, flags,
// pgroup) -> pid. stdio[i]: -1 inherit, -2 /dev/null, else a descriptor to
// dup2 onto i. flags: 1 setsid, 2 search PATH (posix_spawnp), 4 restore
// SIGPIPE/SIGXFSZ to their defaults. pgroup: -1 none, else setpgid(0, pgroup).
Napi::Value PosixSpawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = CString(env, info[0], "path must be a string");
  std::vector<std::string> argv = CStrings(env, info[1], "argv must be an array of strings");
  if (argv.empty()) ThrowValueError(env, "argv must not be empty");
  bool haveEnv = !info[2].IsNull() && !info[2].IsUndefined();
  std::vector<std::string> envs;
  if (haveEnv) envs = CStrings(env, info[2], "env must be an array of strings");
  Int32Span stdio = Int32ArrayArg(info, 3, "stdio must be an Int32Array");
  if (stdio.length != 3) ThrowValueError(env, "stdio must hold 3 descriptors");
  bool haveCwd = !info[4].IsNull() && !info[4].IsUndefined();
  std::string cwd;
  if (haveCwd) cwd = CString(env, info[4], "cwd must be a string");
  int flags = static_cast<int>(IntArg(info, 5, 0, 7, "flags must be an integer in [0, 7]"));
  int64_t pgroup = IntArg(info, 6, -1, INT_MAX, "pgroup must be an integer in [-1, INT_MAX]");
  int fds[3];
  for (int i = 0; i < 3; i++) {
    fds[i] = stdio.data[i];
    if (fds[i] < kDevnull) ThrowValueError(env, "stdio descriptor out of range");
  }

  SpawnState st;
  int err = posix_spawn_file_actions_init(&st.actions);
  if (err != 0) ThrowErrno(env, err, "posix_spawn_file_actions_init");
  st.haveActions = true;
  // A source among 0-2 could be overwritten by an earlier dup2: move it
  // above 2 first (close-on-exec, so only the dup2 copy reaches the child).
  for (int i = 0; i < 3; i++) {
    if (fds[i] >= 0 && fds[i] <= 2 && fds[i] != i) {
      int t = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
      if (t < 0) ThrowErrno(env, errno, "fcntl");
      st.temps[i] = t;
      fds[i] = t;
    }
  }
  for (int i = 0; i < 3 && err == 0; i++) {
    if (fds[i] == kDevnull) {
      err = posix_spawn_file_actions_addopen(&st.actions, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
    } else if (fds[i] >= 0) {
      // dup2 onto itself clears close-on-exec (glibc >= 2.29, POSIX 2024).
      err = posix_spawn_file_actions_adddup2(&st.actions, fds[i], i);
    }
  }
  if (err != 0) ThrowErrno(env, err, "posix_spawn_file_actions");
#ifdef IOMUX_SPAWN_GLIBC_NP
  // Python's close_fds=True: an inherited descriptor iomux did not open
  // (one a parent left without close-on-exec) stays out of the child too.
  if (AddClosefromFn addClosefrom = AddClosefrom()) {
    err = addClosefrom(&st.actions, 3);
    if (err != 0) ThrowErrno(env, err, "posix_spawn_file_actions_addclosefrom_np");
  }
#endif
  if (haveCwd) {
#if defined(IOMUX_SPAWN_GLIBC_NP)
    AddChdirFn addChdir = AddChdir();
    if (addChdir == nullptr) ThrowErrno(env, ENOSYS, "posix_spawn_file_actions_addchdir_np");
    err = addChdir(&st.actions, cwd.c_str());
#elif defined(__APPLE__)
    err = posix_spawn_file_actions_addchdir_np(&st.actions, cwd.c_str());
#else
    err = ENOSYS;
#endif
    if (err != 0) ThrowErrno(env, err, "posix_spawn_file_actions_addchdir_np");
  }

  err = posix_spawnattr_init(&st.attr);
  if (err != 0) ThrowErrno(env, err, "posix_spawnattr_init");
  st.haveAttr = true;
  short sflags = POSIX_SPAWN_SETSIGMASK;
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&st.attr, &none);
  if (flags & kFlagRestoreSignals) {
    // Python's restore_signals: Node ignores SIGPIPE, which exec keeps.
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
#ifdef SIGXFSZ
    sigaddset(&def, SIGXFSZ);
#endif
    posix_spawnattr_setsigdefault(&st.attr, &def);
    sflags |= POSIX_SPAWN_SETSIGDEF;
  }
  if (pgroup >= 0) {
    posix_spawnattr_setpgroup(&st.attr, static_cast<pid_t>(pgroup));
    sflags |= POSIX_SPAWN_SETPGROUP;
  }
#ifdef POSIX_SPAWN_CLOEXEC_DEFAULT
  sflags |= POSIX_SPAWN_CLOEXEC_DEFAULT;  // macOS: close_fds=True
#endif
  if (flags & kFlagSetsid) {
#ifdef POSIX_SPAWN_SETSID
    sflags |= POSIX_SPAWN_SETSID;
#else
    ThrowErrno(env, ENOSYS, "posix_spawnattr_setflags");
#endif
  }
  err = posix_spawnattr_setflags(&st.attr, sflags);
  if (err != 0) ThrowErrno(env, err, "posix_spawnattr_setflags");

  std::vector<char*> argp = Pointers(argv);
  std::vector<char*> envp;
  if (haveEnv) envp = Pointers(envs);
  char** e = haveEnv ? envp.data() : environ;
  pid_t pid = -1;
  // The exec's own errno comes back here (glibc, macOS), e.g. ENOENT.
  if (flags & kFlagSearchPath) {
    err = posix_spawnp(&pid, path.c_str(), &st.actions, &st.attr, argp.data(), e);
  } else {
    err = posix_spawn(&pid, path.c_str(), &st.actions, &st.attr, argp.data(), e);
  }
  if (err != 0) ThrowErrno(env, err, "posix_spawn");
  return Napi::Number::New(env, pid);
}

int PidArg(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<int>(IntArg(info, i, INT_MIN, INT_MAX, "pid must be an integer"));
}

// pidfd_open(pid) -> a close-on-exec pidfd; ENOSYS off Linux or before 5.3.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  int pid = PidArg(info, 0);
#if defined(__linux__) && defined(SYS_pidfd_open)
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) ThrowErrno(info.Env(), errno, "pidfd_open");
  return Napi::Number::New(info.Env(), static_cast<double>(fd));
#elif defined(__linux__)
  long fd = ::syscall(434, pid, 0);
  if (fd < 0) ThrowErrno(info.Env(), errno, "pidfd_open");
  return Napi::Number::New(info.Env(), static_cast<double>(fd));
#else
  (void)pid;
  ThrowErrno(info.Env(), ENOSYS, "pidfd_open");
#endif
}

// pidfd_send_signal(pidfd, sig)
Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  int sig = static_cast<int>(IntArg(info, 1, 0, 64, "signal must be an integer in [0, 64]"));
#if defined(__linux__)
  if (::syscall(424, fd, sig, nullptr, 0) < 0) ThrowErrno(info.Env(), errno, "pidfd_send_signal");
  return info.Env().Undefined();
#else
  (void)fd;
  (void)sig;
  ThrowErrno(info.Env(), ENOSYS, "pidfd_send_signal");
#endif
}

// waitpid(pid, options) -> [pid, status]; [0, 0] when WNOHANG finds nothing.
Napi::Value Waitpid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = PidArg(info, 0);
  int options = static_cast<int>(IntArg(info, 1, 0, INT_MAX, "options must be a non-negative integer"));
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, options);
  } while (r < 0 && errno == EINTR);
  if (r < 0) ThrowErrno(env, errno, "waitpid");
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, r));
  out.Set(1u, Napi::Number::New(env, r == 0 ? 0 : status));
  return out;
}

// waitstatus_to_exitcode(status): the exit code, or -signal; ValueError otherwise.
Napi::Value WaitstatusToExitcode(const Napi::CallbackInfo& info) {
  int status = static_cast<int>(IntArg(info, 0, INT_MIN, INT_MAX, "status must be an integer"));
  if (WIFEXITED(status)) return Napi::Number::New(info.Env(), WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return Napi::Number::New(info.Env(), -WTERMSIG(status));
  ThrowValueError(info.Env(), "invalid wait status");
}

// kill(pid, sig)
Napi::Value Kill(const Napi::CallbackInfo& info) {
  int pid = PidArg(info, 0);
  int sig = static_cast<int>(IntArg(info, 1, 0, 64, "signal must be an integer in [0, 64]"));
  if (::kill(pid, sig) < 0) ThrowErrno(info.Env(), errno, "kill");
  return info.Env().Undefined();
}

}  // namespace

void InitSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("posix_spawn", Napi::Function::New(env, PosixSpawn, "posix_spawn"));
  exports.Set("pidfd_open", Napi::Function::New(env, PidfdOpen, "pidfd_open"));
  exports.Set("pidfd_send_signal", Napi::Function::New(env, PidfdSendSignal, "pidfd_send_signal"));
  exports.Set("waitpid", Napi::Function::New(env, Waitpid, "waitpid"));
  exports.Set("waitstatus_to_exitcode", Napi::Function::New(env, WaitstatusToExitcode, "waitstatus_to_exitcode"));
  exports.Set("kill", Napi::Function::New(env, Kill, "kill"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("WNOHANG", Napi::Number::New(env, WNOHANG));
  c.Set("WUNTRACED", Napi::Number::New(env, WUNTRACED));
  exports.Set("spawn_constants", c);
}

}  // namespace iomux
