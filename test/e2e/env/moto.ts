import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAwsProxy } from './aws-proxy.js';
import type { OidcProvider } from './sts-web-identity-emulation.js';
import { freePort, startProcess, waitFor } from './processes.js';

/** moto on a free loopback port, with the paging and call-counting layer in front of it. */
export interface Moto {
  /** The endpoint to use: the layer in front of moto. */
  endpoint: string;
  /** moto itself. */
  motoEndpoint: string;
  processGroups(): number[];
  stop(): Promise<void>;
}

function motoCommand(): string {
  try {
    execFileSync('sh', ['-c', 'command -v moto_server'], { stdio: 'ignore' });
    return 'moto_server';
  } catch {
    throw new Error('moto_server is not installed: run `pip install "moto[server]"` (.ci/run does this itself)');
  }
}

const DEFAULT_ACCOUNT = '123456789012';

/** Put first on moto's PYTHONPATH: its sitecustomize.py keeps moto's EventBridge from re-parsing the same expressions for every event. */
const MOTO_PYTHON_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'moto-python');

function motoEnv(): NodeJS.ProcessEnv {
  const inherited = process.env.PYTHONPATH;
  return { ...process.env, PYTHONPATH: inherited ? `${MOTO_PYTHON_DIR}${path.delimiter}${inherited}` : MOTO_PYTHON_DIR };
}

/** One call of moto's JSON protocol (KMS), signed-looking: moto reads the region from the scope. */
async function motoJson(endpoint: string, target: string, region: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
      authorization: `AWS4-HMAC-SHA256 Credential=test/20240101/${region}/kms/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto ${target} failed (${res.status}): ${text}`);
  return JSON.parse(text || '{}') as Record<string, unknown>;
}

/**
 * Makes the KMS keys in `keys` exist in the local account: an alias (`alias/x` in `region`, or an
 * alias ARN in its own region) gets a new key in moto's KMS; a key ARN or key id cannot be made in
 * moto (its key ids are random), so it is returned for the AWS layer to treat as existing.
 */
async function seedKmsKeys(motoEndpoint: string, keys: string[], region: string): Promise<string[]> {
  const known: string[] = [];
  for (const key of new Set(keys)) {
    const aliasArn = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(alias\/.+)$/.exec(key);
    const aliasName = aliasArn?.[2] ?? (key.startsWith('alias/') ? key : undefined);
    if (aliasName) {
      const aliasRegion = aliasArn?.[1] ?? region;
      const created = await motoJson(motoEndpoint, 'TrentService.CreateKey', aliasRegion, { Description: `local key behind ${aliasName}` });
      const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
      await motoJson(motoEndpoint, 'TrentService.CreateAlias', aliasRegion, { AliasName: aliasName, TargetKeyId: keyId });
    } else if (/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/.test(key)) {
      known.push(key);
    } else if (/^(mrk-)?[0-9a-f-]{32,36}$/.test(key)) {
      known.push(`arn:aws:kms:${region}:${DEFAULT_ACCOUNT}:key/${key}`);
    }
  }
  return known;
}

export interface MotoOptions {
  /** KMS keys (aliases, alias ARNs, key ARNs, key ids) that exist from the start. */
  kmsKeys?: string[];
  /** Region of the KMS keys named without one (default us-east-1). */
  region?: string;
  /**
   * The account's OIDC identity providers: with them the layer checks AssumeRoleWithWebIdentity as
   * IAM does (the token's issuer, keys, audience, and the role's trust policy); without, any token goes.
   */
  oidcProviders?: OidcProvider[];
}

export async function startMoto(dir: string, options: MotoOptions = {}): Promise<Moto> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const motoEndpoint = `http://127.0.0.1:${port}`;
  const log = path.join(dir, 'moto.log');
  const moto = startProcess('moto', motoCommand(), ['-H', '127.0.0.1', '-p', String(port)], log, motoEnv());
  try {
    await waitFor('moto', async () => (await fetch(`${motoEndpoint}/moto-api/data.json`)).ok, 60_000, () =>
      moto.exited() ? `exited:\n${readFileSync(log, 'utf8').slice(-3000)}` : undefined);
  } catch (err) {
    await moto.stop();
    throw err;
  }
  let knownKeyArns: string[];
  try {
    knownKeyArns = await seedKmsKeys(motoEndpoint, options.kmsKeys ?? [], options.region ?? 'us-east-1');
  } catch (err) {
    await moto.stop();
    throw err;
  }
  const proxy = await startAwsProxy(motoEndpoint, { knownKeyArns, ...(options.oidcProviders ? { oidcProviders: options.oidcProviders } : {}) });
  return {
    endpoint: proxy.url,
    motoEndpoint,
    processGroups: () => [moto.pid],
    async stop() {
      await proxy.close();
      await moto.stop();
    },
  };
}
