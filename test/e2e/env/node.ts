import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EnvironmentInfo } from './environment.js';
import { issueClientCert, kubeconfigYaml } from './pki.js';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.js';

/**
 * A node of the local environment: containerd 2 with runc and the CNI bridge, a kubelet,
 * kube-proxy and kube-scheduler of the environment's release, registered with its API server. Images come from OCI
 * archives imported into containerd; nothing is pulled. The binaries are built (once, cached by
 * version) by hack/ensure-node.sh, which the tools installation runs before any test starts.
 */

const ENSURE_NODE = fileURLToPath(new URL('../../../hack/ensure-node.sh', import.meta.url));
/** containerd's namespace for the CRI: the images a kubelet sees. */
const K8S_NAMESPACE = 'k8s.io';
/** The pod network of the CNI bridge, and the bridge's own address in it (the pods' gateway). */
export const POD_SUBNET = '10.88.0.0/16';
export const BRIDGE = { name: 'cni0', address: '10.88.0.1', prefix: 16 };

export interface NodeOptions {
  /** Directory for the node's state, configuration and logs. */
  dir: string;
  /**
   * The node's name. `localhost` by default: the API server reaches a kubelet by its hostname
   * address first (kubectl logs, exec), and this kubelet listens on loopback only.
   */
  name?: string;
  /** OCI archives to import into containerd before the kubelet starts. */
  images?: string[];
}

export interface Node {
  name: string;
  binDir: string;
  containerdSocket: string;
  /** `ctr` against this node's containerd, in the CRI's namespace. */
  ctr(args: string[]): string;
  importImage(archive: string): string[];
  /**
   * A URL by which pods reach `url`, a server of this machine on loopback (the AWS layer): a relay
   * on the bridge's address, closed with the node.
   */
  expose(url: string): Promise<string>;
  logs(): { containerd: string; kubelet: string; scheduler: string; proxy: string };
  stop(): Promise<void>;
}

/** The directory of the node's binaries, failing with the reason when hack/ensure-node.sh has not built them. */
export function nodeBinaries(): string {
  const binDir = execFileSync('bash', [ENSURE_NODE, '--bin-dir'], { encoding: 'utf8' }).trim();
  const missing = ['containerd', 'containerd-shim-runc-v2', 'ctr', 'kubelet', 'kube-proxy', 'kube-scheduler', 'pause.tar']
    .filter((f) => !existsSync(path.join(binDir, f)));
  if (missing.length) throw new Error(`the node needs ${missing.join(', ')} in ${binDir}: run \`bash hack/ensure-node.sh\` (the tools installation) first`);
  for (const cmd of ['runc', 'iptables']) {
    try {
      execFileSync('bash', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`the node needs ${cmd}: run \`bash hack/ensure-node.sh\` first`);
    }
  }
  if (!existsSync('/usr/lib/cni/bridge')) throw new Error('the node needs the CNI plugins (/usr/lib/cni/bridge): run `bash hack/ensure-node.sh` first');
  return binDir;
}

function containerdConfig(dir: string, socket: string, runc: string, cniConfDir: string): string {
  // restrict_oom_score_adj: the kubelet asks for a negative OOM score for sandboxes, which a
  // process without CAP_SYS_RESOURCE (as in a container) may not set; runc then fails with
  // "failed to update /proc/self/oom_score_adj: Permission denied".
  return `version = 3
root = "${path.join(dir, 'containerd', 'root')}"
state = "${path.join(dir, 'containerd', 'state')}"
[grpc]
  address = "${socket}"
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
      BinaryName = "${runc}"
      SystemdCgroup = false
[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["/usr/lib/cni"]
  conf_dir = "${cniConfDir}"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
`;
}

function kubeletConfig(socket: string, port: number): string {
  // failCgroupV1: machines that mount cgroup v1 hierarchies (the kubelet refuses them otherwise).
  // The kubelet listens on loopback only; the API server is its only client (logs, exec).
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://${socket}
address: 127.0.0.1
port: ${port}
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
failSwapOn: false
enforceNodeAllocatable: []
imageGCHighThresholdPercent: 100
evictionHard: {}
localStorageCapacityIsolation: false
resolvConf: /etc/resolv.conf
`;
}

function kubeProxyConfig(kubeconfig: string, name: string, healthzPort: number, metricsPort: number): string {
  // conntrack: leave the machine's table sizes alone (a container may not change them).
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: ${kubeconfig}
hostnameOverride: ${name}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:${healthzPort}
metricsBindAddress: 127.0.0.1:${metricsPort}
clusterCIDR: ${POD_SUBNET}
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`;
}

/**
 * The CNI bridge, made before the first pod (the bridge plugin takes it as it is), so that the
 * relay to the API server can listen on its address from the start.
 */
