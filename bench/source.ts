import { cpSync, mkdtempSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './context.js';
import { exec } from './exec.js';

/** Which code a run measures: the commit, and a private copy of the built operator. */

export interface SourceState {
  commit: string;
  dirtyFiles: number;
  distBuiltAt: string;
}

export async function gitState(): Promise<SourceState> {
  const git = async (args: string[]) => (await exec('git', args, { timeoutMs: 10_000 }).catch(() => ({ code: 1, stdout: '', stderr: '' }))).stdout.trim();
  const commit = await git(['-C', ROOT, 'rev-parse', 'HEAD']);
  const status = await git(['-C', ROOT, 'status', '--porcelain']);
  // The operator that runs is dist/, which may be older or newer than the commit: say when it was built.
  const distBuiltAt = statSync(path.join(ROOT, 'dist', 'main.js')).mtime.toISOString();
  return { commit: commit || 'unknown', dirtyFiles: status ? status.split('\n').length : 0, distBuiltAt };
}

/**
 * A private copy of dist/ to run the operator from. Others rebuild dist/ while a long benchmark
 * runs; without a copy, the operators of later phases could run other code than the first ones.
 * The copy sits next to the repository's package.json and node_modules (linked), so that it loads
 * as an ES module with the same dependencies. startOperator runs dist/main.js from the working
 * directory, so the benchmark works from the copy's directory once the setup is done.
 */
export function snapshotDist(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-bench-dist-'));
  cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}
