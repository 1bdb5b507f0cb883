// The address conversion socket.cc and dgram.cc share (see sockaddr.h).
#include "sockaddr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace iomux {

const char* EncodeInetAddr(int family, const std::string& host, int port, SockAddr* out) {
  std::memset(out, 0, sizeof *out);
  const char* illegal = family == AF_INET ? "illegal IPv4 address string" : "illegal IPv6 address string";
  // host.c_str() stops at an embedded NUL, so reject those explicitly.
  if (host.find('\0') != std::string::npos) return illegal;
  if (port < 0 || port > 65535) return "port must be 0-65535";
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&out->ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1) return illegal;
    out->len = sizeof(struct sockaddr_in);
    return nullptr;
  }
  auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&out->ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(static_cast<uint16_t>(port));
  std::string addr = host;
  size_t pct = host.find('%');
  if (pct != std::string::npos) {
    addr = host.substr(0, pct);
    std::string zone = host.substr(pct + 1);
    if (zone.empty()) return illegal;
    if (zone.find_first_not_of("0123456789") == std::string::npos) {
      if (zone.size() > 10) return "IPv6 scope id out of range";
      unsigned long long v = std::strtoull(zone.c_str(), nullptr, 10);
      if (v > UINT32_MAX) return "IPv6 scope id out of range";
      sin6->sin6_scope_id = static_cast<uint32_t>(v);
    } else {
      unsigned idx = ::if_nametoindex(zone.c_str());
      if (idx == 0) return "unknown IPv6 zone";
      sin6->sin6_scope_id = idx;
    }
  }
  if (::inet_pton(AF_INET6, addr.c_str(), &sin6->sin6_addr) != 1) return illegal;
  out->len = sizeof(struct sockaddr_in6);
  return nullptr;
}

const char* EncodeUnixAddr(const std::u16string& wide, const std::string& utf8, SockAddr* out) {
  std::memset(out, 0, sizeof *out);
  auto* sun = reinterpret_cast<struct sockaddr_un*>(&out->ss);
  sun->sun_family = AF_UNIX;
  std::string path;
  if (!wide.empty() && wide[0] == 0) {
    // Abstract name: one Latin-1 char per byte.
    path.reserve(wide.size());
    for (char16_t c : wide) {
      if (c > 0xFF) return "abstract AF_UNIX name must be Latin-1";
      path.push_back(static_cast<char>(c));
    }
  } else {
    path = utf8;
  }
  // SAFETY: a path name needs room for its NUL terminator; an abstract name
  // (or the empty autobind name) may fill sun_path exactly. Nothing longer
  // is copied. The struct was zeroed, so a path name is NUL-terminated.
  bool abstract = path.empty() || path[0] == '\0';
  if (abstract ? path.size() > sizeof sun->sun_path : path.size() >= sizeof sun->sun_path) {
    return "AF_UNIX path too long";
  }
  std::memcpy(sun->sun_path, path.data(), path.size());
  out->len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size());
  return nullptr;
}

DecodedAddr DecodeAddr(const struct sockaddr_storage* ss, socklen_t len) {
  DecodedAddr d;
  // Some sockets (an unnamed peer) report no address at all.
  d.family = len >= static_cast<socklen_t>(sizeof(sa_family_t)) ? ss->ss_family : AF_UNSPEC;
  char buf[INET6_ADDRSTRLEN + 16];
  if (d.family == AF_INET && len >= static_cast<socklen_t>(sizeof(struct sockaddr_in))) {
    auto* sin = reinterpret_cast<const struct sockaddr_in*>(ss);
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) != nullptr) d.host = buf;
    d.port = ntohs(sin->sin_port);
  } else if (d.family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(struct sockaddr_in6))) {
    auto* sin6 = reinterpret_cast<const struct sockaddr_in6*>(ss);
    if (::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf) != nullptr) d.host = buf;
    if (sin6->sin6_scope_id != 0) d.host += "%" + std::to_string(sin6->sin6_scope_id);
    d.port = ntohs(sin6->sin6_port);
  } else if (d.family == AF_UNIX) {
    auto* sun = reinterpret_cast<const struct sockaddr_un*>(ss);
    size_t off = offsetof(struct sockaddr_un, sun_path);
    // SAFETY: the kernel may report a length past sun_path for a truncated
    // name; never read beyond the struct.
    size_t n = static_cast<size_t>(len) > off ? static_cast<size_t>(len) - off : 0;
    if (n > sizeof sun->sun_path) n = sizeof sun->sun_path;
    if (n == 0) {
      d.unnamed = true;
    } else if (sun->sun_path[0] == '\0') {
      d.abstract = true;
      d.wide.reserve(n);
      for (size_t k = 0; k < n; k++) d.wide.push_back(static_cast<unsigned char>(sun->sun_path[k]));
    } else {
      d.host.assign(sun->sun_path, ::strnlen(sun->sun_path, n));
    }
  }
  return d;
}

}  // namespace iomux
