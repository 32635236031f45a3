/**
 * The operator's configuration: every flag, its environment variable and its default, in one table.
 * main.ts parses it once into a typed object; nothing else reads process.env for configuration.
 */

export interface Config {
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  maxConcurrentReconciles: number;
  syncPeriodMs: number;
  /** The sync period of objects whose AWSProvider's event queue (spec.events.queueURL) is read. */
  syncPeriodWithEventsMs: number;
  providerVerifyPeriodMs: number;
  secretPollPeriodMs: number;
  watchNamespace: string | undefined;
  logLevel: string;
  awsRequestsPerSecond: number;
  awsBurst: number;
  awsOperationRateLimits: boolean;
  shutdownTimeoutMs: number;
  /** Whether AWSProvider.spec.endpoint may be used at all. */
  allowCustomEndpoints: boolean;
  /** Namespaces whose providers may act as the operator's own identity; '*' is every namespace. */
  ambientIdentityNamespaces: '*' | string[];
  /** Prefix of the ownership tag's value, so that two clusters never take over each other's repositories. */
  clusterName: string | undefined;
  /** How long before they expire temporary AWS credentials are renewed. */
  credentialRefreshMarginMs: number;
}

type Kind = 'string' | 'bool' | 'int' | 'duration' | 'number' | 'namespaces' | 'clusterName';

interface FlagSpec {
  flag: string;
  env: string;
  key: keyof Config;
  kind: Kind;
  default: string;
  help: string;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export const FLAGS: readonly FlagSpec[] = [
  { flag: 'metrics-bind-address', env: 'METRICS_BIND_ADDRESS', key: 'metricsBindAddress', kind: 'string', default: ':8080', help: 'address of the Prometheus /metrics endpoint ("0" disables it)' },
  { flag: 'health-probe-bind-address', env: 'HEALTH_PROBE_BIND_ADDRESS', key: 'healthProbeBindAddress', kind: 'string', default: ':8081', help: 'address of /healthz and /readyz ("0" disables them)' },
  { flag: 'leader-elect', env: 'LEADER_ELECT', key: 'leaderElect', kind: 'bool', default: 'false', help: 'elect a leader on a coordination.k8s.io/v1 Lease; only the leader reconciles' },
  { flag: 'leader-election-namespace', env: 'LEADER_ELECTION_NAMESPACE', key: 'leaderElectionNamespace', kind: 'string', default: 'infra-operator-system', help: 'namespace of the leader election Lease (defaults to POD_NAMESPACE when set)' },
  { flag: 'leader-election-id', env: 'LEADER_ELECTION_ID', key: 'leaderElectionId', kind: 'string', default: 'infra-operator.aws-infra-operator.runner.codes', help: 'name of the leader election Lease' },
  { flag: 'max-concurrent-reconciles', env: 'MAX_CONCURRENT_RECONCILES', key: 'maxConcurrentReconciles', kind: 'int', default: '10', help: 'reconciles run at once per controller' },
  { flag: 'sync-period', env: 'SYNC_PERIOD', key: 'syncPeriodMs', kind: 'duration', default: '10m', help: 'how often every ECRRepository is compared with AWS to find and revert drift' },
  { flag: 'sync-period-with-events', env: 'SYNC_PERIOD_WITH_EVENTS', key: 'syncPeriodWithEventsMs', kind: 'duration', default: '6h', help: "sync period of the objects whose AWSProvider names an event queue (spec.events.queueURL) that the operator reads: ECR's events bring drift and pushes within seconds, so the sweep is a safety net; when the queue cannot be read (condition EventsReady=False) --sync-period applies (docs/events.md)" },
  { flag: 'provider-verify-period', env: 'PROVIDER_VERIFY_PERIOD', key: 'providerVerifyPeriodMs', kind: 'duration', default: '5m', help: 'how often AWSProvider credentials are verified again with sts:GetCallerIdentity' },
  { flag: 'secret-poll-period', env: 'SECRET_POLL_PERIOD', key: 'secretPollPeriodMs', kind: 'duration', default: '30s', help: 'how often the Secrets an AWSProvider references are read again to pick up rotated keys' },
  { flag: 'watch-namespace', env: 'WATCH_NAMESPACE', key: 'watchNamespace', kind: 'string', default: '', help: 'namespace to watch (empty: all namespaces)' },
  { flag: 'log-level', env: 'LOG_LEVEL', key: 'logLevel', kind: 'string', default: 'info', help: `log level: ${LOG_LEVELS.join(', ')}` },
  { flag: 'aws-requests-per-second', env: 'AWS_REQUESTS_PER_SECOND', key: 'awsRequestsPerSecond', kind: 'number', default: '20', help: 'client-side AWS request rate per account' },
  { flag: 'aws-operation-rate-limits', env: 'AWS_OPERATION_RATE_LIMITS', key: 'awsOperationRateLimits', kind: 'bool', default: 'true', help: 'also pace each ECR operation under its own rate (10/s for changes, 20/s for reads), within --aws-requests-per-second' },
  { flag: 'aws-burst', env: 'AWS_BURST', key: 'awsBurst', kind: 'int', default: '40', help: 'client-side AWS request burst per account' },
  { flag: 'shutdown-timeout', env: 'SHUTDOWN_TIMEOUT', key: 'shutdownTimeoutMs', kind: 'duration', default: '30s', help: 'how long SIGTERM waits for in-flight reconciles' },
  { flag: 'allow-custom-endpoints', env: 'ALLOW_CUSTOM_ENDPOINTS', key: 'allowCustomEndpoints', kind: 'bool', default: 'false', help: "allow AWSProvider.spec.endpoint (for LocalStack, moto); never with the operator's own identity" },
  { flag: 'ambient-identity-namespaces', env: 'AMBIENT_IDENTITY_NAMESPACES', key: 'ambientIdentityNamespaces', kind: 'namespaces', default: '*', help: "comma-separated namespaces whose AWSProviders may use the operator's own identity, or * for all" },
  { flag: 'cluster-name', env: 'CLUSTER_NAME', key: 'clusterName', kind: 'clusterName', default: '', help: 'name of this cluster in the ownership tag (<cluster>/<namespace>/<name>), for several clusters in one AWS account' },
  { flag: 'credential-refresh-margin', env: 'CREDENTIAL_REFRESH_MARGIN', key: 'credentialRefreshMarginMs', kind: 'duration', default: '5m', help: 'how long before they expire temporary AWS credentials are renewed' },
];

const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Characters an ECR tag value accepts, which the cluster name becomes part of. */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:=+@-]{0,99}$/;

