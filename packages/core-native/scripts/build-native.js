#!/usr/bin/env node
// Builds the addon from source when no usable prebuild or build exists
// (node-gyp-build's own logic), pointing node-gyp at the machine's installed
// Node headers when they exist so the build works offline.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const force = process.argv.includes('--force');
const env = { ...process.env };
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node_api.h')) {
  env.npm_config_nodedir = '/usr';
}

/** A local build older than a native source or binding.gyp: rebuild it. */
function staleLocalBuild() {
  const built = path.join(root, 'build', 'Release', 'iomux.node');
  if (!fs.existsSync(built)) return false;
  const t = fs.statSync(built).mtimeMs;
  const dir = path.join(root, 'native');
  const sources = fs.readdirSync(dir).map((f) => path.join(dir, f)).concat(path.join(root, 'binding.gyp'));
  return sources.some((f) => fs.statSync(f).mtimeMs > t);
}

if (!force && !staleLocalBuild()) {
  try {
    require('node-gyp-build')(root);
    process.exit(0);
  } catch {
    // fall through to a source build
  }
}
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [gyp, 'rebuild', '--release', '-j', 'max'];
if (env.npm_config_nodedir) args.push(`--nodedir=${env.npm_config_nodedir}`);
const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
