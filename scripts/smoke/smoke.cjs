'use strict';
// The smoke test through require(): CommonJS resolution of the packages.
const { run } = require('./smoke-checks.cjs');

run('require', {
  core: require('@iomux/core-native'),
  select: require('@iomux/select'),
  selectors: require('@iomux/selectors'),
  loop: require('@iomux/loop'),
});
