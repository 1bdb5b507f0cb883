'use strict';
// The smoke test, one for every script: test:install, test:node-matrix and
// test:arm64 copy it (with smoke.cjs, smoke.mjs, proc-maps.cjs) into an app
// that installed the packed tarballs; test:node-matrix and test:arm64 also
// run scripts/smoke/smoke.cjs in place, where @iomux/* resolve to the
// workspaces. smoke.cjs passes the modules from require, smoke.mjs from import.
// Environment:
//   SMOKE_EXPECT_ADDON  prebuild (prebuilds/<platform>-<arch>/), build
//                       (build/Release/, a source build) or either (the
//                       workspace: whichever node-gyp-build picks)
//   SMOKE_EXPECT_NODE   the process.version it must run on (optional)
// Progress goes to stderr; on success stdout gets one JSON line: ok, how,
// node, arch, addon, addonArch, backend. Exits 1 on a failure or a hang.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { mappedFiles } = require('./proc-maps.cjs');

// Every wait is bounded, and the whole run too: a hang under a slow emulator still ends.
const WAIT_S = 20;
const DEADLINE_S = 40;

const real = (f) => {
  try {
    return fs.realpathSync(f);
  } catch {
    return f;
  }
};

/** ELF e_machine of a file, as a process.arch: 62 is x86-64, 183 is AArch64. */
function elfArch(file) {
  const head = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 20, 0);
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(head.toString('latin1', 1, 4), 'ELF', `${file} is not ELF`);
  return { 62: 'x64', 183: 'arm64' }[head.readUInt16LE(18)] ?? `e_machine ${head.readUInt16LE(18)}`;
}

/** The one .node this process mapped: core-native's, where SMOKE_EXPECT_ADDON says, built for this arch. */
function checkAddon() {
  const all = mappedFiles(/\.node$/);
  assert.equal(all.length, 1, `exactly one .node mapped, got: ${all.join(', ') || 'none'}`);
  const file = all[0];
  const homes = [path.dirname(require.resolve('@iomux/core-native/package.json')), process.env.IOMUX_ADDON_DIR].filter(Boolean).map(real);
  assert.ok(homes.some((h) => real(file).startsWith(h + path.sep)), `${file} is not @iomux/core-native's (${homes.join(' or ')})`);
  const prebuild = new RegExp(`/prebuilds/${process.platform}-${process.arch}/[^/]+\\.node$`);
  const build = /\/build\/Release\/iomux\.node$/;
  const want = process.env.SMOKE_EXPECT_ADDON;
  const allowed = { prebuild: [prebuild], build: [build], either: [prebuild, build] };
  assert.ok(Object.hasOwn(allowed, want ?? ''), `SMOKE_EXPECT_ADDON must be prebuild, build or either, not ${want}`);
  assert.ok(allowed[want].some((re) => re.test(file)), `${file} is not the expected ${want}`);
  const addonArch = elfArch(file);
  assert.equal(addonArch, process.arch, `the addon ${file} is built for ${process.arch}`);
  return { file, addonArch };
}

