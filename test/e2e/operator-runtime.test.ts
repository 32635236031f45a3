import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl, eventually } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { freshNamespace, installCrds, staticProviderYaml, waitForReady } from './support/scenario.js';

// The operator process as a whole: two replicas with leader election, no reconcile loop on its own
// status writes, and metrics under controller-runtime's names with real values.

function repositoryYaml(ns: string, name: string): string {
  return `apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRRepository
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  providerRef:
    name: aws
  repositoryName: ${ns}/${name}
  deletionPolicy: Delete
`;
}

function reconcilesOf(operator: OperatorProcess, ns: string, name: string): number {
  return operator.logLines().filter((l) => l.msg === 'reconciled' && l.controller === 'ecrrepository' && l.namespace === ns && l.name === name).length;
}

describe('operator process', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  let ns: string;
  let saKubeconfig: string;
  const running: OperatorProcess[] = [];

  beforeAll(async () => {
    await installCrds(kubectl);
    saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    ns = await freshNamespace(kubectl, 'runtime');
    await kubectl.apply(staticProviderYaml(ns, 'aws'));
  });

  afterAll(async () => {
    for (const o of running) await o.stop();
  });

  it('reconciles an idle object once: its own status writes and unrelated metadata changes enqueue nothing', async () => {
    const operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--watch-namespace=${ns}`, '--sync-period=1h'] });
    running.push(operator);
    await kubectl.apply(repositoryYaml(ns, 'idle'));
    await waitForReady(kubectl, 'ecrrepository', ns, 'idle');
    await new Promise((r) => setTimeout(r, 2000));
    const settled = reconcilesOf(operator, ns, 'idle');
    expect(settled).toBeGreaterThanOrEqual(1);

    await kubectl.ok(['label', 'ecrrepository', 'idle', '-n', ns, 'team=platform']);
    await kubectl.ok(['annotate', 'ecrrepository', 'idle', '-n', ns, 'note=unrelated']);
    await new Promise((r) => setTimeout(r, 10_000));
    expect(reconcilesOf(operator, ns, 'idle')).toBe(settled);

    await kubectl.ok(['annotate', 'ecrrepository', 'idle', '-n', ns, `force-sync=${Date.now()}`, '--overwrite']);
    await eventually('the force-sync reconcile', async () => (reconcilesOf(operator, ns, 'idle') === settled + 1 ? true : undefined), 15_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(reconcilesOf(operator, ns, 'idle')).toBe(settled + 1);

    // Setting the adopt annotation is a user's request too: one reconcile.
    await kubectl.ok(['annotate', 'ecrrepository', 'idle', '-n', ns, 'aws-infra-operator.runner.codes/adopt=true']);
    await eventually('the adopt reconcile', async () => (reconcilesOf(operator, ns, 'idle') === settled + 2 ? true : undefined), 15_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(reconcilesOf(operator, ns, 'idle')).toBe(settled + 2);
    await operator.stop();
    running.pop();
  });

  it('exposes controller-runtime metrics with real values', async () => {
    const operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--watch-namespace=${ns}`, '--max-concurrent-reconciles=7'] });
    running.push(operator);
    await waitForReady(kubectl, 'ecrrepository', ns, 'idle');
    await eventually('a reconcile to be counted', async () =>
      (await operator.metricValue('controller_runtime_reconcile_total', { controller: 'ecrrepository', result: 'success' })) > 0 || undefined);
    const text = await operator.metrics();
    for (const name of [
      'controller_runtime_reconcile_total', 'controller_runtime_reconcile_errors_total', 'controller_runtime_reconcile_time_seconds_bucket',
      'controller_runtime_max_concurrent_reconciles', 'controller_runtime_active_workers', 'workqueue_depth', 'workqueue_adds_total',
      'workqueue_retries_total', 'workqueue_queue_duration_seconds_bucket', 'workqueue_work_duration_seconds_bucket',
      'leader_election_master_status', 'aws_api_calls_total', 'aws_api_call_duration_seconds_bucket', 'process_resident_memory_bytes',
    ]) expect(text, name).toContain(`${name}`);
    expect(await operator.metricValue('controller_runtime_max_concurrent_reconciles', { controller: 'ecrrepository' })).toBe(7);
    expect(await operator.metricValue('workqueue_adds_total', { name: 'ecrrepository' })).toBeGreaterThan(0);
    expect(await operator.metricValue('aws_api_calls_total', { service: 'ECR', operation: 'DescribeRepositories', outcome: 'success' })).toBeGreaterThan(0);
    expect(await operator.metricValue('controller_runtime_reconcile_time_seconds_count', { controller: 'ecrrepository' })).toBeGreaterThan(0);
    expect((await fetch(`${operator.probeUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${operator.probeUrl}/readyz`)).status).toBe(200);
    await operator.stop();
    running.pop();
  });

  it('runs two replicas with leader election: only the leader reconciles, and after kill -9 the other takes over within 20 s', async () => {
    const args = ['--leader-elect', `--leader-election-namespace=${ns}`, '--leader-election-id=ha-test', `--watch-namespace=${ns}`];
    await kubectl.ok(['create', 'role', 'lease-access', '-n', ns, '--verb=get,create,update', '--resource=leases.coordination.k8s.io']);
    await kubectl.ok(['create', 'rolebinding', 'lease-access', '-n', ns, '--role=lease-access', '--serviceaccount=infra-operator-system:infra-operator-controller-manager']);
    const a = await startOperator(env, { kubeconfig: saKubeconfig, args });
    const b = await startOperator(env, { kubeconfig: saKubeconfig, args });
    running.push(a, b);
    await kubectl.apply(repositoryYaml(ns, 'ha-one'));
    await waitForReady(kubectl, 'ecrrepository', ns, 'ha-one');

    const leading = async (o: OperatorProcess) => (await o.metricValue('leader_election_master_status')) === 1;
    const [aLeads, bLeads] = [await leading(a), await leading(b)];
    expect(aLeads !== bLeads).toBe(true);
    const [leader, follower] = aLeads ? [a, b] : [b, a];
    expect(await follower.metricValue('controller_runtime_reconcile_total', { controller: 'ecrrepository' })).toBe(0);
    expect(await leader.metricValue('controller_runtime_reconcile_total', { controller: 'ecrrepository' })).toBeGreaterThan(0);
    // The standby shows its controllers' series at zero (dashboards see 0, not "no data") and holds
    // no work queue: no workqueue series exist for its controllers.
    const standby = await follower.metrics();
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      expect(standby).toContain(`controller_runtime_reconcile_total{controller="ecrrepository",result="${result}"} 0`);
    }
    expect(standby).toContain('controller_runtime_reconcile_errors_total{controller="ecrrepository"} 0');
    expect(standby).not.toContain('workqueue_depth{name="ecrrepository"}');
    expect(standby).not.toContain('workqueue_adds_total{name="awsprovider"}');

    leader.kill9();
    const killedAt = Date.now();
    await eventually('the follower to take the lease', async () => ((await leading(follower)) ? true : undefined), 30_000, 100);
    const takeoverMs = Date.now() - killedAt;
    console.log(`leader takeover after kill -9: ${(takeoverMs / 1000).toFixed(1)} s`);
    expect(takeoverMs).toBeLessThanOrEqual(20_000);

    await kubectl.apply(repositoryYaml(ns, 'ha-two'));
    await waitForReady(kubectl, 'ecrrepository', ns, 'ha-two');
    expect(await follower.metricValue('controller_runtime_reconcile_total', { controller: 'ecrrepository' })).toBeGreaterThan(0);
  });

  it('a leader stopped with SIGTERM while 200 creates are in flight: the successor finishes them, and no repository is created by both', async () => {
    const hand = await freshNamespace(kubectl, 'handover');
    await kubectl.apply(staticProviderYaml(hand, 'aws'));
    await kubectl.ok(['create', 'role', 'lease-access', '-n', hand, '--verb=get,create,update', '--resource=leases.coordination.k8s.io']);
    await kubectl.ok(['create', 'rolebinding', 'lease-access', '-n', hand, '--role=lease-access', '--serviceaccount=infra-operator-system:infra-operator-controller-manager']);
    const args = ['--leader-elect', `--leader-election-namespace=${hand}`, '--leader-election-id=handover', `--watch-namespace=${hand}`];
    // Each process tells the AWS layer who it is through the SDK's app id.
    const first = await startOperator(env, { kubeconfig: saKubeconfig, args, env: { AWS_SDK_UA_APP_ID: 'first' } });
    running.push(first);
    await waitForReady(kubectl, 'awsprovider', hand, 'aws');
    const second = await startOperator(env, { kubeconfig: saKubeconfig, args, env: { AWS_SDK_UA_APP_ID: 'second' } });
    running.push(second);
    const names = Array.from({ length: 200 }, (_, i) => `handover-${i}`);
    await kubectl.apply(names.map((n) => repositoryYaml(hand, n)).join('---\n'));
    const aws = new AwsCli(env);
    const ours = async () => (await aws.creates()).filter((c) => c.repositoryName.startsWith(`${hand}/`));
    await eventually('creates to be in flight', async () => ((await ours()).length >= 20 ? true : undefined), 60_000, 50);
    const leaderLeads = async (o: typeof first) => (await o.metricValue('leader_election_master_status')) === 1;
    const [leader, successor] = (await leaderLeads(first)) ? [first, second] : [second, first];
    await leader.stop(); // SIGTERM
    await eventually('all 200 Ready', async () => {
      const list = await kubectl.getJson<{ items: Array<{ status?: { ready?: boolean } }> }>(['ecrrepositories', '-n', hand]);
      return list.items.filter((r) => r.status?.ready === true).length === names.length ? true : undefined;
    }, 240_000, 1_000);
    expect(await successor.metricValue('controller_runtime_reconcile_total', { controller: 'ecrrepository' })).toBeGreaterThan(0);
    const creates = await ours();
    const bySender = new Map<string, Set<string>>();
    for (const c of creates) bySender.set(c.repositoryName, new Set([...(bySender.get(c.repositoryName) ?? []), c.app]));
    const both = [...bySender.entries()].filter(([, apps]) => apps.size > 1).map(([name]) => name);
    console.log(`handover: ${creates.length} CreateRepository for ${names.length} repositories; from both processes: ${both.length}`);
    // Every create is told apart, and both processes created some: the handover happened mid-burst.
    expect(creates.every((c) => c.app === 'first' || c.app === 'second')).toBe(true);
    expect(new Set(creates.map((c) => c.app)).size).toBe(2);
    expect(both).toEqual([]);
    await kubectl.run(['delete', 'ecrrepositories', '--all', '-n', hand, '--wait=false']);
  });
});
