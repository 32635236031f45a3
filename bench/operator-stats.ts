import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import type { OperatorProcess } from '../test/e2e/support/operator.js';

/**
 * What the benchmark reads about a running operator: its metrics, and the memory and CPU of its
 * node process from /proc. The operator runs under the reaper (a shell that kills it when the
 * benchmark dies), so the pid startProcess knows is the shell's; the node process is found by its
 * command line, which holds the operator's unique metrics address.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

export class Metrics {
  constructor(readonly samples: Sample[]) {}

  static async of(operator: OperatorProcess): Promise<Metrics> {
    return new Metrics(parseMetrics(await operator.metrics()));
  }

  /** Sum of the samples of a metric whose labels include every given label. */
  sum(name: string, labels: Record<string, string> = {}): number {
    let total = 0;
    for (const s of this.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
    return total;
  }

  /** Sums of a metric grouped by one label. */
  by(name: string, label: string, filter: Record<string, string> = {}): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.samples) {
      if (s.name !== name || !Object.entries(filter).every(([k, v]) => s.labels[k] === v)) continue;
      const key = s.labels[label] ?? '';
      out[key] = (out[key] ?? 0) + s.value;
    }
    return out;
  }
}

/** after - before, per key, dropping zeros. */
export function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export async function findOperatorPid(operator: OperatorProcess): Promise<number> {
  const address = new URL(operator.metricsUrl).host;
  const flag = `--metrics-bind-address=${address}`;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
    } catch {
      continue;
    }
    // The reaper's command line holds the same arguments after the shell and its script.
    if (argv[0] === process.execPath && argv.includes(flag)) return Number(entry);
  }
  throw new Error(`no node process with ${flag} found under /proc`);
}

export interface ProcStats {
  rssMiB: number;
  /** Peak RSS of the process's whole life (VmHWM). */
  peakRssMiB: number;
  cpuSeconds: number;
  /** Anonymous memory (heaps, malloc) in the RSS; the rest is mapped files (code) and shared memory. */
  rssAnonMiB: number;
}

let clockTicks: number | undefined;

async function ticksPerSecond(): Promise<number> {
  if (clockTicks !== undefined) return clockTicks;
  // USER_HZ is 100 on every Linux build node runs on; read it from getconf when available.
  clockTicks = await new Promise<number>((resolve) => {
    const child = spawn('getconf', ['CLK_TCK'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', () => resolve(100));
    child.on('close', () => resolve(Number(out.trim()) || 100));
  });
  return clockTicks;
}

export async function procStats(pid: number): Promise<ProcStats> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024, rssAnonMiB: kib('RssAnon') / 1024, cpuSeconds: ticks / (await ticksPerSecond()) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the controller's queue is empty and no worker is busy on `polls` consecutive polls,
 * and (when given) the reconcile count has reached `minReconciles`. Keys waiting for a delayed
 * requeue are not in the queue and do not count as work.
 */
export async function waitIdle(operator: OperatorProcess, controller: string, opts: { minReconciles?: number; timeoutMs: number; polls?: number; intervalMs?: number; what: string }): Promise<Metrics> {
  const deadline = Date.now() + opts.timeoutMs;
  const polls = opts.polls ?? 3;
  let quiet = 0;
  let lastReport = Date.now();
  for (;;) {
    if (operator.exited()) throw new Error(`the operator exited while waiting for ${opts.what}:\n${operator.output().slice(-3000)}`);
    const m = await Metrics.of(operator);
    const depth = m.sum('workqueue_depth', { name: controller });
    const active = m.sum('controller_runtime_active_workers', { controller });
    const reconciles = m.sum('controller_runtime_reconcile_total', { controller });
    const enough = opts.minReconciles === undefined || reconciles >= opts.minReconciles;
    quiet = depth === 0 && active === 0 && enough ? quiet + 1 : 0;
    if (quiet >= polls) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what}: depth ${depth}, active ${active}, reconciles ${reconciles}${opts.minReconciles !== undefined ? ` of ${opts.minReconciles}` : ''}`);
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      process.stderr.write(`bench:   ${opts.what}: depth ${depth}, active ${active}, reconciles ${reconciles}${opts.minReconciles !== undefined ? `/${opts.minReconciles}` : ''}\n`);
    }
    await sleep(opts.intervalMs ?? 500);
  }
}
