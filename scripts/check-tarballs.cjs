#!/usr/bin/env node
// Checks unpacked npm tarballs against what a published package must hold;
// run by scripts/release-dry.sh and scripts/test-install.sh. Prints one line
// per package; exits 1 on any problem.
//   node scripts/check-tarballs.cjs [--no-arm64] ROOT PACKAGE_DIR...
// PACKAGE_DIR: a tarball's unpacked package/ directory. --no-arm64: the
// linux-arm64 prebuild may be missing (test-install.sh --no-arm64).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const arm64 = !args.includes('--no-arm64');
const [root, ...dirs] = args.filter((a) => a !== '--no-arm64');
if (!root || dirs.length === 0) {
  console.error('usage: check-tarballs.cjs [--no-arm64] ROOT PACKAGE_DIR...');
  process.exit(2);
}
const license = fs.readFileSync(path.join(root, 'LICENSE'));
const lerna = JSON.parse(fs.readFileSync(path.join(root, 'lerna.json'), 'utf8'));

const ALL_NEED = ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts'];
// What a source build of core-native needs (its install script falls back to one).
const CORE_NEED = ['binding.gyp', 'native/addon.cc', 'scripts/build-native.js'];
// What no tarball may hold: tests, benchmarks, build trees, tsc state, dependencies, dev scripts.
const FORBIDDEN = [
  /(^|\/)build\//,
  /(^|\/)tests?\//,
  /\.test\.[cm]?[jt]s$/,
  /bench/i,
  /\.tsbuildinfo$/,
  /(^|\/)node_modules\//,
  /^scripts\/(?!build-native\.js$)/,
  /^prebuilds\/.*(?<!\.node)$/,
];
// ELF e_machine of each prebuild directory: x86-64 62, AArch64 183.
const PREBUILDS = { 'linux-x64': 62, ...(arm64 ? { 'linux-arm64': 183 } : {}) };

function walk(base, rel = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(base, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(base, r));
    else out.push(r);
  }
  return out;
}

/** Every types path named by package.json's types and exports. */
function typesPaths(pkg) {
  const out = new Set(pkg.types ? [pkg.types] : []);
  const visit = (v) => {
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) k === 'types' ? out.add(x) : visit(x);
  };
  visit(pkg.exports);
  return [...out].map((p) => path.posix.normalize(p));
}

/** Problems with a prebuild: not a 64-bit little-endian ELF for `machine`. */
function elfProblem(file, machine) {
  const b = fs.readFileSync(file);
  if (b.length < 20 || b.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF';
  if (b[4] !== 2 || b[5] !== 1) return 'not a 64-bit little-endian ELF';
  return b.readUInt16LE(18) === machine ? null : `ELF e_machine ${b.readUInt16LE(18)}, not ${machine}`;
}

/** The problems of one unpacked package, and its summary when there are none. */
function check(base) {
  const problems = [];
  const need = (cond, what) => cond || problems.push(what);
  if (!fs.existsSync(path.join(base, 'package.json'))) return { name: base, problems: ['no package.json'] };
  const files = walk(base);
  const has = new Set(files);
  const pkg = JSON.parse(fs.readFileSync(path.join(base, 'package.json'), 'utf8'));
  const native = pkg.name === '@iomux/core-native' || pkg.gypfile || has.has('binding.gyp');

  for (const f of [...ALL_NEED, ...(pkg.name === '@iomux/core-native' ? CORE_NEED : [])]) need(has.has(f), `missing ${f}`);
  need(!has.has('LICENSE') || license.equals(fs.readFileSync(path.join(base, 'LICENSE'))), 'LICENSE is not the root LICENSE');
  need(pkg.license === 'MIT', `license is ${pkg.license}, not MIT`);
  need(pkg.version === lerna.version, `version ${pkg.version}, lerna.json says ${lerna.version}`);
  need(pkg.publishConfig?.access === 'public', 'no publishConfig.access: public (a scoped package is restricted otherwise)');
  need(typeof pkg.repository?.url === 'string' && pkg.repository.directory, 'no repository with url and directory');
  need(Array.isArray(pkg.keywords) && pkg.keywords.length > 0, 'no keywords');
  need(/^>=20\.4\.0$/.test(pkg.engines?.node ?? ''), `engines.node is ${pkg.engines?.node}, not >=20.4.0 (Symbol.dispose)`);
  need(has.has(path.posix.normalize(pkg.main ?? '')), `main ${pkg.main} missing`);
  for (const t of typesPaths(pkg)) need(has.has(t), `types ${t} missing`);
  for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) {
    if (dep.startsWith('@iomux/')) need(range === lerna.version, `${dep}@${range}, not the lockstep ${lerna.version}`);
  }
  for (const f of files) {
    const bad = FORBIDDEN.find((re) => re.test(f));
    if (bad) problems.push(`ships ${f} (matches ${bad})`);
  }
  // Every source a map names must be in the tarball (a debugger opens it there).
  const maps = files.filter((x) => x.endsWith('.map'));
  for (const f of maps) {
    const map = JSON.parse(fs.readFileSync(path.join(base, f), 'utf8'));
    for (const s of map.sources ?? []) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), map.sourceRoot ?? '', s));
      need(has.has(target), `${f} points at ${target}, not in the tarball`);
    }
  }
  need(maps.length > 0, 'no source maps at all (expected dist/*.map)');
  const prebuilds = [];
  if (native) {
    for (const [plat, machine] of Object.entries(PREBUILDS)) {
      const nodes = files.filter((f) => new RegExp(`^prebuilds/${plat}/[^/]+\\.node$`).test(f));
      need(nodes.length > 0, `no prebuilds/${plat}/*.node (run npm run prebuildify)`);
      for (const f of nodes) {
        const why = elfProblem(path.join(base, f), machine);
        need(!why, `${f}: ${why}, not a ${plat} prebuild`);
      }
      prebuilds.push(...nodes);
    }
  }
  const summary = `${files.length} files, ${maps.length} maps resolved${prebuilds.length ? `, prebuilds: ${prebuilds.join(' ')}` : ''}`;
  return { name: `${pkg.name}@${pkg.version}`, problems, summary };
}

let failed = 0;
for (const dir of dirs) {
  const { name, problems, summary } = check(dir);
  if (problems.length === 0) {
    console.log(`ok ${name}: ${summary}`);
  } else {
    failed++;
    console.log(`not ok ${name}:`);
    for (const p of problems.slice(0, 40)) console.log(`  - ${p}`);
    if (problems.length > 40) console.log(`  ... and ${problems.length - 40} more`);
  }
}
process.exit(failed === 0 ? 0 : 1);
