import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEnvironment, type Environment } from './env/environment.js';

// Starts the shared environment once per run and always tears it down. A component that cannot be
// built or started fails the run with the reason; nothing is skipped.
let env: Environment | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-e2e-'));
  env = await startEnvironment({ dir, verbose: true });
  // Lets a test that interrupts a whole run find the processes this run started.
  if (process.env.E2E_PROCESS_GROUPS_FILE) writeFileSync(process.env.E2E_PROCESS_GROUPS_FILE, JSON.stringify(env.processGroups()));
  const { pki: _pki, restartApiServer: _r, stop: _s, processGroups: _g, ...info } = env;
  project.provide('env', info);
}

export async function teardown(): Promise<void> {
  await env?.stop();
  if (dir && !process.env.KEEP_E2E_ENV) rmSync(dir, { recursive: true, force: true });
}
