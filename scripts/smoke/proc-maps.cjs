// Which files a process has mapped, from /proc/self/maps (qemu-user emulates
// it): the smoke's proof of which addon loaded, and the preloaded probes of
// test:node-matrix, test:arm64 (scripts/matrix/probe.cjs) and test:asan
// (packages/core-native/scripts/asan-probe.js). Copied beside the smoke into
// the apps test:install makes, so it requires nothing but Node's own modules.
'use strict';
const fs = require('node:fs');
const { isMainThread } = require('node:worker_threads');

/** The mapped files whose path matches `re`, each once; none where there is no /proc (not Linux). */
function mappedFiles(re = /\.node$/) {
  let maps = '';
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    // not Linux: nothing mapped to report
  }
  const files = new Set();
  for (const line of maps.split('\n')) {
    const file = line.slice(line.indexOf('/'));
    if (line.includes('/') && re.test(file)) files.add(file);
  }
  return [...files];
}

/** At the main thread's exit, appends one JSON line to `log`: pid, exit code, arch, Node, argv and mappedFiles(re). */
function recordAtExit(log, re) {
  if (!log || !isMainThread) return;
  process.on('exit', (code) => {
    const entry = { pid: process.pid, code, arch: process.arch, node: process.version, argv: process.argv.slice(1, 3), mapped: mappedFiles(re) };
    try {
      fs.appendFileSync(log, JSON.stringify(entry) + '\n');
    } catch {
      // a test's child under a tiny descriptor limit: its exit code must not change
    }
  });
}

module.exports = { mappedFiles, recordAtExit };
