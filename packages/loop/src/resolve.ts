/**
 * Name resolution: asyncio's `loop.getaddrinfo`/`loop.getnameinfo` (CPython
 * 3.11 base_events.py, which runs socket.getaddrinfo in an executor) on
 * Node's resolver: `dns.lookup` (getaddrinfo(3) on libuv's thread pool) and
 * `dns.lookupService` (getnameinfo(3)), so the loop never blocks. What Node
 * does not take (the service, socket type, protocol, most flags) is done
 * here as glibc's getaddrinfo does it; errors are `gaierror`s with the C
 * library's codes and texts. Also `_ipaddr_info` and `_ensure_resolved`.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import { readFile } from 'node:fs/promises';
import { gaierror, pyTypeName, socketConstants as C, toCInt } from '@iomux/core-native';
import { OSError, OverflowError, ValueError } from '@iomux/core-native/error-classes';
import { serviceByName, serviceByPort } from './services.js';

/** An AF_INET or AF_INET6 address as getaddrinfo returns it (Python's tuples). */
export type InetSockaddr = [host: string, port: number] | [host: string, port: number, flowinfo: number, scopeId: number];
/** One getaddrinfo result: Python's `(family, type, proto, canonname, sockaddr)`. */
export type AddrInfo = [family: number, type: number, proto: number, canonname: string, sockaddr: InetSockaddr];

/** `loop.getaddrinfo()`'s options (Python's keywords). */
export interface GetaddrinfoOptions {
  /** AF_UNSPEC (0, the default), AF_INET or AF_INET6. */
  family?: number;
  /** 0 (every type), SOCK_STREAM, SOCK_DGRAM, SOCK_RAW. */
  type?: number;
  /** 0 or the protocol (IPPROTO_TCP, IPPROTO_UDP). */
  proto?: number;
  /** AI_* flags (`socketConstants.AI_PASSIVE`, ...). */
  flags?: number;
}

const AF_UNSPEC = C.AF_UNSPEC!;
const AF_INET = C.AF_INET!;
const AF_INET6 = C.AF_INET6!;
const SOCK_STREAM = C.SOCK_STREAM!;
const SOCK_DGRAM = C.SOCK_DGRAM!;
const SOCK_RAW = C.SOCK_RAW;
const TCP = C.IPPROTO_TCP!;
const UDP = C.IPPROTO_UDP!;
const AI_PASSIVE = C.AI_PASSIVE ?? 1;
const AI_CANONNAME = C.AI_CANONNAME ?? 2;
const AI_NUMERICHOST = C.AI_NUMERICHOST ?? 4;
const AI_NUMERICSERV = C.AI_NUMERICSERV ?? 0;
const AI_V4MAPPED = C.AI_V4MAPPED ?? 0;
const AI_ALL = C.AI_ALL ?? 0;
const AI_ADDRCONFIG = C.AI_ADDRCONFIG ?? 0;
const AI_VALID = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_NUMERICSERV | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG;
const NI_NUMERICHOST = C.NI_NUMERICHOST ?? 1;
const NI_NUMERICSERV = C.NI_NUMERICSERV ?? 2;
const NI_NAMEREQD = C.NI_NAMEREQD ?? 8;
const NI_DGRAM = C.NI_DGRAM ?? 16;
const NI_VALID = NI_NUMERICHOST | NI_NUMERICSERV | NI_NAMEREQD | NI_DGRAM | (C.NI_NOFQDN ?? 4);

// gai_strerror(3): glibc's texts, then the BSDs' and macOS's.
const GAI_TEXT: Record<string, [string, string]> = {
  EAI_BADFLAGS: ['Bad value for ai_flags', 'Invalid value for ai_flags'],
  EAI_NONAME: ['Name or service not known', 'nodename nor servname provided, or not known'],
  EAI_AGAIN: ['Temporary failure in name resolution', 'Temporary failure in name resolution'],
  EAI_FAIL: ['Non-recoverable failure in name resolution', 'Non-recoverable failure in name resolution'],
  EAI_NODATA: ['No address associated with hostname', 'No address associated with nodename'],
  EAI_FAMILY: ['ai_family not supported', 'ai_family not supported'],
  EAI_SOCKTYPE: ['ai_socktype not supported', 'ai_socktype not supported'],
  EAI_SERVICE: ['Servname not supported for ai_socktype', 'servname not supported for ai_socktype'],
  EAI_ADDRFAMILY: ['Address family for hostname not supported', 'Address family for hostname not supported'],
  EAI_MEMORY: ['Memory allocation failure', 'Memory allocation failure'],
  EAI_SYSTEM: ['System error', 'System error returned in errno'],
  EAI_OVERFLOW: ['Argument buffer overflow', 'Argument buffer overflow'],
};

