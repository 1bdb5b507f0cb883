/**
 * Bench-only Node TLS load generator for bench/src/tls.bench.ts: the
 * fallback where bench/native/tls-load.c (the default client) does not
 * compile, and `BENCH_TLS_CLIENT=node`:
 *
 *   node bench/dist/tls-load.js --port P [--conns 64] [--size 64] [--seconds 1.5] [--warmup 1] [--server-pid PID]
 *
 * Opens `conns` TLS connections (Node's tls, the test CA trusted), then
 * each keeps one `size`-byte request in flight and sends the next once the
 * whole echo is back, checking every byte. Counts completed requests over
 * `seconds` after `warmup` seconds (handshakes happen before the warm-up),
 * and prints one JSON line: {"reqs":N,"seconds":S,"rps":R,"errors":E,
 * "server_cpu_us":C,"load_cpu_us":L}: the server's (from /proc/PID/stat,
 * -1 without --server-pid) and this process's CPU time in the window.
 * Bounded: it exits after warmup + seconds + 10 s whatever happens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';

const FIXTURES = path.resolve(__dirname, '..', '..', 'examples', 'fixtures', 'tls');

/** A process's user + system CPU time in microseconds, from /proc (-1 if unknown). */
function procCpuUs(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime), in clock ticks (100 per second on Linux).
    return ((Number(rest[11]) + Number(rest[12])) * 1e6) / 100;
  } catch {
    return -1;
  }
}

function arg(argv: string[], name: string, dflt: number): number {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
}

async function main(argv: string[]): Promise<void> {
  const port = arg(argv, '--port', 0);
  const conns = arg(argv, '--conns', 64);
  const size = arg(argv, '--size', 64);
  const seconds = arg(argv, '--seconds', 1.5);
  const warmup = arg(argv, '--warmup', 1);
  const serverPid = arg(argv, '--server-pid', 0);
  setTimeout(() => {
    process.stderr.write('tls-load: gave up\n');
    process.exit(3);
  }, (warmup + seconds + 10) * 1000).unref();
  const ca = fs.readFileSync(path.join(FIXTURES, 'ca.pem'));
  const msg = Buffer.alloc(size);
  for (let i = 0; i < size; i++) msg[i] = (i * 7 + 3) & 0xff;
  let counting = false;
  let stopped = false;
  let reqs = 0;
  let errors = 0;
  const sockets: tls.TLSSocket[] = [];
  await Promise.all(
    Array.from({ length: conns }, () => new Promise<void>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca }, () => resolve());
      s.setNoDelay(true);
      s.once('error', reject);
      sockets.push(s);
    })),
  );
  for (const s of sockets) {
    let got = 0;
    s.removeAllListeners('error');
    s.on('error', () => errors++);
    s.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i++) if (d[i] !== msg[(got + i) % size]) errors++;
      got += d.length;
      if (got >= size) {
        got -= size;
        if (counting) reqs++;
        if (!stopped) s.write(msg);
      }
    });
    s.write(msg);
  }
  await new Promise((r) => setTimeout(r, warmup * 1000));
  counting = true;
  const t0 = process.hrtime.bigint();
  const s0 = serverPid > 0 ? procCpuUs(serverPid) : -1;
  const l0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const s1 = serverPid > 0 ? procCpuUs(serverPid) : -1;
  const l1 = process.cpuUsage(l0);
  stopped = true;
  const serverCpu = s0 >= 0 && s1 >= 0 ? s1 - s0 : -1;
  process.stdout.write(JSON.stringify({ reqs, seconds: dt, rps: reqs / dt, errors, server_cpu_us: serverCpu, load_cpu_us: l1.user + l1.system }) + '\n');
  for (const s of sockets) s.destroy();
  process.exit(0);
}

void main(process.argv.slice(2));
