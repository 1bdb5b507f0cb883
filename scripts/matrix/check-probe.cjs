// Reads the JSON lines probe.cjs wrote and fails unless every Node process
// ran on the expected arch and Node major, no process mapped any addon but
// the expected one, and each named test file's own process mapped it.
//   node check-probe.cjs LOG ARCH NODE_MAJOR ADDON [TEST_FILE...]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [log, arch, major, addon, ...files] = process.argv.slice(2);
const entries = fs
  .readFileSync(log, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const real = (f) => {
  try {
    return fs.realpathSync(f);
  } catch {
    return f;
  }
};
const want = real(addon);
const problems = [];
let loaded = 0;
for (const e of entries) {
  const addons = e.mapped.map(real);
  if (e.arch !== arch) problems.push(`pid ${e.pid} (${e.argv.join(' ')}) ran on ${e.arch}, not ${arch}`);
  if (e.node.split('.')[0] !== `v${major}`) problems.push(`pid ${e.pid} ran Node ${e.node}, not ${major}`);
  const other = addons.filter((a) => a !== want);
  if (other.length) problems.push(`pid ${e.pid} (${e.argv.join(' ')}) mapped ${other.join(', ')}`);
  else if (addons.length) loaded++;
}
for (const f of files) {
  const own = entries.filter((e) => e.argv[0] && path.resolve(e.argv[0]) === path.resolve(f));
  if (!own.some((e) => e.mapped.map(real).includes(want))) problems.push(`${path.relative(process.cwd(), f)}: its process did not map ${want}`);
}
console.error(`probe: ${entries.length} Node processes (${arch}, Node ${major}); ${loaded} mapped ${want}; ${problems.length} problems`);
for (const p of problems) console.error('  ' + p);
process.exit(problems.length ? 1 : 0);
