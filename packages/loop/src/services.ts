/**
 * Service names and numbers (getservbyname/getservbyport, as the C
 * library's "files" source reads them from /etc/services), read once,
 * asynchronously, for the resolver in resolve.ts: Node's `dns.lookup` takes
 * no service.
 */
import { readFile } from 'node:fs/promises';

/** One protocol's table: name (and alias) -> port, port -> first name. */
interface ProtoTable {
  byName: Map<string, number>;
  byPort: Map<number, string>;
}

let tables: Promise<Map<string, ProtoTable>> | null = null;

/** The services file parsed, by protocol name ('tcp', 'udp'); empty if unreadable. */
function load(): Promise<Map<string, ProtoTable>> {
  tables ??= readFile('/etc/services', 'latin1').then(parse, () => new Map());
  return tables;
}

function parse(text: string): Map<string, ProtoTable> {
  const out = new Map<string, ProtoTable>();
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const fields = (hash < 0 ? raw : raw.slice(0, hash)).trim().split(/\s+/);
    if (fields.length < 2) continue;
    const m = /^(\d+)\/(\w+)$/.exec(fields[1]!);
    if (m === null) continue;
    const port = Number(m[1]);
    if (port > 0xffff) continue;
    let table = out.get(m[2]!);
    if (table === undefined) out.set(m[2]!, (table = { byName: new Map(), byPort: new Map() }));
    for (const name of [fields[0]!, ...fields.slice(2)]) if (!table.byName.has(name)) table.byName.set(name, port);
    if (!table.byPort.has(port)) table.byPort.set(port, fields[0]!);
  }
  return out;
}

/** getservbyname(name, proto): the port, or null if the service is unknown for `proto`. */
export async function serviceByName(name: string, proto: 'tcp' | 'udp'): Promise<number | null> {
  return (await load()).get(proto)?.byName.get(name) ?? null;
}

/** getservbyport(port, proto): the service's name, or null if none. */
export async function serviceByPort(port: number, proto: 'tcp' | 'udp'): Promise<string | null> {
  return (await load()).get(proto)?.byPort.get(port) ?? null;
}
