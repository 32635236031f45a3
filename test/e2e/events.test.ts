import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentVariables } from './env/environment.js';
import { sharedEnv } from './support/context.js';
import { AwsCli } from './support/aws.js';
import { Kubectl, eventually, run } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { condition, freshNamespace, installCrds, staticProviderYaml, waitForReady, type Resource } from './support/scenario.js';

// AWS's own events instead of polling, end to end: an EventBridge rule on moto's default bus sends
// ECR's events (the local AWS layer publishes a CloudTrail event for every ECR call it serves) to
// a real SQS queue that the AWSProvider names. Drift made by someone else with awscli is reverted
// within seconds with no force-sync and no sweep; the operator's own writes queue nothing; a deleted
// queue falls back to the sweep at --sync-period, and the queue coming back restores event mode.

const SYNC_SECONDS = 20;
const REVERT_WITHIN_MS = 10_000;

const lifecycle = (count: number) => JSON.stringify({
  rules: [{ rulePriority: 1, description: `Keep last ${count} images`, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: count }, action: { type: 'expire' } }],
});

function sameJson(a: string | undefined, b: string): boolean {
  return a !== undefined && JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
}

describe('events from an SQS queue', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const aws = new AwsCli(env);
  let ns: string;
  let operator: OperatorProcess;
  let queueName: string;
  let queueURL: string;
  let ruleName: string;
  let drifter: { AccessKeyId: string; SecretAccessKey: string };

  /** awscli as another IAM user of the same account: what the operator must not mistake for itself. */
  const asDrifter = async (args: string[]) => {
    const r = await run('aws', [...args, '--output', 'json'], {
      env: { ...process.env, ...environmentVariables(env), AWS_ACCESS_KEY_ID: drifter.AccessKeyId, AWS_SECRET_ACCESS_KEY: drifter.SecretAccessKey },
    });
    if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed: ${r.stderr}`);
  };
  const lifecycleOf = async (name: string) => {
    const r = await aws.attempt(['ecr', 'get-lifecycle-policy', '--repository-name', name]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { lifecyclePolicyText: string }).lifecyclePolicyText : undefined;
  };
  const reconciles = (name: string) => operator.logLines().filter((l) => l.controller === 'ecrrepository' && l.namespace === ns && l.name === name && l.msg === 'reconciled').length;
  /** awscli for the services besides ECR, pointed at the local AWS layer explicitly. */
  const cli = <T = Record<string, unknown>>(args: string[]) => aws.json<T>([...args, '--endpoint-url', env.awsEndpoint]);
  const provider = () => kubectl.getJson<Resource>(['awsprovider', 'aws', '-n', ns]);
  const createQueue = async () => {
    const out = await cli<{ QueueUrl: string }>(['sqs', 'create-queue', '--queue-name', queueName]);
    return out.QueueUrl;
  };
  const operatorPuts = () => operator.metricValue('aws_api_calls_total', { service: 'ECR', operation: 'PutLifecyclePolicy' });
  /**
   * Drift by someone else; the time from the end of their call until the declared policy is back,
   * written by the operator (its PutLifecyclePolicy count moved: the revert is often done before
   * awscli could read the drifted policy back).
   */
  const driftAndTimeRevert = async (repositoryName: string, declared: string, timeoutMs: number) => {
    const puts = await operatorPuts();
    await asDrifter(['ecr', 'put-lifecycle-policy', '--repository-name', repositoryName, '--lifecycle-policy-text', lifecycle(99)]);
    const started = Date.now();
    await eventually('the declared lifecycle policy back, written by the operator', async () =>
      (await operatorPuts()) > puts && sameJson(await lifecycleOf(repositoryName), declared) ? true : undefined, timeoutMs, 100);
    return Date.now() - started;
  };

  beforeAll(async () => {
    await installCrds(kubectl);
    const saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    ns = await freshNamespace(kubectl, 'events');
    queueName = `ecr-events-${ns}`;
    ruleName = `ecr-to-sqs-${ns}`;
    queueURL = await createQueue();
    const { Attributes } = await cli<{ Attributes: { QueueArn: string } }>(['sqs', 'get-queue-attributes', '--queue-url', queueURL, '--attribute-names', 'QueueArn']);
    await cli(['events', 'put-rule', '--name', ruleName, '--event-pattern', JSON.stringify({ source: ['aws.ecr'] })]);
    await cli(['events', 'put-targets', '--rule', ruleName, '--targets', JSON.stringify([{ Id: 'operator-queue', Arn: Attributes.QueueArn }])]);
    await cli(['iam', 'create-user', '--user-name', `drifter-${ns}`]);
    drifter = (await cli<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(['iam', 'create-access-key', '--user-name', `drifter-${ns}`])).AccessKey;

    await kubectl.apply(`${staticProviderYaml(ns, 'aws')}  events:\n    queueURL: ${queueURL}\n`);
    operator = await startOperator(env, { kubeconfig: saKubeconfig, args: [`--sync-period=${SYNC_SECONDS}s`, '--sync-period-with-events=6h', '--secret-poll-period=2s'] });
    await waitForReady(kubectl, 'awsprovider', ns, 'aws');
  });

  afterAll(async () => {
    await operator?.stop();
    await aws.attempt(['events', 'remove-targets', '--rule', ruleName, '--ids', 'operator-queue', '--endpoint-url', env.awsEndpoint]);
    await aws.attempt(['events', 'delete-rule', '--name', ruleName, '--endpoint-url', env.awsEndpoint]);
    if (queueURL) await aws.attempt(['sqs', 'delete-queue', '--queue-url', queueURL, '--endpoint-url', env.awsEndpoint]);
  });

  it('the provider reports EventsReady=True and event mode with the longer sync period', async () => {
    const p = await eventually('EventsReady=True', async () => {
      const obj = await provider();
      return condition(obj, 'EventsReady')?.status === 'True' ? obj : undefined;
    }, 60_000);
    expect(condition(p, 'EventsReady')).toMatchObject({ reason: 'QueueReadable' });
    expect(p.status?.events).toEqual({ mode: 'Events', queueURL, syncPeriod: '6h0m0s' });
  });

  it("reverts drift made with awscli within 10 s, with no force-sync and no sweep; the operator's own writes cause no reconcile", async () => {
    const repositoryName = `${ns}/app`;
    const declared = lifecycle(10);
    await kubectl.apply(`apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRRepository
metadata:
  name: app
  namespace: ${ns}
spec:
  providerRef:
    name: aws
  repositoryName: ${repositoryName}
  lifecyclePolicy:
    policyText: '${declared}'
  deletionPolicy: Delete
`);
    await waitForReady(kubectl, 'ecrrepository', ns, 'app');
    const ownCallsBefore = await operator.metricValue('infra_operator_queue_events_total', { outcome: 'own_call' });
    const settled = reconciles('app');
    // Longer than a sync period: the sweep skips an object in event mode, and the CloudTrail events
    // of the operator's own CreateRepository and PutLifecyclePolicy queue nothing.
    await new Promise((r) => setTimeout(r, (SYNC_SECONDS + 5) * 1000));
    const quiet = reconciles('app') - settled;
    console.log(`reconciles of the repository in ${SYNC_SECONDS + 5} s at rest after its create: ${quiet}; own-call events ignored so far: ${await operator.metricValue('infra_operator_queue_events_total', { outcome: 'own_call' })}`);
    expect(quiet).toBe(0);
    expect(await operator.metricValue('infra_operator_queue_events_total', { outcome: 'own_call' })).toBeGreaterThanOrEqual(ownCallsBefore);
    expect(await operator.metricValue('infra_operator_queue_events_total', { outcome: 'own_call' })).toBeGreaterThan(0);

    const before = reconciles('app');
    const tookMs = await driftAndTimeRevert(repositoryName, declared, REVERT_WITHIN_MS);
    console.log(`drift made with awscli reverted by an event in ${tookMs} ms`);
    expect(tookMs).toBeLessThan(REVERT_WITHIN_MS);
    const obj = await kubectl.getJson<Resource>(['ecrrepository', 'app', '-n', ns]);
    expect(obj.metadata.annotations?.['force-sync']).toBeUndefined();
    // The revert itself is the operator's own write: its event queues nothing more.
    await new Promise((r) => setTimeout(r, 3_000));
    const after = reconciles('app') - before;
    console.log(`reconciles for one drift: ${after}`);
    expect(after).toBe(1);
  });

  it('an image put through ECR\'s API is counted in imageCount within 10 s, from the push event', async () => {
    const digest = `sha256:${'1'.padStart(64, '0')}`;
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1, digest },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1, digest }],
    });
    const before = (await kubectl.getJson<Resource>(['ecrrepository', 'app', '-n', ns])).status?.imageCount ?? 0;
    await asDrifter(['ecr', 'put-image', '--repository-name', `${ns}/app`, '--image-manifest', manifest, '--image-tag', 'v1']);
    const started = Date.now();
    await eventually('imageCount to count the pushed image', async () => {
      const obj = await kubectl.getJson<Resource>(['ecrrepository', 'app', '-n', ns]);
      return obj.status?.imageCount === Number(before) + 1 ? obj : undefined;
    }, REVERT_WITHIN_MS, 200);
    console.log(`image counted in imageCount ${Date.now() - started} ms after the push`);
  });

  it('a deleted queue: EventsReady=False and polling; drift is reverted by the sweep; the queue back restores event mode', async () => {
    const repositoryName = `${ns}/app`;
    const declared = lifecycle(10);
    await cli(['sqs', 'delete-queue', '--queue-url', queueURL]);
    const down = await eventually('EventsReady=False', async () => {
      const obj = await provider();
      return condition(obj, 'EventsReady')?.status === 'False' ? obj : undefined;
    }, 60_000);
    expect(condition(down, 'EventsReady')?.reason).toBe('QueueNotFound');
    expect(down.status?.events).toEqual({ mode: 'Polling', queueURL, syncPeriod: `${SYNC_SECONDS}s` });

    const bySweepMs = await driftAndTimeRevert(repositoryName, declared, (SYNC_SECONDS * 2 + 15) * 1000);
    console.log(`with the queue gone, drift reverted by the sweep in ${bySweepMs} ms (sync period ${SYNC_SECONDS} s)`);

    queueURL = await createQueue();
    const up = await eventually('EventsReady=True again', async () => {
      const obj = await provider();
      return condition(obj, 'EventsReady')?.status === 'True' ? obj : undefined;
    }, 60_000);
    expect(up.status?.events).toMatchObject({ mode: 'Events' });
    const tookMs = await driftAndTimeRevert(repositoryName, declared, REVERT_WITHIN_MS);
    console.log(`queue back: drift reverted by an event in ${tookMs} ms`);
    expect(tookMs).toBeLessThan(REVERT_WITHIN_MS);
  });
});
