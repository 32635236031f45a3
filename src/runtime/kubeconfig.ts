/**
 * Where the Kubernetes API is and how to authenticate to it, read the way kubectl and client-go
 * do: the files named by KUBECONFIG (merged, the first file wins), else ~/.kube/config, else the
 * pod's service account (in-cluster).
 *
 * This replaces @kubernetes/client-node's KubeConfig, which the operator used for nothing else:
 * importing that package costs about 80 MiB of resident memory (Node 24: 42 → 122 MiB), more than
 * the operator's whole working set at 1,000 objects.
 *
 * Supported: server, certificate-authority(-data), insecure-skip-tls-verify, tls-server-name;
 * client-certificate(-data) and client-key(-data); token and tokenFile (re-read every minute, as
 * client-go does, so rotated service account tokens are picked up); username/password; exec
 * credential plugins (client.authentication.k8s.io ExecCredential, cached until they expire).
 * Refused with a message: auth-provider (removed from kubectl) and proxy-url.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { load as parseYaml } from 'js-yaml';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What the API client needs: the server, and TLS material and headers for each request. */
export interface KubeConnection {
  readonly server: string;
  /** The namespace of the current context (or the pod's namespace in-cluster), when known. */
  readonly namespace?: string;
  /** Sets TLS options and the Authorization header; asked before every request (credentials rotate). */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
  /** The same server in the shape KubeClient reads. */
  getCurrentCluster(): { server: string };
}

export interface ExecResult {
  stdout: string;
}

export interface KubeconfigDeps {
  env: Record<string, string | undefined>;
  readFile: (file: string) => string;
  exists: (file: string) => boolean;
  homedir: string;
  /** Milliseconds; for token file and exec credential caching. */
  now: () => number;
  runExec: (command: string, args: string[], env: Record<string, string | undefined>) => Promise<ExecResult>;
}

export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

export function defaultKubeconfigDeps(): KubeconfigDeps {
  return {
    env: process.env,
    readFile: (file) => fs.readFileSync(file, 'utf8'),
    exists: (file) => fs.existsSync(file),
    homedir: os.homedir(),
    now: Date.now,
    runExec: (command, args, env) =>
      new Promise((resolve, reject) => {
        execFile(command, args, { env: env as NodeJS.ProcessEnv, timeout: 60_000, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
          if (err) reject(new KubeconfigError(`credential plugin ${command} failed: ${String(stderr).trim() || err.message}`));
          else resolve({ stdout: String(stdout) });
        });
      }),
  };
}

/** The connection as kubectl would choose it: KUBECONFIG, ~/.kube/config, then in-cluster. */
export function loadKubeConnection(deps: KubeconfigDeps = defaultKubeconfigDeps()): KubeConnection {
  const listed = (deps.env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f.length > 0);
  if (listed.length > 0) {
    const files = listed.filter((f) => deps.exists(f));
    if (files.length === 0) throw new KubeconfigError(`none of the files in KUBECONFIG exists (${listed.join(path.delimiter)})`);
    return fromKubeconfigFiles(files, deps);
  }
  const home = path.join(deps.homedir, '.kube', 'config');
  if (deps.exists(home)) return fromKubeconfigFiles([home], deps);
  if (deps.env.KUBERNETES_SERVICE_HOST) return inCluster(deps);
  throw new KubeconfigError('no kubeconfig: set KUBECONFIG, create ~/.kube/config, or run in a pod with a service account');
}

/** The pod's service account: the API server's service address, its token and CA. */
export function inCluster(deps: KubeconfigDeps, dir = SERVICE_ACCOUNT_DIR): KubeConnection {
  const host = deps.env.KUBERNETES_SERVICE_HOST;
  const port = deps.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new KubeconfigError('not in a cluster: KUBERNETES_SERVICE_HOST is not set');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const tokenFile = path.join(dir, 'token');
  const namespaceFile = path.join(dir, 'namespace');
  return connection({
    server: `https://${hostPart}:${port}`,
    ca: deps.readFile(path.join(dir, 'ca.crt')),
    token: fileToken(tokenFile, deps),
    ...(deps.exists(namespaceFile) ? { namespace: deps.readFile(namespaceFile).trim() } : {}),
  });
}

// --- kubeconfig files ---------------------------------------------------------------------------

type Dict = Record<string, unknown>;

interface Named {
  name: string;
  value: Dict;
  /** The directory of the file it came from: relative paths are relative to it. */
  dir: string;
}

