import { describe, expect, it } from 'vitest';
import { ConfigError, helpText, parseConfig, parseDuration } from '../../src/config.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out = parseConfig(argv, env);
  if (out.help) throw new Error('unexpected help');
  return out.config;
}

describe('parseConfig', () => {
  it('has the documented defaults', () => {
    const c = config([]);
    expect(c.metricsBindAddress).toBe(':8080');
    expect(c.healthProbeBindAddress).toBe(':8081');
    expect(c.leaderElect).toBe(false);
    expect(c.syncPeriodMs).toBe(600_000);
    expect(c.watchNamespace).toBeUndefined();
    expect(c.logLevel).toBe('info');
  });

  it('reads flags in both spellings, and flags win over the environment', () => {
    const c = config(['--leader-elect', '--sync-period=30s', '--max-concurrent-reconciles', '3'], { SYNC_PERIOD: '1h', WATCH_NAMESPACE: 'team-a' });
    expect(c.leaderElect).toBe(true);
    expect(c.syncPeriodMs).toBe(30_000);
    expect(c.maxConcurrentReconciles).toBe(3);
    expect(c.watchNamespace).toBe('team-a');
  });

  it('takes the lease namespace from POD_NAMESPACE', () => {
    expect(config([], { POD_NAMESPACE: 'ops' }).leaderElectionNamespace).toBe('ops');
  });

  it.each([
    [['--sync-period=soon'], /--sync-period.*duration/],
    [['--max-concurrent-reconciles=0'], /positive integer/],
    [['--leader-elect=maybe'], /boolean/],
    [['--log-level=loud'], /log-level/],
    [['--no-such-flag'], /unknown flag --no-such-flag/],
    [['--watch-namespace'], /needs a value/],
  ])('rejects %j with a message naming the flag', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(ConfigError);
    expect(() => parseConfig(argv, {})).toThrow(message);
  });

  it('names the environment variable when the bad value came from there', () => {
    expect(() => parseConfig([], { AWS_REQUESTS_PER_SECOND: '-1' })).toThrow(/AWS_REQUESTS_PER_SECOND/);
  });

  it('has safe tenancy defaults: no custom endpoints, ambient identity everywhere (single team), no cluster name', () => {
    const c = config([]);
    expect(c.allowCustomEndpoints).toBe(false);
    expect(c.ambientIdentityNamespaces).toBe('*');
    expect(c.clusterName).toBeUndefined();
    expect(c.credentialRefreshMarginMs).toBe(300_000);
  });

  it('reads the tenancy flags and their environment variables', () => {
    expect(config(['--allow-custom-endpoints']).allowCustomEndpoints).toBe(true);
    expect(config([], { ALLOW_CUSTOM_ENDPOINTS: 'true' }).allowCustomEndpoints).toBe(true);
    expect(config(['--allow-custom-endpoints=false'], { ALLOW_CUSTOM_ENDPOINTS: 'true' }).allowCustomEndpoints).toBe(false);
    expect(config(['--ambient-identity-namespaces=platform, infra-operator-system,platform']).ambientIdentityNamespaces).toEqual(['platform', 'infra-operator-system']);
    expect(config([], { AMBIENT_IDENTITY_NAMESPACES: '' }).ambientIdentityNamespaces).toEqual([]);
    expect(config([], { AMBIENT_IDENTITY_NAMESPACES: '*' }).ambientIdentityNamespaces).toBe('*');
    expect(config(['--cluster-name', 'prod-eu-1']).clusterName).toBe('prod-eu-1');
    expect(config([], { CLUSTER_NAME: 'staging' }).clusterName).toBe('staging');
    expect(config(['--credential-refresh-margin=59m50s']).credentialRefreshMarginMs).toBe(3_590_000);
  });

  it.each([
    [['--ambient-identity-namespaces=*,team-a'], /--ambient-identity-namespaces.*either \* or a list/],
    [['--ambient-identity-namespaces=Team_A'], /"Team_A" is not one/],
    [['--cluster-name=has space'], /--cluster-name.*cluster name/],
    [['--cluster-name=a~b'], /--cluster-name/],
  ])('rejects the tenancy value %j', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(message);
  });

  it('answers --help', () => {
    expect(parseConfig(['--help'], {})).toEqual({ help: true });
    expect(helpText()).toContain('--sync-period');
    expect(helpText()).toContain('env SYNC_PERIOD');
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 'm', '1d', '10m ', 'ten minutes'])('%j is not a duration', (text) => expect(parseDuration(text)).toBeUndefined());
});
