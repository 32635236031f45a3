import { execFileSync } from 'node:child_process';
import type { JsonWebKey } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMoto, type Moto } from './moto.js';
import { createPki, issueClientCert, kubeconfigYaml, type Pki } from './pki.js';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.js';
import type { OidcProvider } from './sts-web-identity-emulation.js';

/**
 * The local environment: etcd, a real kube-apiserver, kube-controller-manager (namespace deletion,
 * garbage collection, ServiceAccounts and their tokens, as in a real cluster) and moto (behind the
 * paging layer), all on loopback and free ports. Used by the e2e setup, `make env-up` and `make dev`
 * alike.
 *
 * The cluster's service-account issuer is the AWS account's OIDC identity provider, as an EKS
 * cluster's is once associated with IAM (client ID sts.amazonaws.com, the keys the API server
 * publishes): STS's AssumeRoleWithWebIdentity accepts only tokens that the API server signed, for
 * that audience, and only for roles whose trust policy allows their ServiceAccount.
 */

/** The client ID (audience) of an EKS cluster's OIDC provider in IAM: IRSA's tokens carry it. */
export const STS_AUDIENCE = 'sts.amazonaws.com';

const BUILD_SCRIPT = fileURLToPath(new URL('./build-binaries.sh', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * The KMS keys that the samples and the documentation name (`kmsKey: ...`, `kmsKey=...`): the local
 * AWS account has them, so that every documented example applies unchanged; any other key does not
 * exist there, and ECR refuses it as AWS does.
 */
export function documentedKmsKeys(root = REPO_ROOT): string[] {
  const files = [path.join(root, 'README.md')];
  for (const dir of ['docs', 'config/samples']) {
    const full = path.join(root, dir);
    if (existsSync(full)) files.push(...readdirSync(full).filter((f) => /\.(md|ya?ml)$/.test(f)).map((f) => path.join(full, f)));
  }
  const keys = new Set<string>();
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/kmsKey["']?\s*[:=]\s*["']?((?:arn:|alias\/|mrk-|[0-9a-f]{8}-)[A-Za-z0-9:/_.-]+)/g)) {
      if (m[1]) keys.add(m[1]);
    }
  }
  return [...keys].sort();
}

export interface EnvironmentInfo {
  dir: string;
  kubeconfig: string;
  apiServerUrl: string;
  /** The AWS endpoint to use: the paging and call-counting layer in front of moto. */
  awsEndpoint: string;
  /** moto itself, for tools that must bypass the layer. */
  motoEndpoint: string;
  region: string;
  kubeVersion: string;
  caCert: string;
  serviceAccountIssuer: string;
}

export interface Environment extends EnvironmentInfo {
  pki: Pki;
  /** Process groups of etcd, kube-apiserver, kube-controller-manager and moto (each led by its reaper). */
  processGroups(): number[];
  /** Stops kube-apiserver and starts it again on the same port and storage. */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
}

export interface EnvironmentOptions {
  dir: string;
  region?: string;
  /** Log progress to stderr. */
  verbose?: boolean;
}

/**
 * Builds (once; cached by version) and returns the directory that holds kube-apiserver,
 * kube-controller-manager and etcd.
 */
export function ensureBinaries(verbose = false): string {
  try {
    const out = execFileSync('bash', [BUILD_SCRIPT], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', verbose ? 'inherit' : 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = out.trim().split('\n');
    return lines[lines.length - 1] ?? '';
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`building kube-apiserver, kube-controller-manager and etcd failed:\n${stderr.slice(-4000)}`);
  }
}

function httpsGet(url: string, pki: Pki): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, {
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.adminCert),
      key: readFileSync(pki.adminKey),
      timeout: 5000,
    }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * The cluster's issuer as IAM registers an OIDC provider: its keys read as IAM reads them, from the
 * issuer's discovery document and the JWKS it names (the API server serves both), and STS's client ID.
 */
