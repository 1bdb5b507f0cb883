// Preloaded (node --require) into every Node process of a matrix or arm64
// run. IOMUX_PROBE_EXEC_PATH: qemu-user cannot exec an arm64 binary from the
// guest (no binfmt_misc), so process.execPath names a host wrapper that runs
// it under qemu, as binfmt would. IOMUX_PROBE_LOG: at exit, one JSON line
// with this process's arch, Node version and mapped .node files, so the
// script can prove which addon every process ran.
'use strict';
const { recordAtExit } = require('../smoke/proc-maps.cjs');

if (process.env.IOMUX_PROBE_EXEC_PATH) process.execPath = process.env.IOMUX_PROBE_EXEC_PATH;
recordAtExit(process.env.IOMUX_PROBE_LOG, /\.node$/);
