// Preloaded (node --require) into every Node process of `npm run test:asan`:
// at exit it appends which iomux.node files and sanitizer runtimes the
// process had mapped, so the script can prove the tests ran the sanitized
// addon and not the normal build.
'use strict';
const fs = require('node:fs');
const { isMainThread } = require('node:worker_threads');

const log = process.env.IOMUX_ASAN_PROBE_LOG;
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
      if (line.includes('/') && /(\.node|\/lib(asan|ubsan)\.so[.\d]*)$/.test(file)) mapped.add(file);
    }
    const entry = { pid: process.pid, code, argv: process.argv.slice(1, 3), mapped: [...mapped] };
    fs.appendFileSync(log, JSON.stringify(entry) + '\n');
  });
}