async function clusterOidcProvider(apiServerUrl: string, issuer: string, pki: Pki): Promise<OidcProvider> {
  const discovery = await httpsGet(`${apiServerUrl}/.well-known/openid-configuration`, pki);
  if (discovery.status !== 200) throw new Error(`kube-apiserver did not serve its OpenID discovery document (${discovery.status}): ${discovery.body.slice(0, 500)}`);
  const config = JSON.parse(discovery.body) as { issuer?: string; jwks_uri?: string };
  if (config.issuer !== issuer || !config.jwks_uri) throw new Error(`unexpected OpenID discovery document: ${discovery.body.slice(0, 500)}`);
  // The JWKS is named under the issuer's address, which is this API server's.
  const jwks = await httpsGet(new URL(new URL(config.jwks_uri).pathname, apiServerUrl).toString(), pki);
  const keys = (JSON.parse(jwks.body) as { keys?: JsonWebKey[] }).keys ?? [];
  if (jwks.status !== 200 || keys.length === 0) throw new Error(`kube-apiserver served no service-account keys at ${config.jwks_uri} (${jwks.status}): ${jwks.body.slice(0, 500)}`);
  return { issuer, audiences: [STS_AUDIENCE], keys };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '';
  }
}

export async function startEnvironment(options: EnvironmentOptions): Promise<Environment> {
  const dir = path.resolve(options.dir);
  const region = options.region ?? 'us-east-1';
  const say = (m: string) => options.verbose && process.stderr.write(`env: ${m}\n`);
  mkdirSync(path.join(dir, 'certs'), { recursive: true });
  mkdirSync(path.join(dir, 'logs'), { recursive: true });

  say('ensuring kube-apiserver, kube-controller-manager and etcd binaries (built once, then cached)');
  const binDir = ensureBinaries(options.verbose);
  const pki = createPki(path.join(dir, 'certs'));
  const started: ManagedProcess[] = [];
  let moto: Moto | undefined;

  const stopAll = async () => {
    await moto?.stop();
    for (const p of [...started].reverse()) await p.stop();
    started.length = 0;
  };

  try {
    const etcdPort = await freePort();
    const etcdData = path.join(dir, 'etcd');
    say(`starting etcd on 127.0.0.1:${etcdPort}`);
    const etcdLog = path.join(dir, 'logs', 'etcd.log');
    const etcd = startProcess('etcd', path.join(binDir, 'etcd'), [
      `--data-dir=${etcdData}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls=http://127.0.0.1:0',
      '--unsafe-no-fsync',
      '--log-level=warn',
    ], etcdLog);
    started.push(etcd);
    await waitFor('etcd', async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok, 30_000,
      () => (etcd.exited() ? `exited:\n${tail(etcdLog)}` : undefined));

    const apiPort = await freePort();
    const apiServerUrl = `https://127.0.0.1:${apiPort}`;
    const issuer = `https://127.0.0.1:${apiPort}/`;
    const apiArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--cert-dir=${path.join(dir, 'certs')}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // The ServiceAccount admission plugin stays on (envtest turns it off): with
      // kube-controller-manager creating every namespace's `default` ServiceAccount and the
      // kube-root-ca.crt ConfigMap, pods get their ServiceAccount and projected token as in a cluster.
      `--service-account-issuer=${issuer}`,
      `--service-account-key-file=${pki.serviceAccountPublicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccountSigningKey}`,
      '--api-audiences=https://kubernetes.default.svc',
    ];
    const apiLog = path.join(dir, 'logs', 'kube-apiserver.log');
    let apiServer: ManagedProcess | undefined;
    const startApiServer = async () => {
      say(`starting kube-apiserver on ${apiServerUrl}`);
      const previous = apiServer;
      apiServer = startProcess('kube-apiserver', path.join(binDir, 'kube-apiserver'), apiArgs, apiLog);
      // A restarted API server takes its predecessor's place, so that processes stop in reverse start order.
      const slot = previous ? started.indexOf(previous) : -1;
      if (slot >= 0) started[slot] = apiServer;
      else started.push(apiServer);
      const current = apiServer;
      await waitFor('kube-apiserver /readyz', async () => (await httpsGet(`${apiServerUrl}/readyz`, pki)).status === 200, 120_000,
        () => (current.exited() ? `exited:\n${tail(apiLog)}` : undefined));
    };
    await startApiServer();

    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(apiServerUrl, pki.caCert, { cert: pki.adminCert, key: pki.adminKey }), { mode: 0o600 });
    const version = JSON.parse((await httpsGet(`${apiServerUrl}/version`, pki)).body) as { gitVersion: string };

    // kube-controller-manager: its own client certificate in system:masters; with
    // --use-service-account-credentials each controller acts as its own ServiceAccount, whose
    // token it requests with that certificate, as kubeadm clusters run it.
    const kcmCert = issueClientCert(path.join(dir, 'certs'), 'kube-controller-manager', 'system:kube-controller-manager', ['system:masters']);
    const kcmKubeconfig = path.join(dir, 'kube-controller-manager.kubeconfig');
    writeFileSync(kcmKubeconfig, kubeconfigYaml(apiServerUrl, pki.caCert, kcmCert, 'system:kube-controller-manager'), { mode: 0o600 });
    const kcmLog = path.join(dir, 'logs', 'kube-controller-manager.log');
    say('starting kube-controller-manager');
    const controllerManager = startProcess('kube-controller-manager', path.join(binDir, 'kube-controller-manager'), [
      `--kubeconfig=${kcmKubeconfig}`,
      '--leader-elect=false',
      // No serving port at all: nothing here scrapes it, and loopback stays free of extra listeners.
      '--secure-port=0',
      '--controllers=*',
      '--use-service-account-credentials',
      `--service-account-private-key-file=${pki.serviceAccountSigningKey}`,
      `--root-ca-file=${pki.caCert}`,
      // The CSR signer issues from the local CA, as kubeadm configures it.
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
    ], kcmLog);
    started.push(controllerManager);
    // Ready when the ServiceAccount controller has made the `default` ServiceAccount of `default`.
    await waitFor('kube-controller-manager (the default ServiceAccount of namespace default)', async () =>
      (await httpsGet(`${apiServerUrl}/api/v1/namespaces/default/serviceaccounts/default`, pki)).status === 200, 120_000,
    () => (controllerManager.exited() ? `exited:\n${tail(kcmLog)}` : undefined));

    const oidcProvider = await clusterOidcProvider(apiServerUrl, issuer, pki);
    say(`OIDC provider of the AWS account: ${oidcProvider.issuer} (client ID ${STS_AUDIENCE}, ${oidcProvider.keys.length} key(s))`);
    say('starting moto behind the paging layer');
    const kmsKeys = documentedKmsKeys();
    moto = await startMoto(path.join(dir, 'logs'), { kmsKeys, region, oidcProviders: [oidcProvider] });
    say(`KMS keys of the documentation: ${kmsKeys.join(', ') || 'none'}`);
    say(`AWS endpoint ${moto.endpoint} (moto at ${moto.motoEndpoint})`);

    return {
      dir,
      kubeconfig,
      apiServerUrl,
      awsEndpoint: moto.endpoint,
      motoEndpoint: moto.motoEndpoint,
      region,
      kubeVersion: version.gitVersion,
      caCert: pki.caCert,
      serviceAccountIssuer: issuer,
      pki,
      async restartApiServer() {
        await apiServer?.stop();
        await startApiServer();
      },
      processGroups: () => [...started.map((p) => p.pid), ...(moto ? moto.processGroups() : [])],
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Environment variables that point a shell, awscli or the operator at the environment. */
export function environmentVariables(info: EnvironmentInfo): Record<string, string> {
  return {
    KUBECONFIG: info.kubeconfig,
    AWS_ENDPOINT_URL: info.awsEndpoint,
    AWS_REGION: info.region,
    AWS_DEFAULT_REGION: info.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
}

export function writeEnvFiles(info: EnvironmentInfo, envSh: string, extra: Record<string, unknown> = {}): void {
  const vars = environmentVariables(info);
  const lines = Object.entries(vars).map(([k, v]) => `export ${k}='${v}'`);
  writeFileSync(envSh, `# written by the local environment; source it to use kubectl and aws against it\n${lines.join('\n')}\n`);
  writeFileSync(path.join(path.dirname(envSh), 'env.json'), JSON.stringify({ ...info, ...extra }, null, 2));
}

export function readEnvInfo(file: string): (EnvironmentInfo & { supervisorPid?: number }) | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as EnvironmentInfo & { supervisorPid?: number };
}
