// Socket addresses as they cross to JS, for socket.cc and dgram.cc: one
// encoder and one decoder, with no N-API in them, so both bindings check
// and convert addresses the same way.
//
//   AF_INET   host is a numeric IPv4 address ("127.0.0.1"), port 0-65535.
//   AF_INET6  host is a numeric IPv6 address, optionally with a zone
//             ("fe80::1%2" or "fe80::1%eth0"); the zone is sin6_scope_id and
//             comes back as "%<number>" when non-zero.
//   AF_UNIX   host is the path (UTF-8), port is ignored. A name that starts
//             with "\0" (Linux abstract namespace) crosses as Latin-1, one
//             char per byte, so any byte string survives the round trip.
#ifndef IOMUX_SOCKADDR_H_
#define IOMUX_SOCKADDR_H_

#include <sys/socket.h>

#include <string>

namespace iomux {

struct SockAddr {
  struct sockaddr_storage ss;
  socklen_t len;
};

// Fills `out` (zeroed first) for AF_INET or AF_INET6. Returns nullptr, or
// the ValueError message for a host that is not a numeric address.
const char* EncodeInetAddr(int family, const std::string& host, int port, SockAddr* out);

// Fills `out` (zeroed first) for AF_UNIX. `wide` is the name as UTF-16 (to
// tell an abstract name and take it as Latin-1), `utf8` the same as UTF-8
// (for a path). Returns nullptr, or the ValueError message.
const char* EncodeUnixAddr(const std::u16string& wide, const std::string& utf8, SockAddr* out);

// A sockaddr the kernel filled in (len bytes valid), decoded.
struct DecodedAddr {
  int family;            // AF_UNSPEC when len holds no family
  std::string host;      // numeric address, or a path name (UTF-8 bytes)
  std::u16string wide;   // an abstract AF_UNIX name, one char per byte
  bool abstract = false; // wide holds the name, host is empty
  int port = 0;
  bool unnamed = false;  // AF_UNIX with no name bytes at all
};

DecodedAddr DecodeAddr(const struct sockaddr_storage* ss, socklen_t len);

}  // namespace iomux

#endif  // IOMUX_SOCKADDR_H_