/** `socket.gaierror(EAI_x, gai_strerror(EAI_x))`. */
export function gaiError(name: string): gaierror {
  const code = C[name] ?? (name === 'EAI_ADDRFAMILY' ? C.EAI_FAMILY : undefined) ?? C.EAI_FAIL ?? -4;
  const text = GAI_TEXT[name]?.[process.platform === 'linux' ? 0 : 1] ?? 'Unknown error';
  return new gaierror(code, text, { code: name });
}

/** A Node resolver error as Python's (ENOTFOUND is EAI_NONAME or EAI_NODATA). */
function fromNodeDns(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOTFOUND') return gaiError('EAI_NONAME');
  if (typeof code === 'string' && code.startsWith('EAI_') && C[code] !== undefined) return gaiError(code);
  // libuv's IDNA step refused the name (a label over 63 bytes, a lone
  // surrogate): where Python's idna codec raises UnicodeError, a ValueError.
  if (code === 'EINVAL') return new ValueError("encoding with 'idna' codec failed (UnicodeError: label empty or too long)");
  return new OSError(e instanceof Error ? e.message : String(e));
}

/** The port a service names: numeric as glibc parses it, or looked up for `proto`. */
async function servicePort(service: string, proto: 'tcp' | 'udp', flags: number): Promise<number | null> {
  if (/^[0-9]+$/.test(service)) return Number(BigInt(service) & 0xffffn);
  if (flags & AI_NUMERICSERV) throw gaiError('EAI_NONAME');
  return serviceByName(service, proto);
}

/** getaddrinfo's second argument: null, or the service as a string (Python's "Int or String expected"). */
function serviceArg(port: unknown): string | null {
  if (port === null || port === undefined) return null;
  if (typeof port === 'bigint' || (typeof port === 'number' && Number.isSafeInteger(port))) return String(port);
  if (typeof port === 'string') return port === '' ? '0' : port;
  if (port instanceof Uint8Array) return port.length === 0 ? '0' : Buffer.from(port).toString('latin1');
  throw new OSError('Int or String expected');
}

/** The (type, proto) pairs asked for, as glibc's gaih_inet_typeproto table gives them. */
function socktypes(type: number, proto: number): Array<[number, number]> {
  if (type === 0) {
    if (proto === 0) return SOCK_RAW === undefined ? [[SOCK_STREAM, TCP], [SOCK_DGRAM, UDP]] : [[SOCK_STREAM, TCP], [SOCK_DGRAM, UDP], [SOCK_RAW, 0]];
    if (proto === TCP) return [[SOCK_STREAM, TCP]];
    if (proto === UDP) return [[SOCK_DGRAM, UDP]];
    throw gaiError('EAI_SERVICE');
  }
  if (type === SOCK_STREAM) {
    if (proto === 0 || proto === TCP) return [[SOCK_STREAM, TCP]];
    throw gaiError('EAI_SOCKTYPE');
  }
  if (type === SOCK_DGRAM) {
    if (proto === 0 || proto === UDP) return [[SOCK_DGRAM, UDP]];
    throw gaiError('EAI_SOCKTYPE');
  }
  if (type === SOCK_RAW) return [[SOCK_RAW, proto]];
  throw gaiError('EAI_SOCKTYPE');
}

/** An interface's index for an IPv6 zone ('%lo', '%2'); EAI_NONAME if there is none. */
async function scopeIdOf(zone: string): Promise<number> {
  if (/^[0-9]+$/.test(zone) && Number(zone) <= 0xffffffff) return Number(zone);
  if (zone !== '' && !zone.includes('/') && zone !== '.' && zone !== '..') {
    try {
      return Number((await readFile(`/sys/class/net/${zone}/ifindex`, 'latin1')).trim());
    } catch {
      // No such interface (or no sysfs): as glibc, the name is unknown.
    }
  }
  throw gaiError('EAI_NONAME');
}

