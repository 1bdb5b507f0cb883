'use strict';
// The install smoke test's checks, run by smoke.cjs (modules from require)
// and smoke.mjs (modules from import) in an app that installed the packed
// tarballs. Each check uses real descriptors on loopback and is bounded.
const assert = require('node:assert/strict');
const fs = require('node:fs');

/** The iomux .node file this process has mapped (proof of which binary loaded). */
function loadedAddon() {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
  const files = new Set(maps.map((l) => l.slice(l.indexOf('/'))).filter((f) => f.startsWith('/') && f.endsWith('.node')));
  const ours = [...files].filter((f) => f.includes('@iomux/core-native'));
  assert.equal(ours.length, 1, `exactly one @iomux/core-native .node mapped, got: ${[...files].join(', ') || 'none'}`);
  return ours[0];
}

/** SMOKE_EXPECT_ADDON: 'prebuild' (prebuilds/<platform>-<arch>/) or 'build' (build/Release/, a source build). */
function checkAddon() {
  const file = loadedAddon();
  const want = process.env.SMOKE_EXPECT_ADDON;
  if (want === 'prebuild') assert.match(file, new RegExp(`/prebuilds/${process.platform}-${process.arch}/[^/]+\\.node$`), file);
  else if (want === 'build') assert.match(file, /\/build\/Release\/iomux\.node$/, file);
  else assert.fail(`SMOKE_EXPECT_ADDON must be prebuild or build, not ${want}`);
  return file;
}

/** A DefaultSelector echo round trip over TCP on 127.0.0.1, and an OSError from the addon. */
function selectorsEcho(core, selectors) {
  const srv = core.createServer(['127.0.0.1', 0]);
  const port = srv.getsockname()[1];
  const cli = core.createConnection(['127.0.0.1', port]);
  const [conn] = srv.accept();
  const sel = new selectors.DefaultSelector();
  try {
    for (const s of [conn, cli]) s.setblocking(false);
    sel.register(conn, selectors.EVENT_READ, 'server');
    sel.register(cli, selectors.EVENT_READ, 'client');
    const msg = Buffer.from('ping over ' + sel.constructor.name);
    assert.equal(cli.send(msg), msg.length);
    let got = Buffer.alloc(0);
    for (let i = 0; i < 100 && got.length < msg.length; i++) {
      for (const [key] of sel.select(1.0)) {
        if (key.data === 'server') conn.send(conn.recv(4096));
        else got = Buffer.concat([got, cli.recv(4096)]);
      }
    }
    assert.deepEqual(got, msg, 'the echo came back');
  } finally {
    sel.close();
    for (const s of [conn, cli, srv]) s.close();
  }
  // A failing syscall: a C++ exception in the addon, caught and mapped to OSError.
  assert.throws(() => core.os.close(-1), (e) => e instanceof core.OSError && e.errno === core.errnoConstants.EBADF);
}

/** epoll: a pipe's read end is reported readable, with Python's (fd, events) pairs. */
function epollWait(core, select) {
  assert.equal(typeof select.epoll, 'function', 'epoll exists on Linux');
  const [r, w] = core.os.pipe();
  const ep = select.epoll();
  try {
    ep.register(r, select.EPOLLIN);
    assert.deepEqual(ep.poll(0), [], 'nothing ready yet');
    core.os.write(w, Buffer.from('x'));
    assert.deepEqual(ep.poll(1.0), [[r, select.EPOLLIN]]);
  } finally {
    ep.close();
    core.os.close(r);
    core.os.close(w);
  }
}

/** asyncio streams on @iomux/loop: startServer + openConnection, an echo. */
async function loopStreamsEcho(loop) {
  const ev = new loop.EventLoop();
  try {
    const got = await ev.runUntilComplete(async () => {
      const server = await loop.startServer(async (reader, writer) => {
        writer.write(await reader.readline());
        await writer.drain();
        writer.close();
      }, '127.0.0.1', 0);
      const [reader, writer] = await loop.openConnection('127.0.0.1', server.address().port);
      writer.write('hello iomux\n');
      const line = (await reader.readline()).toString();
      writer.close();
      server.close();
      await server.waitClosed();
      return line;
    });
    assert.equal(got, 'hello iomux\n');
  } finally {
    ev.close();
  }
}

/** Runs every check; prints one line per check; exits non-zero on the first failure or after 20 s. */
async function run(how, mods) {
  const deadline = setTimeout(() => {
    process.stderr.write(`smoke (${how}): FAIL: still running after 20 s\n`);
    process.exit(1);
  }, 20000);
  try {
    const file = checkAddon();
    const node = process.env.SMOKE_EXPECT_NODE;
    if (node !== undefined) assert.equal(process.version, node, 'the Node this was meant to run on');
    process.stdout.write(`smoke (${how}): ok Node ${process.version}, addon ${file}\n`);
    selectorsEcho(mods.core, mods.selectors);
    process.stdout.write(`smoke (${how}): ok selectors echo round trip (${mods.selectors.DefaultSelector.backend ?? 'default'})\n`);
    epollWait(mods.core, mods.select);
    process.stdout.write(`smoke (${how}): ok epoll wait\n`);
    await loopStreamsEcho(mods.loop);
    process.stdout.write(`smoke (${how}): ok loop streams echo\n`);
  } catch (e) {
    process.stderr.write(`smoke (${how}): FAIL: ${e && e.stack ? e.stack : e}\n`);
    process.exitCode = 1;
  } finally {
    clearTimeout(deadline);
  }
}

module.exports = { run };
