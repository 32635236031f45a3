import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startMoto, type Moto } from '../e2e/env/moto.js';

// Integration tests run against a real moto server on a free loopback port, behind the same
// paging and call-counting layer the e2e environment uses.
let moto: Moto | undefined;
let dir: string | undefined;

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
  }
}

export async function setup(project: TestProject): Promise<void> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-moto-'));
  moto = await startMoto(dir);
  project.provide('awsEndpoint', moto.endpoint);
}

export async function teardown(): Promise<void> {
  await moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
