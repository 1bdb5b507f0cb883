// Smoke check of the built packages on whichever Node runs it (system x64,
// a cached Node 22/24, or arm64 under qemu): a selectors echo round trip, an
// epoll wait and a loop streams echo over loopback, then one JSON line
// naming the arch, the Node version and the addon file this process mapped.
// Exits non-zero on any failure. Run from the repository root.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { createServer, createConnection, os, has } = require('@iomux/core-native');
const { DefaultSelector, EVENT_READ, EVENT_WRITE, selectorBackend } = require('@iomux/selectors');
const { epoll, EPOLLIN } = require('@iomux/select');
const { EventLoop, startServer, openConnection } = require('@iomux/loop');

// Every wait below is bounded; a hang under a slow emulator still ends.
const TIMEOUT_S = 20;

function selectorsEcho() {
  const sel = new DefaultSelector();
  const server = createServer(['127.0.0.1', 0]);
  const port = server.getsockname()[1];
  const client = createConnection(['127.0.0.1', port], TIMEOUT_S);
  let conn = null;
  try {
    server.setblocking(false);
    sel.register(server, EVENT_READ, 'accept');
    const message = Buffer.from('iomux smoke ' + process.arch);
    client.sendall(message);
    let echoed = Buffer.alloc(0);
    for (let round = 0; round < 50 && echoed.length < message.length; round++) {
      const ready = sel.select(TIMEOUT_S);
      assert.ok(ready.length > 0, `selector ${selectorBackend(sel)}: nothing ready in ${TIMEOUT_S} s`);
      for (const [key, mask] of ready) {
        if (key.data === 'accept') {
          [conn] = server.accept();
          conn.setblocking(false);
          sel.register(conn, EVENT_READ, 'echo');
        } else if (mask & EVENT_READ) {
          const data = conn.recv(4096);
          conn.sendall(data);
          echoed = Buffer.concat([echoed, client.recv(4096)]);
        } else assert.equal(mask & EVENT_WRITE, 0);
      }
    }
    assert.deepEqual(echoed, message, 'selectors echo');
    return selectorBackend(sel);
  } finally {
    sel.close();
    conn?.close();
    client.close();
    server.close();
  }
}

function epollWait() {
  assert.ok(has.epoll && epoll, 'epoll available on Linux');
  const [r, w] = os.pipe();
  const ep = epoll();
  try {
    ep.register(r, EPOLLIN);
    assert.deepEqual(ep.poll(0), [], 'nothing ready before the write');
    os.write(w, Buffer.from('x'));
    assert.deepEqual(ep.poll(TIMEOUT_S), [[r, EPOLLIN]], 'epoll sees the pipe readable');
  } finally {
    ep.close();
    os.close(r);
    os.close(w);
  }
}

async function loopStreamsEcho() {
  const loop = new EventLoop();
  const lines = ['hello\n', 'from ' + process.arch + '\n'];
  const got = await loop.runUntilComplete(async () => {
    const server = await startServer(async (reader, writer) => {
      for (;;) {
        const data = await reader.read(65536);
        if (data.length === 0) break;
        writer.write(data);
        await writer.drain();
      }
      writer.close();
    }, '127.0.0.1', 0);
    const [reader, writer] = await openConnection('127.0.0.1', server.address().port);
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
  loop.close();
  assert.deepEqual(got, lines, 'loop streams echo');
}

/** The .node files this process has mapped (Linux; qemu-user emulates the file). */
function mappedAddons() {
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
  return [...new Set(maps.map((l) => l.slice(l.indexOf('/'))).filter((f) => f.startsWith('/') && f.endsWith('.node')))];
}

/** ELF e_machine of a file: 62 is x86-64, 183 is AArch64. */
function elfMachine(file) {
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

async function main() {
  const timer = setTimeout(() => {
    console.error(`smoke: not done after ${TIMEOUT_S * 3} s`);
    process.exit(2);
  }, TIMEOUT_S * 3 * 1000);
  const backend = selectorsEcho();
  epollWait();
  await loopStreamsEcho();
  clearTimeout(timer);
  const addons = mappedAddons();
  assert.equal(addons.length, 1, `exactly one addon mapped: ${addons.join(', ')}`);
  const addonArch = elfMachine(addons[0]);
  assert.equal(addonArch, process.arch, `the addon ${addons[0]} is built for ${process.arch}`);
  console.log(JSON.stringify({ ok: true, node: process.version, arch: process.arch, addon: addons[0], addonArch, backend }));
}

main().catch((e) => {
  console.error('smoke: FAILED:', e);
  process.exit(1);
});