export class ConfigError extends Error {}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] as string] ?? 0), 0);
}

function convert(spec: FlagSpec, raw: string, source: string): Config[keyof Config] {
  const fail = (what: string) => new ConfigError(`${source}: ${JSON.stringify(raw)} is not ${what}`);
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'bool':
      if (['true', '1', 'yes'].includes(raw)) return true;
      if (['false', '0', 'no'].includes(raw)) return false;
      throw fail('a boolean (true or false)');
    case 'int': {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1) throw fail('a positive integer');
      return n;
    }
    case 'number': {
      const n = Number(raw);
      if (!Number.isFinite(n) || n <= 0) throw fail('a positive number');
      return n;
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined || ms <= 0) throw fail('a duration such as 30s, 10m or 1h30m');
      return ms;
    }
    case 'namespaces':
      return parseNamespaces(raw, fail);
    case 'clusterName': {
      const trimmed = raw.trim();
      if (trimmed === '') return undefined;
      if (!CLUSTER_NAME.test(trimmed)) throw fail('a cluster name: 1 to 100 letters, digits and _.:=+@- (it becomes part of an AWS tag value)');
      return trimmed;
    }
  }
}

function parseNamespaces(raw: string, fail: (what: string) => ConfigError): '*' | string[] {
  const items = raw.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (items.includes('*')) {
    if (items.length > 1) throw fail('either * or a list of namespaces, not both');
    return '*';
  }
  const bad = items.find((n) => !NAMESPACE_NAME.test(n));
  if (bad !== undefined) throw fail(`a comma-separated list of namespace names (${JSON.stringify(bad)} is not one) or *`);
  return [...new Set(items)];
}

export type ParseOutcome = { help: true } | { help: false; config: Config };

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParseOutcome {
  const values = new Map<keyof Config, Config[keyof Config]>();
  for (const spec of FLAGS) {
    const fromEnv = env[spec.env];
    values.set(spec.key, convert(spec, fromEnv ?? spec.default, fromEnv === undefined ? `default of --${spec.flag}` : spec.env));
  }
  if (env.POD_NAMESPACE && env.LEADER_ELECTION_NAMESPACE === undefined) values.set('leaderElectionNamespace', env.POD_NAMESPACE);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return { help: true };
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const spec = match && FLAGS.find((f) => f.flag === match[1]);
    if (!match || !spec) throw new ConfigError(`unknown flag ${arg} (see --help)`);
    let raw = match[2];
    if (raw === undefined) {
      if (spec.kind === 'bool') raw = 'true';
      else {
        raw = argv[++i];
        if (raw === undefined) throw new ConfigError(`--${spec.flag} needs a value`);
      }
    }
    values.set(spec.key, convert(spec, raw, `--${spec.flag}`));
  }

  const config = Object.fromEntries(values) as unknown as Config;
  if (config.watchNamespace === '') config.watchNamespace = undefined;
  if (!LOG_LEVELS.includes(config.logLevel)) throw new ConfigError(`--log-level: ${config.logLevel} is not one of ${LOG_LEVELS.join(', ')}`);
  return { help: false, config };
}

export function helpText(): string {
  const lines = FLAGS.map((f) => `  --${f.flag.padEnd(28)} ${f.help}\n  ${' '.repeat(30)} env ${f.env}, default ${JSON.stringify(f.default)}`);
  return `infra-operator: manages Amazon ECR repositories declared as Kubernetes resources.

Usage: infra-operator [flags]

Kubernetes access comes from KUBECONFIG, ~/.kube/config or the in-cluster service account;
AWS base credentials from the SDK's default chain (IRSA included); AWS_ENDPOINT_URL points
ECR and STS at an AWS-compatible endpoint when a provider sets none. In a cluster shared by
several teams, run with --ambient-identity-namespaces naming the platform's namespaces and
without --allow-custom-endpoints (see docs/security.md).

Flags (each also read from the environment variable shown):
${lines.join('\n')}
  --help                         this text
`;
}
