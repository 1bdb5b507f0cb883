// The socket module's constants, read from the addon: a constant this
// platform lacks is undefined.
import { socketConstants as C } from '../constants.js';

/** Address family: unspecified (any family). */
export const AF_UNSPEC: number = C.AF_UNSPEC!;
/** Address family: IPv4; addresses are `[host, port]`. */
export const AF_INET: number = C.AF_INET!;
/** Address family: IPv6; addresses are `[host, port, flowinfo, scopeId]`. */
export const AF_INET6: number = C.AF_INET6!;
/** Address family: Unix domain; addresses are a path string (or a Buffer for an abstract name). */
export const AF_UNIX: number = C.AF_UNIX!;
/** Socket type: a byte stream (TCP for AF_INET/AF_INET6). */
export const SOCK_STREAM: number = C.SOCK_STREAM!;
/** Socket type: datagrams (UDP for AF_INET/AF_INET6). */
export const SOCK_DGRAM: number = C.SOCK_DGRAM!;
/** Socket type: raw network protocol access; undefined where the platform lacks it. */
export const SOCK_RAW: number | undefined = C.SOCK_RAW;
/** Socket type: ordered, reliable datagrams; undefined where the platform lacks it. */
export const SOCK_SEQPACKET: number | undefined = C.SOCK_SEQPACKET;
/** Flag or-ed into a socket type: create the socket non-blocking (Linux); undefined elsewhere. */
export const SOCK_NONBLOCK: number | undefined = C.SOCK_NONBLOCK;
/** Flag or-ed into a socket type: close-on-exec (Linux); undefined elsewhere. */
export const SOCK_CLOEXEC: number | undefined = C.SOCK_CLOEXEC;
/** `setsockopt`/`getsockopt` level of the socket-level options (SO_*). */
export const SOL_SOCKET: number = C.SOL_SOCKET!;
/** Socket option: allow binding an address in TIME_WAIT. */
export const SO_REUSEADDR: number = C.SO_REUSEADDR!;
/** Socket option: let several sockets bind one port; undefined where the platform lacks it. */
export const SO_REUSEPORT: number | undefined = C.SO_REUSEPORT;
/** Socket option (read-only): the pending error, cleared on read (a non-blocking connect's result). */
export const SO_ERROR: number = C.SO_ERROR!;
/** Socket option: send TCP keep-alive probes. */
export const SO_KEEPALIVE: number = C.SO_KEEPALIVE!;
/** Socket option: the receive buffer size, in bytes. */
export const SO_RCVBUF: number = C.SO_RCVBUF!;
/** Socket option: the send buffer size, in bytes. */
export const SO_SNDBUF: number = C.SO_SNDBUF!;
/** Socket option (read-only): the socket type (SOCK_STREAM, ...). */
export const SO_TYPE: number = C.SO_TYPE!;
/** Socket option: linger on close (iomux reads and writes int options only). */
export const SO_LINGER: number = C.SO_LINGER!;
/** Socket option: allow sending datagrams to a broadcast address; undefined where absent. */
export const SO_BROADCAST: number | undefined = C.SO_BROADCAST;
/** Socket option: the minimum bytes for a receive to return; undefined where absent. */
export const SO_RCVLOWAT: number | undefined = C.SO_RCVLOWAT;
/** Socket option: the minimum bytes for a send to proceed; undefined where absent. */
export const SO_SNDLOWAT: number | undefined = C.SO_SNDLOWAT;
/** Socket option (read-only, Linux): the address family; undefined elsewhere. */
export const SO_DOMAIN: number | undefined = C.SO_DOMAIN;
/** Socket option (read-only, Linux): the protocol; undefined elsewhere. */
export const SO_PROTOCOL: number | undefined = C.SO_PROTOCOL;
/** Protocol number of IP; also the `setsockopt` level of IPv4 options. */
export const IPPROTO_IP: number = C.IPPROTO_IP!;
/** Protocol number of TCP; also the `setsockopt` level of TCP options (TCP_NODELAY). */
export const IPPROTO_TCP: number = C.IPPROTO_TCP!;
/** Protocol number of UDP. */
export const IPPROTO_UDP: number = C.IPPROTO_UDP!;
/** Protocol number of IPv6; also the `setsockopt` level of IPv6 options (IPV6_V6ONLY). */
export const IPPROTO_IPV6: number = C.IPPROTO_IPV6!;
/** IPv6 socket option: accept IPv6 only, not IPv4-mapped addresses; undefined where absent. */
export const IPV6_V6ONLY: number | undefined = C.IPV6_V6ONLY;
/** TCP socket option: send at once, without Nagle's algorithm. */
export const TCP_NODELAY: number = C.TCP_NODELAY!;
/** `shutdown(how)`: no more receives. */
export const SHUT_RD: number = C.SHUT_RD!;
/** `shutdown(how)`: no more sends (the peer reads end of stream). */
export const SHUT_WR: number = C.SHUT_WR!;
/** `shutdown(how)`: no more receives or sends. */
export const SHUT_RDWR: number = C.SHUT_RDWR!;
/** `recv` flag: return the data without removing it from the queue. */
export const MSG_PEEK: number = C.MSG_PEEK!;
/** `recv`/`send` flag: out-of-band data. */
export const MSG_OOB: number = C.MSG_OOB!;
/** `recv` flag: wait for the full amount (on a blocking socket). */
export const MSG_WAITALL: number = C.MSG_WAITALL!;
/** `recv` flag: return the real length of a truncated datagram; undefined where absent. */
export const MSG_TRUNC: number | undefined = C.MSG_TRUNC;
/** `recv`/`send` flag: this call only is non-blocking; undefined where absent. */
export const MSG_DONTWAIT: number | undefined = C.MSG_DONTWAIT;
/** `send` flag: EPIPE instead of SIGPIPE on a closed peer (Linux); undefined elsewhere. */
export const MSG_NOSIGNAL: number | undefined = C.MSG_NOSIGNAL;
/** The largest `listen()` backlog the platform advertises. */
export const SOMAXCONN: number = C.SOMAXCONN!;
/** `gaierror` errno (getaddrinfo): a temporary failure in name resolution; undefined where absent. */
export const EAI_AGAIN: number | undefined = C.EAI_AGAIN;
/** `gaierror` errno (getaddrinfo): invalid flags; undefined where absent. */
export const EAI_BADFLAGS: number | undefined = C.EAI_BADFLAGS;
/** `gaierror` errno (getaddrinfo): a non-recoverable failure in name resolution; undefined where absent. */
export const EAI_FAIL: number | undefined = C.EAI_FAIL;
/** `gaierror` errno (getaddrinfo): the address family is not supported; undefined where absent. */
export const EAI_FAMILY: number | undefined = C.EAI_FAMILY;
/** `gaierror` errno (getaddrinfo): out of memory; undefined where absent. */
export const EAI_MEMORY: number | undefined = C.EAI_MEMORY;
/**
 * `gaierror` errno (getaddrinfo): the host is unknown (iomux gives it for any host name that is no numeric address); undefined where absent.
 */
export const EAI_NONAME: number | undefined = C.EAI_NONAME;
/** `gaierror` errno (getaddrinfo): the service is not known for the socket type; undefined where absent. */
export const EAI_SERVICE: number | undefined = C.EAI_SERVICE;
/** `gaierror` errno (getaddrinfo): the socket type is not supported; undefined where absent. */
export const EAI_SOCKTYPE: number | undefined = C.EAI_SOCKTYPE;
/** `gaierror` errno (getaddrinfo): the host has no address in the family; undefined where absent. */
export const EAI_ADDRFAMILY: number | undefined = C.EAI_ADDRFAMILY;
/** `gaierror` errno (getaddrinfo): the host has no address; undefined where absent. */
export const EAI_NODATA: number | undefined = C.EAI_NODATA;
/** Python's `socket.has_ipv6`: this build knows AF_INET6. */
export const hasIpv6: boolean = C.AF_INET6 !== undefined;
