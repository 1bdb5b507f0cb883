#!/usr/bin/env node
// Writes the sanitized build's binding.gyp (npm run test:asan): the
// package's binding.gyp with the sanitizer flags added and every
// <!(node -p "...") path evaluated here, so that the build directory can be
// anywhere. Usage: asan-gyp.js <package dir> <out binding.gyp> <flag>...
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const [pkg, dst, ...flags] = process.argv.slice(2);
const gyp = JSON.parse(fs.readFileSync(path.join(pkg, 'binding.gyp'), 'utf8'));
const absolute = (s) =>
  s.replace(/<!\(node -p "(.*?)"\)/g, (_, expr) =>
    path.resolve(pkg, execFileSync(process.execPath, ['-p', expr], { cwd: pkg, encoding: 'utf8' }).trim()));

for (const t of gyp.targets) {
  t.include_dirs = (t.include_dirs || []).map(absolute);
  t.dependencies = (t.dependencies || []).map(absolute);
  t.cflags_cc = [...(t.cflags_cc || []), ...flags];
  t.ldflags = [...(t.ldflags || []), ...flags.filter((f) => f.startsWith('-fsanitize='))];
}
const text = JSON.stringify(gyp, null, 2) + '\n';
// Rewritten only on change: a newer binding.gyp makes the script reconfigure.
if (!fs.existsSync(dst) || fs.readFileSync(dst, 'utf8') !== text) fs.writeFileSync(dst, text);