function asDict(value: unknown): Dict | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Dict) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function namedList(doc: Dict, key: string, field: string, dir: string): Named[] {
  const list = doc[key];
  if (!Array.isArray(list)) return [];
  const out: Named[] = [];
  for (const item of list) {
    const d = asDict(item);
    const name = d && str(d.name);
    const value = d && asDict(d[field]);
    if (name && value) out.push({ name, value, dir });
  }
  return out;
}

/** client-go's merge: the first file that defines a name (or current-context) wins. */
export function fromKubeconfigFiles(files: string[], deps: KubeconfigDeps): KubeConnection {
  let currentContext: string | undefined;
  const clusters = new Map<string, Named>();
  const users = new Map<string, Named>();
  const contexts = new Map<string, Named>();
  for (const file of files) {
    let doc: Dict | undefined;
    try {
      doc = asDict(parseYaml(deps.readFile(file)));
    } catch (err) {
      throw new KubeconfigError(`${file} is not a kubeconfig: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
    if (!doc) continue;
    const dir = path.dirname(path.resolve(file));
    currentContext ??= str(doc['current-context']);
    for (const [map, key, field] of [[clusters, 'clusters', 'cluster'], [users, 'users', 'user'], [contexts, 'contexts', 'context']] as const) {
      for (const entry of namedList(doc, key, field, dir)) if (!map.has(entry.name)) map.set(entry.name, entry);
    }
  }
  if (!currentContext) throw new KubeconfigError('the kubeconfig has no current-context');
  const context = contexts.get(currentContext);
  if (!context) throw new KubeconfigError(`the kubeconfig's current-context "${currentContext}" is not among its contexts`);
  const clusterName = str(context.value.cluster);
  const cluster = clusterName ? clusters.get(clusterName) : undefined;
  if (!cluster) throw new KubeconfigError(`context "${currentContext}" names no known cluster`);
  const userName = str(context.value.user);
  const user = userName ? users.get(userName) : undefined;
  if (userName && !user) throw new KubeconfigError(`context "${currentContext}" names user "${userName}", which the kubeconfig does not define`);

  const c = cluster.value;
  const server = str(c.server);
  if (!server) throw new KubeconfigError(`cluster "${cluster.name}" has no server`);
  if (str(c['proxy-url'])) throw new KubeconfigError(`cluster "${cluster.name}" uses proxy-url, which this operator does not support`);
  const material = (dataKey: string, fileKey: string, owner: Named): string | undefined => {
    const data = str(owner.value[dataKey]);
    if (data) return Buffer.from(data, 'base64').toString('utf8');
    const file = str(owner.value[fileKey]);
    return file ? deps.readFile(path.resolve(owner.dir, file)) : undefined;
  };

  const spec: ConnectionSpec = {
    server: server.replace(/\/+$/, ''),
    ...(str(context.value.namespace) ? { namespace: str(context.value.namespace) as string } : {}),
  };
  const ca = material('certificate-authority-data', 'certificate-authority', cluster);
  if (ca) spec.ca = ca;
  if (c['insecure-skip-tls-verify'] === true) spec.insecure = true;
  const serverName = str(c['tls-server-name']);
  if (serverName) spec.serverName = serverName;

  if (user) {
    const u = user.value;
    if (asDict(u['auth-provider'])) throw new KubeconfigError(`user "${user.name}" uses an auth-provider, which kubectl no longer supports; use an exec credential plugin`);
    const cert = material('client-certificate-data', 'client-certificate', user);
    const key = material('client-key-data', 'client-key', user);
    if (cert && key) {
      spec.cert = cert;
      spec.key = key;
    } else if (cert || key) {
      throw new KubeconfigError(`user "${user.name}" has a client certificate without its key, or a key without its certificate`);
    }
    const token = str(u.token);
    const tokenFile = str(u.tokenFile);
    const exec = asDict(u.exec);
    if (token) spec.token = async () => token;
    else if (tokenFile) spec.token = fileToken(path.resolve(user.dir, tokenFile), deps);
    else if (exec) spec.exec = execCredential(user.name, exec, deps);
    const username = str(u.username);
    if (username && !spec.token && !spec.exec) spec.basic = `${username}:${typeof u.password === 'string' ? u.password : ''}`;
  }
  return connection(spec);
}

// --- credentials that change ---------------------------------------------------------------------

const TOKEN_FILE_REFRESH_MS = 60_000;

/** A token file re-read at most once a minute (the kubelet rotates projected tokens). */
function fileToken(file: string, deps: KubeconfigDeps): () => Promise<string> {
  let cached: { token: string; readAt: number } | undefined;
  return async () => {
    const now = deps.now();
    if (!cached || now - cached.readAt >= TOKEN_FILE_REFRESH_MS) {
      cached = { token: deps.readFile(file).trim(), readAt: now };
    }
    return cached.token;
  };
}

interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expiresAt?: number;
}

/** An exec credential plugin, run again when its answer expires (or every time if it gives no expiry). */
function execCredential(userName: string, exec: Dict, deps: KubeconfigDeps): () => Promise<ExecCredentialStatus> {
  const command = str(exec.command);
  if (!command) throw new KubeconfigError(`user "${userName}" has an exec plugin without a command`);
  const args = Array.isArray(exec.args) ? exec.args.filter((a): a is string => typeof a === 'string') : [];
  const env: Record<string, string | undefined> = { ...deps.env };
  if (Array.isArray(exec.env)) {
    for (const item of exec.env) {
      const d = asDict(item);
      const name = d && str(d.name);
      if (name) env[name] = typeof d.value === 'string' ? d.value : '';
    }
  }
  const apiVersion = str(exec.apiVersion) ?? 'client.authentication.k8s.io/v1';
  env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } });
  let cached: ExecCredentialStatus | undefined;
  let running: Promise<ExecCredentialStatus> | undefined;
  return async () => {
    // A minute's margin, as client-go keeps, so a request never starts with a token about to expire.
    if (cached?.expiresAt !== undefined && cached.expiresAt - 60_000 > deps.now()) return cached;
    running ??= deps.runExec(command, args, env).then((out) => {
      const parsed = asDict(safeJson(out.stdout));
      const status = parsed && asDict(parsed.status);
      if (!status) throw new KubeconfigError(`credential plugin ${command} printed no ExecCredential status`);
      const expiry = str(status.expirationTimestamp);
      const result: ExecCredentialStatus = {
        ...(str(status.token) ? { token: str(status.token) as string } : {}),
        ...(str(status.clientCertificateData) ? { clientCertificateData: str(status.clientCertificateData) as string } : {}),
        ...(str(status.clientKeyData) ? { clientKeyData: str(status.clientKeyData) as string } : {}),
        ...(expiry && Number.isFinite(Date.parse(expiry)) ? { expiresAt: Date.parse(expiry) } : {}),
      };
      cached = result;
      return result;
    }).finally(() => {
      running = undefined;
    });
    return running;
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// --- the connection ------------------------------------------------------------------------------

interface ConnectionSpec {
  server: string;
  namespace?: string;
  ca?: string;
  insecure?: boolean;
  serverName?: string;
  cert?: string;
  key?: string;
  token?: () => Promise<string>;
  exec?: () => Promise<ExecCredentialStatus>;
  basic?: string;
}

function connection(spec: ConnectionSpec & { token?: () => Promise<string> }): KubeConnection {
  const ca = spec.ca !== undefined ? Buffer.from(spec.ca) : undefined;
  const cert = spec.cert !== undefined ? Buffer.from(spec.cert) : undefined;
  const key = spec.key !== undefined ? Buffer.from(spec.key) : undefined;
  return {
    server: spec.server,
    ...(spec.namespace !== undefined ? { namespace: spec.namespace } : {}),
    getCurrentCluster: () => ({ server: spec.server }),
    async applyToHTTPSOptions(opts) {
      if (ca) opts.ca = ca;
      if (spec.insecure) opts.rejectUnauthorized = false;
      if (spec.serverName) opts.servername = spec.serverName;
      if (cert && key) {
        opts.cert = cert;
        opts.key = key;
      }
      const headers: Record<string, string> = {};
      if (spec.token) headers.Authorization = `Bearer ${await spec.token()}`;
      if (spec.exec) {
        const status = await spec.exec();
        if (status.token) headers.Authorization = `Bearer ${status.token}`;
        if (status.clientCertificateData && status.clientKeyData) {
          opts.cert = Buffer.from(status.clientCertificateData);
          opts.key = Buffer.from(status.clientKeyData);
        }
      }
      if (spec.basic) opts.auth = spec.basic;
      if (Object.keys(headers).length > 0) opts.headers = { ...(opts.headers as Record<string, string> | undefined), ...headers };
    },
  };
}
