import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startEnvironment, type Environment } from './environment.js';
import { startNode, type Node } from './node.js';
import { createPki } from './pki.js';

declare module 'vitest' {
  export interface ProvidedContext {
    node: { name: string; image: string; imageArchive: string; containerdSocket: string; binDir: string; awsEndpointForPods: string };
  }
}

/**
 * The environment's certificates, made ahead with a serving certificate that also names the
 * `kubernetes` Service (its ClusterIP, the first address of the service range, and its DNS names):
 * pods reach the API server through that Service and verify it by that name, as on EKS.
 */
function servingCertForServices(certs: string): void {
  mkdirSync(certs, { recursive: true });
  createPki(certs);
  const sans = 'IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local';
  writeFileSync(path.join(certs, 'serving.ext'), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`);
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(['req', '-new', '-key', 'serving.key', '-subj', '/CN=kube-apiserver', '-out', 'serving.csr']);
  openssl(['x509', '-req', '-in', 'serving.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '365', '-extfile', 'serving.ext', '-out', 'serving.crt']);
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
  const envDir = path.join(dir, 'env');
  servingCertForServices(path.join(envDir, 'certs'));
  env = await startEnvironment({ dir: envDir, verbose: true });
  node = await startNode(env, { dir: path.join(dir, 'node'), images: [imageArchive] });
  const { pki: _pki, restartApiServer: _r, stop: _s, processGroups: _g, ...info } = env;
  project.provide('env', info);
  const awsEndpointForPods = await node.expose(env.awsEndpoint);
  project.provide('node', { name: node.name, image, imageArchive, containerdSocket: node.containerdSocket, binDir: node.binDir, awsEndpointForPods });
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
