#!/usr/bin/env node
// The install script. Loads the addon the way the package does at runtime
// (node-gyp-build: a local build, else a prebuild for this platform) and
// builds from source only when none loads, with npm's own node-gyp (never a
// devDependency: a consumer has none). Without a prebuild or a toolchain it
// fails with a message naming the platform, the prebuilds shipped and what to
// install.
//   --force                              rebuild from source
//   npm_config_build_from_source=true    the same (node-gyp-build's convention;
//                                        also =@iomux/core-native)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const NAME = '@iomux/core-native';
const fromSource = process.argv.includes('--force') || ['true', NAME].includes(process.env.npm_config_build_from_source ?? '');
const env = { ...process.env };

/** A local build older than a native source or binding.gyp: rebuild it. */
function staleLocalBuild() {
  const built = path.join(root, 'build', 'Release', 'iomux.node');
  if (!fs.existsSync(built)) return false;
  const t = fs.statSync(built).mtimeMs;
  const dir = path.join(root, 'native');
  const sources = fs.readdirSync(dir).map((f) => path.join(dir, f)).concat(path.join(root, 'binding.gyp'));
  return sources.some((f) => fs.statSync(f).mtimeMs > t);
}

/** 'linux-x64 (glibc 2.36)': node-gyp-build's platform-arch, and the libc on Linux. */
function platformName() {
  let libc = '';
  if (process.platform === 'linux') {
    const glibc = process.report?.getReport?.().header?.glibcVersionRuntime;
    libc = glibc ? ` (glibc ${glibc})` : ' (not glibc: musl?)';
  }
  return `${process.platform}-${process.arch}${libc}`;
}

/** The prebuild directories this package ships, e.g. 'linux-arm64, linux-x64'. */
function prebuildsShipped() {
  const dir = path.join(root, 'prebuilds');
  let names = [];
  try {
    names = fs.readdirSync(dir).filter((d) => fs.readdirSync(path.join(dir, d)).some((f) => f.endsWith('.node')));
  } catch {
    // no prebuilds directory: none shipped
  }
  return names.length > 0 ? `${names.sort().join(', ')} (glibc)` : 'none';
}

/** The first of `names` found executable on PATH, or null. */
function which(names) {
  for (const name of names) {
    if (name.includes('/')) {
      if (isExecutable(name)) return name;
      continue;
    }
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
      if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
    }
  }
  return null;
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

const HOW_TO_INSTALL = [
  'To build it from source, install a C++17 compiler, make and Python 3:',
  '  Debian/Ubuntu: apt-get install -y g++ make python3',
  '  Alpine:        apk add g++ make python3 linux-headers',
  '  Fedora/RHEL:   dnf install -y gcc-c++ make python3',
  '  macOS:         xcode-select --install',
  `then run: npm rebuild ${NAME}`,
].join('\n');

function fail(lines) {
  process.stderr.write(`\n${NAME}: ${lines.join('\n')}\n\n`);
  process.exit(1);
}

let loadError = null;
const stale = !fromSource && staleLocalBuild();
if (!fromSource && !stale) {
  try {
    require('node-gyp-build')(root);
    process.exit(0);
  } catch (e) {
    loadError = e;
  }
}

const platform = platformName();
const on = `on ${platform}, Node ${process.version}`;
const why = loadError
  ? `no prebuilt addon loads ${on} (${String(loadError.message).split('\n')[0]})`
  : stale
    ? `the local build is older than native/ or binding.gyp ${on}`
    : `a source build was asked for (--force or npm_config_build_from_source) ${on}`;
if (process.platform === 'win32') {
  fail([`${why}.`, 'Windows is not supported yet: iomux runs on Linux (prebuilt for x64 and arm64), and builds from source on macOS, FreeBSD and illumos.']);
}

// What node-gyp needs on PATH; checked first so a missing tool is named here, not deep in node-gyp's log.
const makeCmd = process.env.MAKE || (/^(freebsd|openbsd|netbsd|dragonfly)$/.test(process.platform) ? 'gmake' : 'make');
const cxx = process.env.CXX ? process.env.CXX.split(/\s+/)[0] : null;
const tools = [
  ['a C++ compiler', cxx ? [cxx] : ['c++', 'g++', 'clang++']],
  [makeCmd, [makeCmd]],
  ['Python 3', [process.env.npm_config_python, process.env.PYTHON, 'python3', 'python'].filter(Boolean)],
];
const missing = tools.filter(([, names]) => which(names) === null).map(([what, names]) => `${what} (${names.join(', ')})`);
if (missing.length > 0) {
  fail([
    `${why}, and it cannot be built from source here: not on PATH: ${missing.join('; ')}.`,
    `Prebuilds in this package: ${prebuildsShipped()}.`,
    HOW_TO_INSTALL,
  ]);
}

// npm's bundled node-gyp: npm sets npm_config_node_gyp (and puts a node-gyp on PATH) for every script it runs.
let gyp = null;
if (env.npm_config_node_gyp && fs.existsSync(env.npm_config_node_gyp)) gyp = [process.execPath, env.npm_config_node_gyp];
if (gyp === null) {
  try {
    gyp = [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    const bin = which(['node-gyp']);
    if (bin !== null) gyp = [bin];
  }
}
if (gyp === null) {
  fail([`${why}, and no node-gyp was found: run this through npm (npm rebuild ${NAME}), which brings its own, or install node-gyp.`]);
}

// Offline when possible: the running Node's own headers (a Node tarball has them), else the system's.
if (!env.npm_config_nodedir) {
  const own = path.resolve(process.execPath, '..', '..');
  for (const dir of [own, '/usr']) {
    if (fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) {
      env.npm_config_nodedir = dir;
      break;
    }
  }
}
process.stderr.write(`${NAME}: ${why}: node-gyp rebuild\n`);
const args = [...gyp.slice(1), 'rebuild', '--release', '-j', 'max'];
if (env.npm_config_nodedir) args.push(`--nodedir=${env.npm_config_nodedir}`);
const r = spawnSync(gyp[0], args, { cwd: root, env, stdio: 'inherit' });
if (r.status !== 0) {
  fail([
    `the source build failed ${on} (node-gyp exit ${r.status ?? r.signal ?? r.error?.message}; its log is above).`,
    `Prebuilds in this package: ${prebuildsShipped()}.`,
    HOW_TO_INSTALL,
  ]);
}
