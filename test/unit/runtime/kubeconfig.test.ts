import type https from 'node:https';
import { describe, expect, it } from 'vitest';
import { KubeconfigError, loadKubeConnection, type KubeconfigDeps } from '../../../src/runtime/kubeconfig.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A file system of a few files, an environment and a clock, all in memory. */
function deps(files: Record<string, string>, env: Record<string, string | undefined> = {}, overrides: Partial<KubeconfigDeps> = {}) {
  let now = 1_000_000;
  const execs: Array<{ command: string; args: string[]; env: Record<string, string | undefined> }> = [];
  const d: KubeconfigDeps = {
    env,
    homedir: '/home/me',
    readFile: (file) => {
      const content = files[file];
      if (content === undefined) throw new Error(`ENOENT: ${file}`);
      return content;
    },
    exists: (file) => file in files,
    now: () => now,
    runExec: async (command, args, execEnv) => {
      execs.push({ command, args, env: execEnv });
      return { stdout: JSON.stringify({ kind: 'ExecCredential', status: { token: `exec-token-${execs.length}`, expirationTimestamp: new Date(now + 15 * 60_000).toISOString() } }) };
    },
    ...overrides,
  };
  return { d, execs, files, advance: (ms: number) => { now += ms; } };
}

async function options(conn: { applyToHTTPSOptions(o: https.RequestOptions): Promise<void> }): Promise<https.RequestOptions> {
  const opts: https.RequestOptions = {};
  await conn.applyToHTTPSOptions(opts);
  return opts;
}

const TWO_CONTEXTS = `
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example:6443/
    certificate-authority-data: ${b64('DEV CA')}
- name: prod-cluster
  cluster:
    server: https://prod.example:6443
    certificate-authority: certs/prod-ca.crt
contexts:
- name: dev
  context: { cluster: dev-cluster, user: dev-admin, namespace: team-a }
- name: prod
  context: { cluster: prod-cluster, user: prod-user }
users:
- name: dev-admin
  user:
    client-certificate-data: ${b64('DEV CERT')}
    client-key-data: ${b64('DEV KEY')}
- name: prod-user
  user:
    client-certificate: certs/me.crt
    client-key: certs/me.key
`;

