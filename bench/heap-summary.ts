/**
 * What a heap holds, from V8 heap snapshots: `npx tsx bench/heap-summary.ts A.heapsnapshot [B.heapsnapshot]`
 * prints the largest groups of objects by self size (grouped by constructor, or by kind for
 * strings, arrays, code and the like); with two snapshots, the groups that grew most from A to B.
 * The memory run writes such snapshots at 1,000 objects and at its full count when
 * BENCH_HEAP_SNAPSHOTS names a directory.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

/** Kinds whose name says nothing useful per object: grouped by kind alone. */
const BY_KIND = new Set(['string', 'concatenated string', 'sliced string', 'number', 'code', 'hidden', 'array', 'regexp', 'bigint', 'symbol']);

function summarize(file: string): Map<string, Group> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, Group>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const kind = types[snap.nodes[i + typeAt] as number] ?? 'unknown';
    const name = snap.strings[snap.nodes[i + nameAt] as number] ?? '';
    const key = BY_KIND.has(kind) ? `(${kind})` : kind === 'closure' ? `(closure) ${name || 'anonymous'}` : name || `(${kind})`;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count += 1;
    g.bytes += snap.nodes[i + sizeAt] as number;
    groups.set(key, g);
  }
  return groups;
}

const mib = (b: number) => (b / 1024 / 1024).toFixed(2);

function main(): void {
  const [a, b] = process.argv.slice(2);
  if (!a) {
    process.stderr.write('usage: tsx bench/heap-summary.ts A.heapsnapshot [B.heapsnapshot]\n');
    process.exit(2);
  }
  const first = summarize(a);
  const total = (g: Map<string, Group>) => [...g.values()].reduce((s, x) => s + x.bytes, 0);
  if (!b) {
    process.stdout.write(`${a}: ${mib(total(first))} MiB in ${[...first.values()].reduce((s, x) => s + x.count, 0)} objects\n`);
    for (const [k, g] of [...first.entries()].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, 30)) {
      process.stdout.write(`${mib(g.bytes).padStart(9)} MiB ${String(g.count).padStart(9)}  ${k}\n`);
    }
    return;
  }
  const second = summarize(b);
  process.stdout.write(`${a}: ${mib(total(first))} MiB; ${b}: ${mib(total(second))} MiB\ngrowth by group (MiB, objects):\n`);
  const keys = new Set([...first.keys(), ...second.keys()]);
  const rows = [...keys].map((k) => {
    const x = first.get(k) ?? { count: 0, bytes: 0 };
    const y = second.get(k) ?? { count: 0, bytes: 0 };
    return { k, bytes: y.bytes - x.bytes, count: y.count - x.count };
  }).sort((p, q) => q.bytes - p.bytes);
  for (const r of rows.slice(0, 30)) process.stdout.write(`${mib(r.bytes).padStart(9)} MiB ${String(r.count).padStart(9)}  ${r.k}\n`);
}

main();
