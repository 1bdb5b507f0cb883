'use strict';
// test-install.sh's check of what `npm pack --json` packed: each package
// ships its compiled code and types, core-native its prebuilds and what a
// source build needs, none ships the build dir, tests or bench code, and
// every source map points at files inside its tarball.
//   node check-tarballs.cjs <pack.json> <extracted dir> [--no-arm64]
const fs = require('node:fs');
const path = require('node:path');

const [packJson, extracted, ...flags] = process.argv.slice(2);
const arm64 = !flags.includes('--no-arm64');
const packs = JSON.parse(fs.readFileSync(packJson, 'utf8'));
const problems = [];

const ALL_NEED = ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts'];
const CORE_NEED = [
  'binding.gyp',
  'native/addon.cc',
  'scripts/build-native.js',
  /^prebuilds\/linux-x64\/[^/]+\.node$/,
  ...(arm64 ? [/^prebuilds\/linux-arm64\/[^/]+\.node$/] : []),
];
const NEVER = [/^build\//, /(^|\/)tests?\//, /\.test\.[cm]?[jt]s$/, /bench/i, /\.tsbuildinfo$/, /^scripts\/(?!build-native\.js$)/, /^prebuilds\/.*(?<!\.node)$/];

for (const p of packs) {
  const files = p.files.map((f) => f.path);
  const has = (want) => (typeof want === 'string' ? files.includes(want) : files.some((f) => want.test(f)));
  for (const want of [...ALL_NEED, ...(p.name === '@iomux/core-native' ? CORE_NEED : [])]) {
    if (!has(want)) problems.push(`${p.filename}: missing ${want}`);
  }
  for (const f of files) {
    const bad = NEVER.find((re) => re.test(f));
    if (bad) problems.push(`${p.filename}: ships ${f} (matches ${bad})`);
  }
  // Source maps: every source must be in the tarball (or embedded in the map).
  const root = path.join(extracted, p.name);
  for (const f of files.filter((x) => x.endsWith('.map'))) {
    const map = JSON.parse(fs.readFileSync(path.join(root, f), 'utf8'));
    (map.sources || []).forEach((src, i) => {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), map.sourceRoot || '', src));
      if (!files.includes(target) && !(map.sourcesContent && map.sourcesContent[i] != null)) {
        problems.push(`${p.filename}: ${f} points at ${target}, not in the tarball`);
      }
    });
  }
  console.log(`${p.filename}: ${files.length} files, ${p.size} bytes packed`);
}
if (problems.length > 0) {
  console.error(problems.slice(0, 40).join('\n'));
  if (problems.length > 40) console.error(`... and ${problems.length - 40} more`);
  process.exit(1);
}