describe('loadKubeConnection: kubeconfig files', () => {
  it('reads the current context with inline client certificate and CA', async () => {
    const { d } = deps({ '/home/me/.kube/config': TWO_CONTEXTS });
    const conn = loadKubeConnection(d);
    expect(conn.server).toBe('https://dev.example:6443');
    expect(conn.getCurrentCluster()).toEqual({ server: 'https://dev.example:6443' });
    expect(conn.namespace).toBe('team-a');
    const o = await options(conn);
    expect(String(o.ca)).toBe('DEV CA');
    expect(String(o.cert)).toBe('DEV CERT');
    expect(String(o.key)).toBe('DEV KEY');
    expect(o.headers).toBeUndefined();
  });

  it('resolves file references relative to the kubeconfig, and KUBECONFIG wins over ~/.kube/config', async () => {
    const prod = TWO_CONTEXTS.replace('current-context: dev', 'current-context: prod');
    const { d } = deps({
      '/home/me/.kube/config': TWO_CONTEXTS,
      '/etc/kube/config.yaml': prod,
      '/etc/kube/certs/prod-ca.crt': 'PROD CA',
      '/etc/kube/certs/me.crt': 'MY CERT',
      '/etc/kube/certs/me.key': 'MY KEY',
    }, { KUBECONFIG: '/etc/kube/config.yaml' });
    const conn = loadKubeConnection(d);
    expect(conn.server).toBe('https://prod.example:6443');
    const o = await options(conn);
    expect([String(o.ca), String(o.cert), String(o.key)]).toEqual(['PROD CA', 'MY CERT', 'MY KEY']);
  });

  it('merges several KUBECONFIG files: the first to define a name or the current context wins; missing files are skipped', async () => {
    const first = `
current-context: ci
contexts:
- name: ci
  context: { cluster: shared, user: robot }
users:
- name: robot
  user: { token: first-token }
`;
    const second = `
current-context: other
clusters:
- name: shared
  cluster: { server: 'https://shared.example', insecure-skip-tls-verify: true, tls-server-name: api.internal }
users:
- name: robot
  user: { token: second-token }
`;
    const { d } = deps({ '/a': first, '/b': second }, { KUBECONFIG: '/missing:/a:/b' });
    const conn = loadKubeConnection(d);
    expect(conn.server).toBe('https://shared.example');
    const o = await options(conn);
    expect(o.headers).toEqual({ Authorization: 'Bearer first-token' });
    expect(o.rejectUnauthorized).toBe(false);
    expect(o.servername).toBe('api.internal');
  });

  it('re-reads a tokenFile once a minute, so a rotated token is picked up', async () => {
    const cfg = `
current-context: c
contexts: [{ name: c, context: { cluster: k, user: u } }]
clusters: [{ name: k, cluster: { server: 'https://k' } }]
users: [{ name: u, user: { tokenFile: /var/token } }]
`;
    const h = deps({ '/cfg': cfg, '/var/token': 'one\n' }, { KUBECONFIG: '/cfg' });
    const conn = loadKubeConnection(h.d);
    expect((await options(conn)).headers).toEqual({ Authorization: 'Bearer one' });
    h.files['/var/token'] = 'two';
    h.advance(30_000);
    expect((await options(conn)).headers).toEqual({ Authorization: 'Bearer one' });
    h.advance(30_000);
    expect((await options(conn)).headers).toEqual({ Authorization: 'Bearer two' });
  });

  it('runs an exec credential plugin with its args and env, and again only when its token nears expiry', async () => {
    const cfg = `
current-context: eks
contexts: [{ name: eks, context: { cluster: eks, user: eks } }]
clusters: [{ name: eks, cluster: { server: 'https://eks.example' } }]
users:
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
      env: [{ name: AWS_PROFILE, value: ops }]
`;
    const h = deps({ '/cfg': cfg }, { KUBECONFIG: '/cfg', PATH: '/usr/bin' });
    const conn = loadKubeConnection(h.d);
    expect((await options(conn)).headers).toEqual({ Authorization: 'Bearer exec-token-1' });
    expect(h.execs[0]).toMatchObject({ command: 'aws', args: ['eks', 'get-token', '--cluster-name', 'prod'] });
    expect(h.execs[0]?.env).toMatchObject({ AWS_PROFILE: 'ops', PATH: '/usr/bin' });
    expect(JSON.parse(h.execs[0]?.env.KUBERNETES_EXEC_INFO ?? '{}')).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential' });
    h.advance(10 * 60_000);
    expect((await options(conn)).headers).toEqual({ Authorization: 'Bearer exec-token-1' });
    // Within a minute of expiry: run again.
    h.advance(4 * 60_000 + 1);
    expect((await options(conn)).headers).toEqual({ Authorization: 'Bearer exec-token-2' });
    expect(h.execs).toHaveLength(2);
  });

  it('refuses what it cannot do with a message that says what is wrong', () => {
    const base = (user: string, cluster = "{ server: 'https://k' }") => `
current-context: c
contexts: [{ name: c, context: { cluster: k, user: u } }]
clusters: [{ name: k, cluster: ${cluster} }]
users: [{ name: u, user: ${user} }]
`;
    const load = (text: string) => loadKubeConnection(deps({ '/cfg': text }, { KUBECONFIG: '/cfg' }).d);
    expect(() => load(base('{ auth-provider: { name: oidc } }'))).toThrow(/auth-provider/);
    expect(() => load(base('{ token: t }', "{ server: 'https://k', proxy-url: 'http://proxy' }"))).toThrow(/proxy-url/);
    expect(() => load(base(`{ client-certificate-data: ${b64('C')} }`))).toThrow(/without its key/);
    expect(() => load(base('{ token: t }').replace('current-context: c', 'current-context: nope'))).toThrow(/"nope" is not among its contexts/);
    expect(() => load('current-context: [unclosed')).toThrow(KubeconfigError);
    expect(() => loadKubeConnection(deps({}, { KUBECONFIG: '/a:/b' }).d)).toThrow(/none of the files in KUBECONFIG exists/);
  });
});

describe('loadKubeConnection: in cluster', () => {
  const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

  it('uses the service account token and CA and the service address', async () => {
    const h = deps({ [`${SA}/token`]: 'sa-token', [`${SA}/ca.crt`]: 'CLUSTER CA', [`${SA}/namespace`]: 'infra-operator-system\n' },
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' });
    const conn = loadKubeConnection(h.d);
    expect(conn.server).toBe('https://10.96.0.1:443');
    expect(conn.namespace).toBe('infra-operator-system');
    const o = await options(conn);
    expect(String(o.ca)).toBe('CLUSTER CA');
    expect(o.headers).toEqual({ Authorization: 'Bearer sa-token' });
    // The kubelet rotates the projected token: read again after a minute.
    h.files[`${SA}/token`] = 'rotated';
    h.advance(60_000);
    expect((await options(conn)).headers).toEqual({ Authorization: 'Bearer rotated' });
  });

  it('brackets an IPv6 service address; with nothing configured, says what is missing', () => {
    const h = deps({ [`${SA}/token`]: 't', [`${SA}/ca.crt`]: 'CA' }, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' });
    expect(loadKubeConnection(h.d).server).toBe('https://[fd00::1]:6443');
    expect(() => loadKubeConnection(deps({}).d)).toThrow(/no kubeconfig: set KUBECONFIG/);
  });

  it('a kubeconfig file is preferred to the service account (the order the operator always used)', () => {
    const h = deps({ '/home/me/.kube/config': TWO_CONTEXTS, [`${SA}/token`]: 't', [`${SA}/ca.crt`]: 'CA' }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    expect(loadKubeConnection(h.d).server).toBe('https://dev.example:6443');
  });
});