/** [family, address, scopeId] for `host`, through Node's resolver unless numeric. */
async function lookupHost(host: string | null, family: number, flags: number): Promise<Array<[number, string, number]>> {
  if (host === null) {
    const passive = (flags & AI_PASSIVE) !== 0;
    const v4: [number, string, number] = [AF_INET, passive ? '0.0.0.0' : '127.0.0.1', 0];
    const v6: [number, string, number] = [AF_INET6, passive ? '::' : '::1', 0];
    if (family === AF_INET) return [v4];
    if (family === AF_INET6) return [v6];
    // glibc's order: the wildcards IPv4 first, the loopbacks IPv6 first.
    return passive ? [v4, v6] : [v6, v4];
  }
  if (host === '' || host.includes('\0')) throw gaiError('EAI_NONAME');
  const pct = host.indexOf('%');
  const bare = pct < 0 ? host : host.slice(0, pct);
  if (net.isIPv4(host)) {
    if (family !== AF_INET6) return [[AF_INET, host, 0]];
    if (flags & AI_V4MAPPED) return [[AF_INET6, `::ffff:${host}`, 0]];
    throw gaiError('EAI_ADDRFAMILY');
  }
  if (net.isIPv6(bare)) {
    if (family === AF_INET) throw gaiError('EAI_ADDRFAMILY');
    return [[AF_INET6, bare, pct < 0 ? 0 : await scopeIdOf(host.slice(pct + 1))]];
  }
  if (flags & AI_NUMERICHOST) throw gaiError('EAI_NONAME');
  let hints = 0;
  if (flags & AI_ADDRCONFIG) hints |= dns.ADDRCONFIG;
  if (family === AF_INET6 && flags & AI_V4MAPPED) hints |= dns.V4MAPPED;
  if (family === AF_INET6 && flags & AI_V4MAPPED && flags & AI_ALL) hints |= dns.ALL;
  const nodeFamily = family === AF_INET ? 4 : family === AF_INET6 ? 6 : 0;
  let found: dns.LookupAddress[];
  try {
    found = await dns.promises.lookup(host, { family: nodeFamily, hints, all: true, verbatim: true });
  } catch (e) {
    throw fromNodeDns(e);
  }
  if (found.length === 0) throw gaiError('EAI_NONAME');
  return found.map((a) => {
    const p = a.address.indexOf('%');
    const scope = p < 0 ? 0 : Number(a.address.slice(p + 1)) >>> 0;
    return [a.family === 6 ? AF_INET6 : AF_INET, p < 0 ? a.address : a.address.slice(0, p), scope];
  });
}

function intArg(x: unknown): number {
  if (x === undefined || x === null) return 0;
  if (typeof x !== 'number' && typeof x !== 'bigint' && typeof x !== 'boolean') {
    throw new TypeError(`'${pyTypeName(x)}' object cannot be interpreted as an integer`);
  }
  return toCInt(x);
}

/**
 * Python's `socket.getaddrinfo(host, port, family, type, proto, flags)`,
 * on Node's resolver: resolves with `[family, type, proto, canonname,
 * sockaddr]` entries, in the resolver's order.
 */
export async function getaddrinfo(host: unknown, port: unknown, options: GetaddrinfoOptions = {}): Promise<AddrInfo[]> {
  let name: string | null;
  if (host === null || host === undefined) name = null;
  else if (typeof host === 'string') name = host;
  else if (host instanceof Uint8Array) name = Buffer.from(host).toString('latin1');
  else throw new TypeError('getaddrinfo() argument 1 must be string or None');
  const service = serviceArg(port);
  const family = intArg(options.family);
  const type = intArg(options.type);
  const proto = intArg(options.proto);
  const flags = intArg(options.flags);
  if (name === null && service === null) throw gaiError('EAI_NONAME');
  if ((flags & ~AI_VALID) !== 0 || (flags & AI_CANONNAME && name === null)) throw gaiError('EAI_BADFLAGS');
  if (family !== AF_UNSPEC && family !== AF_INET && family !== AF_INET6) throw gaiError('EAI_FAMILY');
  let pairs = socktypes(type, proto);
  if (type === SOCK_RAW && service !== null) throw gaiError('EAI_SERVICE');
  const ports: number[] = [];
  if (service === null) {
    for (let i = 0; i < pairs.length; i++) ports.push(0);
  } else if (/^[0-9]+$/.test(service)) {
    const p = await servicePort(service, 'tcp', flags);
    for (let i = 0; i < pairs.length; i++) ports.push(p!);
  } else {
    if (pairs.length === 1 && pairs[0]![0] === SOCK_RAW) throw gaiError('EAI_SERVICE');
    // A named service exists per protocol; raw sockets have none.
    const kept: Array<[number, number]> = [];
    for (const pair of pairs) {
      if (pair[0] === SOCK_RAW) continue;
      const p = await servicePort(service, pair[0] === SOCK_DGRAM ? 'udp' : 'tcp', flags);
      if (p === null) continue;
      kept.push(pair);
      ports.push(p);
    }
    if (kept.length === 0) throw gaiError('EAI_SERVICE');
    pairs = kept;
  }
  const addrs = await lookupHost(name, family, flags);
  const out: AddrInfo[] = [];
  for (const [af, addr, scope] of addrs) {
    for (let i = 0; i < pairs.length; i++) {
      const sa: InetSockaddr = af === AF_INET6 ? [addr, ports[i]!, 0, scope] : [addr, ports[i]!];
      const canon = out.length === 0 && flags & AI_CANONNAME ? name! : '';
      out.push([af, pairs[i]![0], pairs[i]![1], canon, sa]);
    }
  }
  return out;
}

/**
 * Python's `socket.getnameinfo(sockaddr, flags)`, on Node's resolver:
 * resolves with `[host, service]`.
 */