function ensureBridge(): void {
  const ip = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    ip(['link', 'show', BRIDGE.name]);
  } catch {
    ip(['link', 'add', BRIDGE.name, 'type', 'bridge']);
  }
  const addresses = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', BRIDGE.name], { encoding: 'utf8' });
  if (!addresses.includes(` ${BRIDGE.address}/`)) ip(['addr', 'add', `${BRIDGE.address}/${BRIDGE.prefix}`, 'dev', BRIDGE.name]);
  ip(['link', 'set', BRIDGE.name, 'up']);
}

interface Relay {
  port: number;
  close(): Promise<void>;
}

/** A TCP relay from `host` (a free port) to the API server; TLS passes through untouched. */
async function startRelay(host: string, target: URL): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  server.unref();
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the relay to the API server has no port');
  return {
    port: address.port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

export async function startNode(env: EnvironmentInfo, options: NodeOptions): Promise<Node> {
  const binDir = nodeBinaries();
  const name = options.name ?? 'localhost';
  const dir = path.resolve(options.dir);
  const logsDir = path.join(dir, 'logs');
  const cniConfDir = path.join(dir, 'cni');
  for (const d of [logsDir, cniConfDir, path.join(dir, 'kubelet'), path.join(dir, 'containerd')]) mkdirSync(d, { recursive: true });
  const socket = path.join(dir, 'containerd', 'containerd.sock');
  const runc = execFileSync('bash', ['-c', 'command -v runc'], { encoding: 'utf8' }).trim();
  writeFileSync(path.join(dir, 'containerd.toml'), containerdConfig(dir, socket, runc, cniConfDir));
  writeFileSync(path.join(cniConfDir, '10-bridge.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: 'pods',
    // No masquerading and no port maps: pods talk only to each other and to the relays on the
    // bridge, so no rule per pod is left behind. Addresses are kept with the node's own state.
    plugins: [
      { type: 'bridge', bridge: BRIDGE.name, isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: 'host-local', dataDir: path.join(dir, 'cni-ipam'), ranges: [[{ subnet: POD_SUBNET }]], routes: [{ dst: '0.0.0.0/0' }] } },
    ],
  }));

  const processes: ManagedProcess[] = [];
  const envWithBins = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}` };
  const ctrArgs = ['--address', socket, '-n', K8S_NAMESPACE];
  const ctr = (args: string[]) => execFileSync(path.join(binDir, 'ctr'), [...ctrArgs, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = {
    containerd: path.join(logsDir, 'containerd.log'),
    kubelet: path.join(logsDir, 'kubelet.log'),
    scheduler: path.join(logsDir, 'kube-scheduler.log'),
    proxy: path.join(logsDir, 'kube-proxy.log'),
  };
  const tail = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-20).join('\n') : '');

  async function stop(): Promise<void> {
    const kubelet = processes.find((p) => p.name === 'kubelet');
    await kubelet?.stop();
    // The containers outlive the kubelet: stop each task (and so its shim), then containerd.
    try {
      for (const id of ctr(['tasks', 'ls', '-q']).split('\n').filter(Boolean)) {
        try {
          ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
        } catch {
          // already stopped
        }
      }
      await waitFor('the node\'s tasks to stop', async () => ctr(['tasks', 'ls']).split('\n').filter((l) => / RUNNING$/.test(l.trim())).length === 0, 30_000);
      for (const id of ctr(['tasks', 'ls', '-q']).split('\n').filter(Boolean)) ctr(['tasks', 'delete', id]);
    } catch {
      // containerd is already gone
    }
    for (const p of [...processes].reverse()) await p.stop();
    await relay?.close();
    for (const r of exposed) await r.close();
    // kube-proxy's iptables rules and the bridge go with the node.
    if (processes.some((p) => p.name === 'kube-proxy')) {
      try {
        execFileSync(path.join(binDir, 'kube-proxy'), ['--cleanup'], { stdio: 'ignore' });
      } catch {
        // nothing to clean
      }
    }
    try {
      execFileSync('ip', ['link', 'del', BRIDGE.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    // Sandboxes' network namespaces and the overlay mounts of their root file systems.
    try {
      const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
        .filter((m) => m.startsWith(dir + '/')).sort((a, b) => b.length - a.length);
      for (const m of mounts) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // nothing left mounted
    }
  }

  let relay: Relay | undefined;
  const exposed: Relay[] = [];
  try {
    ensureBridge();
    const containerd = startProcess('containerd', path.join(binDir, 'containerd'), ['--config', path.join(dir, 'containerd.toml')], logs.containerd, envWithBins);
    processes.push(containerd);
    await waitFor('containerd', async () => existsSync(socket) && /Server:/.test(execFileSync(path.join(binDir, 'ctr'), ['--address', socket, 'version'], { encoding: 'utf8' })), 60_000,
      () => (containerd.exited() ? `containerd exited:\n${tail(logs.containerd)}` : undefined));

    const importImage = (archive: string): string[] => {
      const out = ctr(['images', 'import', '--no-unpack=false', archive]);
      // An archive names its image as built (`infra-operator:dev`); the kubelet asks for the
      // normalized reference (`docker.io/library/infra-operator:dev`), so both are kept.
      const names = [...out.matchAll(/^(?:unpacking )?(\S+:\S+)\s/gm)].map((m) => m[1] ?? '').filter((n) => !n.startsWith('sha256:'));
      for (const n of ctr(['images', 'ls', '-q']).split('\n').filter((l) => l && !l.startsWith('sha256:') && !l.includes('/'))) {
        const full = `docker.io/library/${n}`;
        if (!ctr(['images', 'ls', '-q']).split('\n').includes(full)) ctr(['images', 'tag', n, full]);
      }
      return names;
    };
    importImage(path.join(binDir, 'pause.tar'));
    for (const archive of options.images ?? []) importImage(archive);

    const certs = path.join(env.dir, 'certs');
    const kubeletCert = issueClientCert(certs, `kubelet-${name}`, `system:node:${name}`, ['system:nodes', 'system:masters']);
    const kubeletKubeconfig = path.join(dir, 'kubelet.kubeconfig');
    writeFileSync(kubeletKubeconfig, kubeconfigYaml(env.apiServerUrl, env.caCert, kubeletCert, `system:node:${name}`), { mode: 0o600 });
    const kubeletPort = await freePort();
    writeFileSync(path.join(dir, 'kubelet.yaml'), kubeletConfig(socket, kubeletPort));
    const kubelet = startProcess('kubelet', path.join(binDir, 'kubelet'), [
      `--config=${path.join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${kubeletKubeconfig}`,
      `--root-dir=${path.join(dir, 'kubelet')}`,
      `--cert-dir=${path.join(dir, 'kubelet', 'pki')}`,
      `--hostname-override=${name}`,
    ], logs.kubelet, envWithBins);
    processes.push(kubelet);

    const schedulerCert = issueClientCert(certs, 'kube-scheduler', 'system:kube-scheduler', ['system:masters']);
    const schedulerKubeconfig = path.join(dir, 'kube-scheduler.kubeconfig');
    writeFileSync(schedulerKubeconfig, kubeconfigYaml(env.apiServerUrl, env.caCert, schedulerCert, 'system:kube-scheduler'), { mode: 0o600 });
    const scheduler = startProcess('kube-scheduler', path.join(binDir, 'kube-scheduler'), [
      `--kubeconfig=${schedulerKubeconfig}`,
      `--authentication-kubeconfig=${schedulerKubeconfig}`,
      `--authorization-kubeconfig=${schedulerKubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
    ], logs.scheduler, envWithBins);
    processes.push(scheduler);

    // The `kubernetes` Service. The API server listens on loopback, and refuses a loopback address
    // as the Service's endpoint; pods reach it instead through a relay on the bridge's address (the
    // pods' gateway, on no other network), named by an EndpointSlice of the Service.
    relay = await startRelay(BRIDGE.address, new URL(env.apiServerUrl));
    execFileSync('kubectl', ['--kubeconfig', env.kubeconfig, 'apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'kubernetes-node',
          namespace: 'default',
          labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'infra-operator-e2e-node' },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: [BRIDGE.address], conditions: { ready: true } }],
        ports: [{ name: 'https', port: relay.port, protocol: 'TCP' }],
      }),
      stdio: ['pipe', 'ignore', 'pipe'],
    });

    // The Service network: kube-proxy's iptables rules on this machine.
    const proxyCert = issueClientCert(certs, 'kube-proxy', 'system:kube-proxy', ['system:node-proxier', 'system:masters']);
    const proxyKubeconfig = path.join(dir, 'kube-proxy.kubeconfig');
    writeFileSync(proxyKubeconfig, kubeconfigYaml(env.apiServerUrl, env.caCert, proxyCert, 'system:kube-proxy'), { mode: 0o600 });
    writeFileSync(path.join(dir, 'kube-proxy.yaml'), kubeProxyConfig(proxyKubeconfig, name, await freePort(), await freePort()));
    const proxy = startProcess('kube-proxy', path.join(binDir, 'kube-proxy'), [`--config=${path.join(dir, 'kube-proxy.yaml')}`], logs.proxy, envWithBins);
    processes.push(proxy);

    // Ready: registered, with the runtime and the CNI network up.
    await waitFor(`node ${name} Ready`, async () => {
      const out = execFileSync('kubectl', ['--kubeconfig', env.kubeconfig, 'get', 'node', name, '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return out.trim() === 'True';
    }, 120_000, () => {
      const dead = processes.find((p) => p.exited());
      return dead ? `${dead.name} exited:\n${tail(dead.logFile)}` : undefined;
    });

    return {
      name,
      binDir,
      containerdSocket: socket,
      ctr,
      importImage,
      async expose(url: string) {
        const target = new URL(url);
        const r = await startRelay(BRIDGE.address, target);
        exposed.push(r);
        return `${target.protocol}//${BRIDGE.address}:${r.port}`;
      },
      logs: () => logs,
      stop,
    };
  } catch (err) {
    await stop();
    const detail = readdirSync(logsDir).map((f) => `--- ${f}\n${tail(path.join(logsDir, f))}`).join('\n');
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${detail}`);
  }
}
