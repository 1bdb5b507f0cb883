// Preloaded (node --require) into every Node process of `npm run test:asan`:
// at exit it appends which iomux.node files and sanitizer runtimes the
// process had mapped, so the script can prove the tests ran the sanitized
// addon and not the normal build. Repository-only (not in the package's
// "files"), so it may share the repository's /proc/self/maps reader.
'use strict';
const { recordAtExit } = require('../../../scripts/smoke/proc-maps.cjs');

recordAtExit(process.env.IOMUX_ASAN_PROBE_LOG, /(\.node|\/lib(asan|ubsan)\.so[.\d]*)$/);