export async function getnameinfo(sockaddr: unknown, flags: unknown = 0): Promise<[string, string]> {
  if (!Array.isArray(sockaddr)) throw new TypeError('getnameinfo() argument 1 must be a tuple');
  const fl = intArg(flags);
  const [host, port, flowinfo = 0, scopeId = 0] = sockaddr as unknown[];
  const isInt = (x: unknown): boolean => (typeof x === 'number' && Number.isSafeInteger(x)) || typeof x === 'bigint';
  if (sockaddr.length < 2 || sockaddr.length > 4 || typeof host !== 'string' || !isInt(port) || !isInt(flowinfo) || !isInt(scopeId)) {
    throw new TypeError('getnameinfo(): illegal sockaddr argument');
  }
  toCInt(port); // the "i" format: OverflowError past a C int
  if (Number(flowinfo) < 0 || Number(flowinfo) > 0xfffff) throw new OverflowError('getnameinfo(): flowinfo must be 0-1048575.');
  // As CPython: the host must be numeric (getaddrinfo with AI_NUMERICHOST).
  const infos = await getaddrinfo(host, port, { type: SOCK_DGRAM, flags: AI_NUMERICHOST });
  if (infos.length !== 1) throw new OSError('sockaddr resolved to multiple addresses');
  const [af, , , , sa] = infos[0]!;
  if (af === AF_INET && sockaddr.length !== 2) throw new OSError('IPv4 sockaddr must be 2 tuple');
  if ((fl & ~NI_VALID) !== 0) throw gaiError('EAI_BADFLAGS');
  const [addr, p] = sa;
  const scope = af === AF_INET6 ? Number(scopeId) >>> 0 : 0;
  let name = scope !== 0 ? `${addr}%${scope}` : addr;
  if (!(fl & NI_NUMERICHOST)) {
    try {
      name = (await dns.promises.lookupService(name, p)).hostname;
    } catch (e) {
      const err = fromNodeDns(e);
      if (!(err instanceof gaierror) || fl & NI_NAMEREQD) throw err;
    }
  }
  const service = fl & NI_NUMERICSERV ? null : await serviceByPort(p, fl & NI_DGRAM ? 'udp' : 'tcp');
  return [name, service ?? String(p)];
}

/**
 * asyncio's `_ipaddr_info`: the one addrinfo of a numeric `host`, without
 * the resolver; null when `host` needs it (a name, a service, a zone).
 */
export function ipaddrInfo(host: unknown, port: unknown, family: number, type: number, proto: number, flowinfo = 0, scopeId = 0): AddrInfo | null {
  if ((proto !== 0 && proto !== TCP && proto !== UDP) || host === null || host === undefined) return null;
  if (type === SOCK_STREAM) proto = TCP;
  else if (type === SOCK_DGRAM) proto = UDP;
  else return null;
  let p: number;
  if (port === null || port === undefined || port === '' || (port instanceof Uint8Array && port.length === 0)) p = 0;
  else if (typeof port === 'number' && Number.isSafeInteger(port)) p = port;
  else if (typeof port === 'string' && /^\s*[+-]?[0-9]+\s*$/.test(port)) p = Number(port);
  else return null;
  let h: string;
  if (typeof host === 'string') h = host;
  else if (host instanceof Uint8Array) h = Buffer.from(host).toString('latin1');
  else return null;
  if (h.includes('%')) return null;
  const v = net.isIP(h);
  if (v === 4 && (family === AF_UNSPEC || family === AF_INET)) return [AF_INET, type, proto, '', [h, p]];
  if (v === 6 && (family === AF_UNSPEC || family === AF_INET6)) return [AF_INET6, type, proto, '', [h, p, flowinfo, scopeId]];
  return null;
}

/** The resolve step of ensureResolved: the loop's getaddrinfo (asyncio calls loop.getaddrinfo). */
export type Resolver = (host: unknown, port: unknown, options: GetaddrinfoOptions) => Promise<AddrInfo[]>;

/**
 * asyncio's `_ensure_resolved`: `[host, port, ...]` as addrinfos, numeric
 * hosts at once, names through `resolver`.
 */
export async function ensureResolved(address: unknown, options: GetaddrinfoOptions, resolver: Resolver = getaddrinfo): Promise<AddrInfo[]> {
  if (!Array.isArray(address) || address.length < 2) {
    throw new TypeError(`address must be a (host, port) tuple, not ${pyTypeName(address)}`);
  }
  const [host, port, flowinfo, scopeId] = address as unknown[];
  const info = ipaddrInfo(host, port, options.family ?? 0, options.type ?? SOCK_STREAM, options.proto ?? 0, Number(flowinfo ?? 0), Number(scopeId ?? 0));
  if (info !== null) return [info];
  return resolver(host, port, { type: SOCK_STREAM, ...options });
}