/** A DefaultSelector echo over TCP on 127.0.0.1 (the accept too), and an OSError from the addon. */
function selectorsEcho(core, selectors) {
  const sel = new selectors.DefaultSelector();
  const server = core.createServer(['127.0.0.1', 0]);
  const client = core.createConnection(['127.0.0.1', server.getsockname()[1]], WAIT_S);
  let conn = null;
  try {
    for (const s of [server, client]) s.setblocking(false);
    sel.register(server, selectors.EVENT_READ, 'accept');
    sel.register(client, selectors.EVENT_READ, 'client');
    const message = Buffer.from(`iomux smoke ${process.arch} over ${sel.constructor.name}`);
    assert.equal(client.send(message), message.length);
    let echoed = Buffer.alloc(0);
    for (let round = 0; round < 50 && echoed.length < message.length; round++) {
      const ready = sel.select(WAIT_S);
      assert.ok(ready.length > 0, `selector ${selectors.selectorBackend(sel)}: nothing ready in ${WAIT_S} s`);
      for (const [key, mask] of ready) {
        assert.equal(mask & selectors.EVENT_WRITE, 0, `${key.data}: EVENT_WRITE, only EVENT_READ was registered`);
        if (key.data === 'accept') {
          [conn] = server.accept();
          conn.setblocking(false);
          sel.register(conn, selectors.EVENT_READ, 'echo');
        } else if (key.data === 'echo') conn.sendall(conn.recv(4096));
        else echoed = Buffer.concat([echoed, client.recv(4096)]);
      }
    }
    assert.deepEqual(echoed, message, 'the echo came back');
    return selectors.selectorBackend(sel);
  } finally {
    sel.close();
    conn?.close();
    client.close();
    server.close();
    // A failing syscall: a C++ exception in the addon, caught and mapped to OSError.
    assert.throws(() => core.os.close(-1), (e) => e instanceof core.OSError && e.errno === core.errnoConstants.EBADF);
  }
}

/** epoll: a pipe's read end is reported readable, with Python's (fd, events) pairs. */
function epollWait(core, select) {
  assert.ok(core.has.epoll && typeof select.epoll === 'function', 'epoll available on Linux');
  const [r, w] = core.os.pipe();
  const ep = select.epoll();
  try {
    ep.register(r, select.EPOLLIN);
    assert.deepEqual(ep.poll(0), [], 'nothing ready before the write');
    core.os.write(w, Buffer.from('x'));
    assert.deepEqual(ep.poll(WAIT_S), [[r, select.EPOLLIN]], 'epoll sees the pipe readable');
  } finally {
    ep.close();
    core.os.close(r);
    core.os.close(w);
  }
}

/** asyncio streams on @iomux/loop: startServer + openConnection, an echo (readline, then read to EOF). */
async function loopStreamsEcho(loop) {
  const ev = new loop.EventLoop();
  const lines = ['hello iomux\n', `from ${process.arch}\n`];
  try {
    const got = await ev.runUntilComplete(async () => {
      const server = await loop.startServer(async (reader, writer) => {
        writer.write(await reader.readline());
        for (let data = await reader.read(65536); data.length > 0; data = await reader.read(65536)) {
          writer.write(data);
          await writer.drain();
        }
        writer.close();
      }, '127.0.0.1', 0);
      const [reader, writer] = await loop.openConnection('127.0.0.1', server.address().port);
      const out = [];
      for (const line of lines) {
        writer.write(line);
        out.push((await reader.readline()).toString());
      }
      writer.close();
      server.close();
      await server.waitClosed();
      return out;
    });
    assert.deepEqual(got, lines, 'loop streams echo');
  } finally {
    ev.close();
  }
}

/** Runs every check, `how` naming the module system: prints progress, then the JSON line. */
async function run(how, mods) {
  const say = (s) => process.stderr.write(`smoke (${how}): ${s}\n`);
  const deadline = setTimeout(() => {
    say(`FAIL: still running after ${DEADLINE_S} s`);
    process.exit(1);
  }, DEADLINE_S * 1000);
  try {
    const { file, addonArch } = checkAddon();
    const node = process.env.SMOKE_EXPECT_NODE;
    if (node !== undefined) assert.equal(process.version, node, 'the Node this was meant to run on');
    say(`ok Node ${process.version} ${process.arch}, addon ${file} (${addonArch})`);
    const backend = selectorsEcho(mods.core, mods.selectors);
    say(`ok selectors echo round trip (${backend})`);
    epollWait(mods.core, mods.select);
    say('ok epoll wait');
    await loopStreamsEcho(mods.loop);
    say('ok loop streams echo');
    console.log(JSON.stringify({ ok: true, how, node: process.version, arch: process.arch, addon: file, addonArch, backend }));
  } catch (e) {
    say(`FAIL: ${e && e.stack ? e.stack : e}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(deadline);
  }
}

module.exports = { run };
