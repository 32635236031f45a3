import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startEnvironment, type Environment } from './environment.js';
import { startNode, type Node } from './node.js';

declare module 'vitest' {
  export interface ProvidedContext {
    node: { name: string; image: string; imageArchive: string; containerdSocket: string; binDir: string };
  }
}

const IMAGE_BUILD = fileURLToPath(new URL('../../../hack/image-build.sh', import.meta.url));

// The node tier's global setup: the shared environment, one node with the operator's image
// imported, always torn down. The image build itself is cached by buildah's layers; the tools
// installation (hack/ensure-node.sh) has already built it once before the tests start.
let env: Environment | undefined;
let node: Node | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-node-'));
  const image = process.env.IMG ?? 'infra-operator:dev';
  const out = execFileSync('bash', [IMAGE_BUILD], { encoding: 'utf8', env: { ...process.env, IMG: image }, stdio: ['ignore', 'pipe', 'inherit'] });
  const imageArchive = out.trim().split('\n').pop() ?? '';
  env = await startEnvironment({ dir: path.join(dir, 'env'), verbose: true });
  node = await startNode(env, { dir: path.join(dir, 'node'), images: [imageArchive] });
  const { pki: _pki, restartApiServer: _r, stop: _s, processGroups: _g, ...info } = env;
  project.provide('env', info);
  project.provide('node', { name: node.name, image, imageArchive, containerdSocket: node.containerdSocket, binDir: node.binDir });
}

export async function teardown(): Promise<void> {
  // The processes' exit events and stop timers do not hold the event loop (they are unref'd): hold
  // it here, or the run ends before the environment has stopped and its directory is removed.
  const hold = setInterval(() => undefined, 1000);
  try {
    await node?.stop();
    await env?.stop();
    // The node's overlay and network-namespace mounts are detached lazily: retry while they go.
    if (dir && !process.env.KEEP_E2E_ENV) rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 500 });
  } finally {
    clearInterval(hold);
  }
}
