// Preloaded (node --require) into every Node process of a matrix or arm64
// run. IOMUX_PROBE_EXEC_PATH: qemu-user cannot exec an arm64 binary from the
// guest (no binfmt_misc), so process.execPath names a host wrapper that runs
// it under qemu, as binfmt would. IOMUX_PROBE_LOG: at exit, one JSON line
// with this process's arch, Node version and mapped .node files, so the
// script can prove which addon every process ran.
'use strict';
const fs = require('node:fs');
const { isMainThread } = require('node:worker_threads');

if (process.env.IOMUX_PROBE_EXEC_PATH) process.execPath = process.env.IOMUX_PROBE_EXEC_PATH;

const log = process.env.IOMUX_PROBE_LOG;
if (log && isMainThread) {
  process.on('exit', (code) => {
    let maps = '';
    try {
      maps = fs.readFileSync('/proc/self/maps', 'utf8');
    } catch {
      // not Linux: nothing to record
    }
    const mapped = new Set();
    for (const line of maps.split('\n')) {
      const file = line.slice(line.indexOf('/'));
      if (line.includes('/') && file.endsWith('.node')) mapped.add(file);
    }
    const entry = { pid: process.pid, code, arch: process.arch, node: process.version, argv: process.argv.slice(1, 3), mapped: [...mapped] };
    try {
      fs.appendFileSync(log, JSON.stringify(entry) + '\n');
    } catch {
      // a test's child under a tiny descriptor limit: its exit code must not change
    }
  });
}
