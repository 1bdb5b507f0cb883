/**
 * @iomux/core-native: the compiled addon and the Python-named primitives the
 * other iomux packages, the tests and the examples stand on.
 *
 * @module @iomux/core-native
 */
export { binding, type Binding, type FdHandle } from './binding.js';
export * from './errors.js';
export { selectConstants, socketConstants, errnoConstants, has, FD_SETSIZE } from './constants.js';
/**
 * Python's `os` descriptor primitives: pipe, read, write, close, dup, get/set_inheritable, get/set_blocking.
 */
export * as os from './os.js';
/**
 * Python's `socket` module, the part iomux needs: `Socket`, socketpair, fromfd, createServer, createConnection, constants.
 */
export * as socket from './socket/index.js';
/**
 * Python's `resource` limits: getrlimit, setrlimit, RLIMIT_NOFILE and the other RLIMIT_* constants, RLIM_INFINITY.
 */
export * as resource from './resource.js';
/**
 * Batched socket I/O for event loops: sendBatch, recvBatch, batchIo, BATCH_LAYOUT, batchTable, and the one-socket recvOne, sendOne.
 */
export * as batch from './batch.js';
/**
 * Memory-BIO TLS in the running Node's OpenSSL (asyncio's SSLObject engine): available, Context, Connection.
 */
export * as memtls from './ssl/index.js';
export { Socket, socketpair, createServer, createConnection, gaierror } from './socket/index.js';
export { describe, pyTypeName, toInt, toCInt, toClinicInt, toSsizeT, INT_MAX, INT_MIN, UINT_MAX, USHRT_MAX } from './pyargs.js';
