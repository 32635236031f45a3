import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Certificates and keys of the local control plane, generated with openssl under `dir`. */
export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountPublicKey: string;
  serviceAccountSigningKey: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed (openssl is required for the local control plane): ${String(err)}`);
  }
}

function issue(dir: string, name: string, subject: string, extensions: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '365', '-extfile', `${name}.ext`, '-out', `${name}.crt`],
    dir,
  );
}

/** Issues a client certificate for `user` in `groups`, signed by the local CA. */
export function issueClientCert(dir: string, name: string, user: string, groups: string[]): { cert: string; key: string } {
  const subject = groups.map((g) => `/O=${g}`).join('') + `/CN=${user}`;
  issue(dir, name, subject, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n');
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

export function createPki(dir: string): Pki {
  const file = (n: string) => path.join(dir, n);
  if (!existsSync(file('ca.crt'))) {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
    openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=infra-operator-local-ca', '-days', '3650', '-out', 'ca.crt'], dir);
    issue(dir, 'serving', '/CN=kube-apiserver',
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
    issueClientCert(dir, 'admin', 'admin', ['system:masters']);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    writeFileSync(file('sa.pub'), publicKey);
    writeFileSync(file('sa.key'), privateKey, { mode: 0o600 });
  }
  return {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    servingCert: file('serving.crt'),
    servingKey: file('serving.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    serviceAccountPublicKey: file('sa.pub'),
    serviceAccountSigningKey: file('sa.key'),
  };
}

export function kubeconfigYaml(server: string, caCert: string, auth: { cert: string; key: string } | { token: string }, user = 'admin'): string {
  const credentials = 'token' in auth
    ? `    token: ${auth.token}\n`
    : `    client-certificate: ${auth.cert}\n    client-key: ${auth.key}\n`;
  return `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${server}
    certificate-authority: ${caCert}
users:
- name: ${user}
  user:
${credentials}contexts:
- name: local
  context:
    cluster: local
    user: ${user}
    namespace: default
current-context: local
`;
}
