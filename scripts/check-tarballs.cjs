#!/usr/bin/env node
// node scripts/check-tarballs.cjs ROOT DIR: checks the unpacked tarballs in
// DIR/<name>/package (from scripts/release-dry.sh) against what a published
// package must hold. Prints one line per package; exits 1 on any problem.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [root, dir] = process.argv.slice(2);
if (!root || !dir) {
  console.error('usage: check-tarballs.cjs ROOT DIR');
  process.exit(2);
}
const license = fs.readFileSync(path.join(root, 'LICENSE'));
const lerna = JSON.parse(fs.readFileSync(path.join(root, 'lerna.json'), 'utf8'));
// What no tarball may hold: tests, benchmarks, build trees, tsc state.
const FORBIDDEN = [/(^|\/)test\//, /\.test\.[cm]?[jt]s$/, /(^|\/)bench\//, /(^|\/)build\//, /\.tsbuildinfo$/, /(^|\/)node_modules\//];
// ELF e_machine of each prebuild directory: x86-64 62, AArch64 183.
const PREBUILDS = { 'linux-x64': 62, 'linux-arm64': 183 };

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

let failed = 0;
const names = fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'package', 'package.json')));
if (names.length === 0) {
  console.error(`no unpacked tarball in ${dir}`);
  process.exit(1);
}
for (const name of names.sort()) {
  const base = path.join(dir, name, 'package');
  const files = walk(base);
  const has = new Set(files);
  const pkg = JSON.parse(fs.readFileSync(path.join(base, 'package.json'), 'utf8'));
  const problems = [];
  const need = (cond, what) => cond || problems.push(what);

  need(has.has('README.md'), 'no README.md');
  need(has.has('LICENSE') && license.equals(fs.readFileSync(path.join(base, 'LICENSE'))), 'no LICENSE, or not the root LICENSE');
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
  for (const f of files) if (FORBIDDEN.some((re) => re.test(f))) problems.push(`ships ${f}`);
  // Every source a map names must be in the tarball.
  let maps = 0;
  for (const f of files.filter((x) => x.endsWith('.map'))) {
    maps++;
    const map = JSON.parse(fs.readFileSync(path.join(base, f), 'utf8'));
    for (const s of map.sources ?? []) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), map.sourceRoot ?? '', s));
      need(has.has(target), `${f} points at ${target}, not in the tarball`);
    }
  }
  need(maps > 0, 'no source maps at all (expected dist/*.map)');
  let prebuilds = '';
  if (pkg.gypfile || has.has('binding.gyp')) {
    for (const [plat, machine] of Object.entries(PREBUILDS)) {
      const nodes = files.filter((f) => f.startsWith(`prebuilds/${plat}/`) && f.endsWith('.node'));
      need(nodes.length > 0, `no prebuilds/${plat}/*.node (run npm run prebuildify)`);
      for (const f of nodes) {
        const b = fs.readFileSync(path.join(base, f));
        const elf = b.readUInt32BE(0) === 0x7f454c46;
        need(elf && b.readUInt16LE(18) === machine, `${f} is not an ELF for ${plat}`);
      }
      prebuilds += ` ${nodes.join(' ')}`;
    }
  }
  if (problems.length === 0) {
    console.log(`ok ${pkg.name}@${pkg.version}: ${files.length} files, ${maps} maps resolved${prebuilds ? `, prebuilds:${prebuilds}` : ''}`);
  } else {
    failed++;
    console.log(`not ok ${pkg.name}@${pkg.version}:`);
    for (const p of problems) console.log(`  - ${p}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
