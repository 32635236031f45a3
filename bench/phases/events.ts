import { ECRClient, GetLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseDuration } from '../../src/config.js';
import { environmentVariables, type EnvironmentInfo } from '../../test/e2e/env/environment.js';
import type { OperatorProcess } from '../../test/e2e/support/operator.js';
import { FULL_READ_TURNS } from '../../src/events/sweep-gate.js';
import { staticProviderYaml } from '../../test/e2e/support/scenario.js';
import { awsCallsBySigner } from '../aws-layer.js';
import { CHART_SYNC_PERIOD_MS, configuration, CONTROLLER, now, say, sleep, type Context } from '../context.js';
import { exec } from '../exec.js';
import { AWS_PROVIDERS_PATH, namespacedRepositoryPath, readyCondition, type KubeResource } from '../kube-api.js';
import { DEFAULT_TAGS, LIFECYCLE_POLICY, namespaceYaml, placement, providerName, type Layout } from '../manifests.js';
import { createAll, kubectlOk, layoutFor, namespacesOf, removeLayout } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { Metrics, waitIdle } from '../operator-stats.js';
import { phaseTable, phaseVerdicts, type PhaseRow, type PhaseVerdict } from '../phase-table.js';
import { percentile, round, sumValues } from '../stats.js';

/**
 * Events at the chart's defaults: R full-spec ECRRepositories (10,000 by default) whose AWSProviders
 * name one SQS queue that an EventBridge rule (`{"source": ["aws.ecr"]}`, on moto's default bus)
 * fills with ECR's events: the local AWS layer publishes a CloudTrail-shaped event for every ECR
 * call that changes something, and ECR's image events for pushes. --sync-period is the chart's,
 * --sync-period-with-events the operator's default (the chart's value too; the providers' status
 * says which applies, and it is reported).
 *
 * The operator being measured creates the repositories itself, at the chart's rate, with the queue
 * already read: an operator's start queues every object for a full read (the pass at start), which
 * at the chart's 20 requests/s and 4 calls a repository costs longer than these creates at 3 calls,
 * so creating them with a faster operator first and starting the measured one afterwards would be
 * slower, not faster. What a restart costs is measured on request (`restart`): the time from the
 * start to an idle queue with every object reconciled, and the AWS calls of that pass.
 *
 * Then, in this order, each figure timed on its own:
 * - at rest: once every object is Ready, the controller's queue idle and the SQS queue empty (the
 *   events of the operator's own creates read), the AWS calls signed with the providers' key are
 *   counted over a window (10 minutes by default, two provider verifications) and extrapolated to an
 *   hour per repository; the sweep without events costs about 24 (4 calls every 10 minutes).
 * - drift: K sampled repositories, one at a time, get another lifecycle policy with awscli, signed by
 *   an IAM user of the same account that is not the operator's identity. Timed from when the AWS layer
 *   counted that call until it counted the operator's PutLifecyclePolicy (the revert), both seen by
 *   polling the layer's counters every 50 ms; afterwards the policy is read back and must be the
 *   declared one. p50 and p99 (target p99 ≤ 10 s).
 * - push: P sampled repositories get an image with `aws ecr put-image` by the same user; timed from
 *   when the layer counted the PutImage until the watch shows the object's status.imageCount one higher
 *   (target: every push within 10 s).
 * - safety net: the at-rest window sees no turn of the sweep in event mode (one every 6 h). Another
 *   operator, with --sync-period-with-events shortened to 2 minutes (its client-side rate limits
 *   lifted, and watching one namespace above 1,000 repositories), is counted over four and a half
 *   such periods after its pass at start (a cycle of turns ends with a full read); the ECR calls per turn, brought
 *   back to the chart's period and added to the window's figure, give the at-rest cost with the
 *   sweep included (target ≤ 0.5).
 *
 * Repositories are created with deletionPolicy Retain: letting them go costs no AWS call. Unless told
 * to keep them, the phase removes its objects and namespaces at the end (the operator still running);
 * the queue, the rule and its target are always removed.
 */

export interface EventsOptions {
  /** ECRRepositories under management. */
  repositories: number;
  /** Drifts timed one at a time. */
  drifts: number;
  /** Image pushes timed one at a time. */
  pushes: number;
  /** The at-rest window. */
  restWindowMs: number;
  /** Also restart the operator and measure its pass at start over the R repositories. */
  restart: boolean;
  /** Remove the objects and namespaces at the end (false: they stay, with no operator). */
  cleanup: boolean;
}

/** The size the targets are stated for (issue: "at the chart's defaults with 10,000 repositories"). */
export const EVENTS_STATED_REPOSITORIES = 10_000;

export const EVENTS_DEFAULTS: EventsOptions = {
  repositories: EVENTS_STATED_REPOSITORIES,
  drifts: 50,
  pushes: 10,
  restWindowMs: 600_000,
  restart: false,
  cleanup: true,
};

/** The safety net's period while it is timed, and the sweep that grants its turns. */
const SAFETY_NET_PERIOD_MS = 120_000;
const SAFETY_NET_SWEEP_MS = 10_000;
/**
 * The period shortened 180-fold asks 180 times the chart's request rate of the sweep: the operator
 * timing it runs with the client-side limits lifted (what a turn costs does not depend on them), and
 * above this many repositories it watches one namespace only, a sample the local AWS layer serves in time.
 */
const SAFETY_NET_MAX_REPOSITORIES = 1000;

/** The flags of the bench's unlimited configuration. */
function unlimitedFlags(ctx: Context): string[] {
  const u = configuration('unlimited', ctx.args);
  return [`--aws-requests-per-second=${u.awsRequestsPerSecond}`, `--aws-burst=${u.awsBurst}`, `--aws-operation-rate-limits=${u.operationRateLimits}`];
}

/** The access key in the providers' Secrets (staticProviderYaml's default): the operator's calls are signed with it. */
const OPERATOR_KEY = 'test';
const POLL_MS = 50;
const SAMPLE_TIMEOUT_MS = 60_000;
const PAUSE_BETWEEN_SAMPLES_MS = 500;

const DRIFT_POLICY = JSON.stringify({
  rules: [{ rulePriority: 1, description: 'changed outside Kubernetes', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 99 }, action: { type: 'expire' } }],
});

interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/** awscli against the environment's AWS layer; with `key`, signed by it instead of the environment's key. */
async function aws<T = Record<string, unknown>>(env: EnvironmentInfo, args: string[], key?: AccessKey): Promise<T> {
  const vars: NodeJS.ProcessEnv = { ...process.env, ...environmentVariables(env), AWS_DEFAULT_REGION: env.region };
  for (const name of ['AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN', 'AWS_PROFILE']) delete vars[name];
  if (key) {
    vars.AWS_ACCESS_KEY_ID = key.accessKeyId;
    vars.AWS_SECRET_ACCESS_KEY = key.secretAccessKey;
  }
  const r = await exec('aws', [...args, '--endpoint-url', env.awsEndpoint, '--output', 'json'], { env: vars, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`aws ${args.slice(0, 2).join(' ')} failed (${r.code}): ${r.stderr.slice(-1000)}`);
  return (r.stdout.trim() ? JSON.parse(r.stdout) : {}) as T;
}

const sameJson = (a: string | undefined, b: string): boolean => {
  try {
    return a !== undefined && JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
};

/** The queue, the rule that fills it and a user who is not the operator. */
interface EventsSetup {
  queueURL: string;
  queueName: string;
  ruleName: string;
  drifter: AccessKey;
  sqs: SQSClient;
  ecr: ECRClient;
}

async function setUp(ctx: Context): Promise<EventsSetup> {
  const { env } = ctx;
  const queueName = `bench-events-${ctx.run}`;
  const ruleName = `bench-ecr-to-sqs-${ctx.run}`;
  const { QueueUrl: queueURL } = await aws<{ QueueUrl: string }>(env, ['sqs', 'create-queue', '--queue-name', queueName]);
  const { Attributes } = await aws<{ Attributes: { QueueArn: string } }>(env, ['sqs', 'get-queue-attributes', '--queue-url', queueURL, '--attribute-names', 'QueueArn']);
  await aws(env, ['events', 'put-rule', '--name', ruleName, '--event-pattern', JSON.stringify({ source: ['aws.ecr'] })]);
  await aws(env, ['events', 'put-targets', '--rule', ruleName, '--targets', JSON.stringify([{ Id: 'operator-queue', Arn: Attributes.QueueArn }])]);
  const user = `bench-drifter-${ctx.run}`;
  await aws(env, ['iam', 'create-user', '--user-name', user]);
  const { AccessKey } = await aws<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string } }>(env, ['iam', 'create-access-key', '--user-name', user]);
  const drifter = { accessKeyId: AccessKey.AccessKeyId, secretAccessKey: AccessKey.SecretAccessKey };
  // The benchmark's own reads (queue attributes, the policy read back) are signed by that user too:
  // read-only, they reach no queue, and the window counts only the providers' key.
  const client = { region: env.region, endpoint: env.awsEndpoint, credentials: drifter };
  say(`events: queue ${queueURL}, rule ${ruleName} (source aws.ecr); drift and pushes by IAM user ${user} (${drifter.accessKeyId})`);
  return { queueURL, queueName, ruleName, drifter, sqs: new SQSClient(client), ecr: new ECRClient(client) };
}

async function tearDown(ctx: Context, s: EventsSetup): Promise<void> {
  const attempt = (args: string[]) => aws(ctx.env, args).catch((err: unknown) => say(`events: cleanup: ${err instanceof Error ? err.message : String(err)}`));
  await attempt(['events', 'remove-targets', '--rule', s.ruleName, '--ids', 'operator-queue']);
  await attempt(['events', 'delete-rule', '--name', s.ruleName]);
  await attempt(['sqs', 'delete-queue', '--queue-url', s.queueURL]);
  s.sqs.destroy();
  s.ecr.destroy();
}

function providersWithQueueYaml(layout: Layout, namespace: string, queueURL: string): string {
  const docs: string[] = [];
  for (let p = 0; p < layout.providersPerNamespace; p++) {
    // The AWSProvider is the last document and spec its last field: events go at its end.
    docs.push(`${staticProviderYaml(namespace, providerName(p), { defaultTags: DEFAULT_TAGS })}  events:\n    queueURL: ${queueURL}\n`);
  }
  return docs.join('---\n');
}

/** Namespaces and providers naming the queue; waits until every provider is Ready and reads it. Returns the sync period they report. */
async function applyProvidersWithQueue(ctx: Context, layout: Layout, queueURL: string): Promise<number> {
  const namespaces = namespacesOf(layout);
  await kubectlOk(ctx, ['apply', '-f', '-'], namespaces.map((ns) => namespaceYaml(ns, ctx.run)).join('---\n'));
  await Promise.all(namespaces.map((ns) => kubectlOk(ctx, ['apply', '-f', '-'], providersWithQueueYaml(layout, ns, queueURL))));
  const expected = layout.namespaces * layout.providersPerNamespace;
  const wanted = new Set(namespaces);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ours = (await ctx.api.list(AWS_PROVIDERS_PATH)).items.filter((p) => wanted.has(p.metadata.namespace));
    const reading = ours.filter((p) => {
      const ready = readyCondition(p);
      const events = p.status?.conditions?.find((c) => c.type === 'EventsReady');
      const mode = (p.status?.events as { mode?: string } | undefined)?.mode;
      return ready?.status === 'True' && ready.observedGeneration === p.metadata.generation && events?.status === 'True' && mode === 'Events';
    });
    if (reading.length === expected) {
      const periods = new Set(reading.map((p) => String((p.status?.events as { syncPeriod?: string }).syncPeriod)));
      if (periods.size !== 1) throw new Error(`the providers report different sync periods in event mode: ${[...periods].join(', ')}`);
      return parseDuration([...periods][0]!) ?? NaN;
    }
    if (Date.now() > deadline) {
      const sample = ours.find((p) => !reading.includes(p));
      throw new Error(`AWSProviders not Ready in event mode after 180 s (${reading.length}/${expected}); one of them: ${JSON.stringify(sample?.status ?? null)}`);
    }
    await sleep(500);
  }
}

/** Until the SQS queue holds no message (visible or being handled) on three reads in a row. */
async function queueDrained(s: EventsSetup, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  let empty = 0;
  let last = '';
  while (empty < 3) {
    const { Attributes: a = {} } = await s.sqs.send(new GetQueueAttributesCommand({
      QueueUrl: s.queueURL, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }));
    const visible = Number(a.ApproximateNumberOfMessages ?? 0);
    const inFlight = Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
    last = `${visible} messages waiting, ${inFlight} being handled`;
    empty = visible === 0 && inFlight === 0 ? empty + 1 : 0;
    if (now() > deadline) throw new Error(`the event queue did not drain in ${Math.round(timeoutMs / 1000)} s: ${last}`);
    await sleep(1000);
  }
}

function signedBy(calls: Record<string, number>, key: string): Record<string, number> {
  const suffix = `@${key}`;
  return Object.fromEntries(Object.entries(calls).filter(([k]) => k.endsWith(suffix)).map(([k, v]) => [k.slice(0, -suffix.length), v]));
}

function callsBetween(after: Record<string, number>, before: Record<string, number>, key: string): Record<string, number> {
  const a = signedBy(after, key);
  const b = signedBy(before, key);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) {
    const d = v - (b[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Indices of `k` samples spread evenly over `n` objects, offset by `phase` (0..1) of a step. */
function spread(n: number, k: number, phase: number): number[] {
  const count = Math.min(n, k);
  return Array.from({ length: count }, (_, j) => Math.min(n - 1, Math.floor(((j + phase) * n) / count)));
}

interface Sample {
  seconds: number;
  timedOut: boolean;
}

/**
 * One drift: awscli puts another lifecycle policy, signed by the drifter; timed from the layer
 * counting that call to the layer counting the operator's PutLifecyclePolicy.
 */
async function timeDrift(ctx: Context, s: EventsSetup, repositoryName: string): Promise<Sample> {
  const drifterPut = `ECR:PutLifecyclePolicy@${s.drifter.accessKeyId}`;
  const operatorPut = `ECR:PutLifecyclePolicy@${OPERATOR_KEY}`;
  const before = await awsCallsBySigner(ctx.env);
  let failure: unknown;
  const cli = aws(ctx.env, ['ecr', 'put-lifecycle-policy', '--repository-name', repositoryName, '--lifecycle-policy-text', DRIFT_POLICY], s.drifter)
    .catch((err: unknown) => { failure = err; });
  const started = now();
  let driftAt: number | undefined;
  let revertAt: number | undefined;
  while (now() - started < SAMPLE_TIMEOUT_MS) {
    const calls = await awsCallsBySigner(ctx.env);
    const t = now();
    if (driftAt === undefined && (calls[drifterPut] ?? 0) > (before[drifterPut] ?? 0)) driftAt = t;
    if (driftAt !== undefined && (calls[operatorPut] ?? 0) > (before[operatorPut] ?? 0)) {
      revertAt = t;
      break;
    }
    if (failure) throw failure;
    await sleep(POLL_MS);
  }
  await cli;
  if (failure) throw failure;
  if (driftAt === undefined) throw new Error(`the AWS layer never counted the drift of ${repositoryName}`);
  return revertAt === undefined ? { seconds: (now() - driftAt) / 1000, timedOut: true } : { seconds: (revertAt - driftAt) / 1000, timedOut: false };
}

async function lifecyclePolicyOf(s: EventsSetup, repositoryName: string): Promise<string | undefined> {
  try {
    return (await s.ecr.send(new GetLifecyclePolicyCommand({ repositoryName }))).lifecyclePolicyText;
  } catch {
    return undefined;
  }
}

/** The object's status.imageCount and the list's resourceVersion, to watch from. */
async function imageCountOf(ctx: Context, namespace: string, name: string): Promise<{ count: number; resourceVersion: string }> {
  const { items, resourceVersion } = await ctx.api.list(namespacedRepositoryPath(namespace), { fieldSelector: `metadata.name=${name}` });
  const obj = items[0];
  if (!obj) throw new Error(`ECRRepository ${namespace}/${name} not found`);
  return { count: Number(obj.status?.imageCount ?? 0), resourceVersion };
}

/**
 * One push: `aws ecr put-image` by the drifter, an image no other sample has; timed from the layer
 * counting the PutImage until the watch shows the object's imageCount one higher.
 */
async function timePush(ctx: Context, s: EventsSetup, namespace: string, name: string, repositoryName: string, sample: number): Promise<Sample> {
  const putImage = `ECR:PutImage@${s.drifter.accessKeyId}`;
  const { count, resourceVersion } = await imageCountOf(ctx, namespace, name);
  let seenAt: number | undefined;
  let watchFailure: Error | undefined;
  const stop = ctx.api.watch(namespacedRepositoryPath(namespace), { fieldSelector: `metadata.name=${name}` }, resourceVersion, (e) => {
    if (seenAt === undefined && e.type !== 'DELETED' && Number((e.object as KubeResource).status?.imageCount ?? 0) > count) seenAt = now();
  }, (err) => { watchFailure = err; });
  ctx.res.stopWatches.add(stop);
  try {
    const digest = `sha256:${(Date.now() * 1000 + sample).toString(16).padStart(64, '0')}`;
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1, digest },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1, digest }],
    });
    const before = await awsCallsBySigner(ctx.env);
    let failure: unknown;
    const cli = aws(ctx.env, ['ecr', 'put-image', '--repository-name', repositoryName, '--image-manifest', manifest, '--image-tag', `bench-push-${sample}`], s.drifter)
      .catch((err: unknown) => { failure = err; });
    const started = now();
    let pushAt: number | undefined;
    while (now() - started < SAMPLE_TIMEOUT_MS) {
      if (pushAt === undefined) {
        const calls = await awsCallsBySigner(ctx.env);
        if ((calls[putImage] ?? 0) > (before[putImage] ?? 0)) pushAt = now();
      }
      if (pushAt !== undefined && seenAt !== undefined) break;
      if (failure) throw failure;
      if (watchFailure) throw watchFailure;
      await sleep(POLL_MS);
    }
    await cli;
    if (failure) throw failure;
    if (pushAt === undefined) throw new Error(`the AWS layer never counted the push to ${repositoryName}`);
    // The watch may have shown the count before the poll saw the call: the push took no longer than that.
    return seenAt === undefined ? { seconds: (now() - pushAt) / 1000, timedOut: true } : { seconds: Math.max(0, seenAt - pushAt) / 1000, timedOut: false };
  } finally {
    stop();
    ctx.res.stopWatches.delete(stop);
  }
}

export async function eventsPhase(ctx: Context, options: Partial<EventsOptions> = {}): Promise<void> {
  const opts: EventsOptions = { ...EVENTS_DEFAULTS, ...options };
  const { figures } = ctx;
  const r = opts.repositories;
  const layout = layoutFor(ctx, 'bench-ev');
  const s = await setUp(ctx);
  let op: OperatorProcess | undefined;
  try {
    const launched = await launchOperator(ctx, 'events', CHART_SYNC_PERIOD_MS);
    op = launched.op;
    const eventPeriodMs = await applyProvidersWithQueue(ctx, layout, s.queueURL);
    say(`events (${ctx.config.name}): ${layout.namespaces * layout.providersPerNamespace} providers read the queue; sweep period in event mode ${eventPeriodMs / 1000} s`);
    figures['events.repositories'] = r;
    figures['events.sweepPeriodWithEventsSeconds'] = eventPeriodMs / 1000;

    // The repositories, created by the operator being measured, with the queue read all along.
    say(`events: the operator creates ${r} ECRRepositories at ${ctx.config.name}`);
    const created = await createAll(ctx, layout, r, 'Retain');
    figures['events.createSeconds'] = created.seconds;
    say(`events: ${r} Ready in ${round(created.seconds, 1)} s; waiting for the operator's queue and the event queue to empty`);
    const settleStart = now();
    await waitIdle(op, CONTROLLER, { timeoutMs: Math.max(600_000, r * 200), what: 'the operator to settle after the creates' });
    await queueDrained(s, Math.max(600_000, r * 200));
    await waitIdle(op, CONTROLLER, { timeoutMs: 120_000, what: 'the operator to settle after the event queue drained' });
    figures['events.settleSeconds'] = (now() - settleStart) / 1000;
    const afterCreate = await Metrics.of(op);
    const outcomes = afterCreate.by('infra_operator_queue_events_total', 'outcome');
    ctx.notes.push(`events: queue events handled during the ${r} creates, by outcome: ${JSON.stringify(outcomes)}`);

    // At rest.
    say(`events: at rest: counting the operator's AWS calls for ${opts.restWindowMs / 1000} s`);
    const restBefore = await awsCallsBySigner(ctx.env);
    const reconcilesBefore = afterCreate.sum('controller_runtime_reconcile_total', { controller: CONTROLLER });
    const restStart = now();
    await sleep(opts.restWindowMs);
    const restAfter = await awsCallsBySigner(ctx.env);
    const restSeconds = (now() - restStart) / 1000;
    const restMetrics = await Metrics.of(op);
    const rest = callsBetween(restAfter, restBefore, OPERATOR_KEY);
    const perHour = 3600 / restSeconds;
    figures['events.restWindowSeconds'] = restSeconds;
    figures['events.restAwsCalls'] = sumValues(rest);
    figures['events.restAwsCallsPerRepositoryPerHour'] = (sumValues(rest) / r) * perHour;
    figures['events.restEcrCallsPerRepositoryPerHour'] = (sumValues(Object.fromEntries(Object.entries(rest).filter(([k]) => k.startsWith('ECR:')))) / r) * perHour;
    figures['events.restReconciles'] = restMetrics.sum('controller_runtime_reconcile_total', { controller: CONTROLLER }) - reconcilesBefore;
    ctx.awsCalls.eventsRest = rest;
    say(`events: at rest ${sumValues(rest)} AWS calls in ${round(restSeconds, 1)} s: ${round(figures['events.restAwsCallsPerRepositoryPerHour'], 4)} per repository per hour (target ≤ 0.5) ${JSON.stringify(rest)}`);

    // Drift, one repository at a time.
    const drifts: Sample[] = [];
    let notRestored = 0;
    const driftReconcilesBefore = (await Metrics.of(op)).sum('controller_runtime_reconcile_total', { controller: CONTROLLER });
    const driftCallsBefore = await awsCallsBySigner(ctx.env);
    for (const i of spread(r, opts.drifts, 0.5)) {
      const p = placement(layout, i);
      const sample = await timeDrift(ctx, s, p.repositoryName);
      drifts.push(sample);
      // The revert reached the layer; what the repository holds now must be the declared policy.
      const deadline = now() + 10_000;
      let policy = await lifecyclePolicyOf(s, p.repositoryName);
      while (!sameJson(policy, LIFECYCLE_POLICY) && now() < deadline) {
        await sleep(200);
        policy = await lifecyclePolicyOf(s, p.repositoryName);
      }
      if (!sameJson(policy, LIFECYCLE_POLICY)) notRestored += 1;
      if (drifts.length % 10 === 0 || sample.timedOut) say(`events: drift ${drifts.length}/${Math.min(r, opts.drifts)}: ${p.repositoryName} reverted in ${round(sample.seconds, 2)} s${sample.timedOut ? ' (timed out)' : ''}`);
      await sleep(PAUSE_BETWEEN_SAMPLES_MS);
    }
    // Every reconcile the drifts caused, including any the operator's own reverts might.
    await waitIdle(op, CONTROLLER, { timeoutMs: 120_000, what: 'the operator to settle after the drifts' });
    const driftSeconds = drifts.map((d) => d.seconds);
    Object.assign(figures, {
      'events.drifts': drifts.length,
      'events.driftP50Seconds': percentile(driftSeconds, 50),
      'events.driftP99Seconds': percentile(driftSeconds, 99),
      'events.driftMaxSeconds': Math.max(...driftSeconds),
      'events.driftTimeouts': drifts.filter((d) => d.timedOut).length,
      'events.driftNotRestored': notRestored,
      'events.reconcilesPerDrift': ((await Metrics.of(op)).sum('controller_runtime_reconcile_total', { controller: CONTROLLER }) - driftReconcilesBefore) / Math.max(1, drifts.length),
      'events.awsCallsPerDrift': sumValues(callsBetween(await awsCallsBySigner(ctx.env), driftCallsBefore, OPERATOR_KEY)) / Math.max(1, drifts.length),
    });
    say(`events: ${drifts.length} drifts reverted: p50 ${round(figures['events.driftP50Seconds']!, 2)} s, p99 ${round(figures['events.driftP99Seconds']!, 2)} s (target ≤ 10 s)`);

    // Pushes, one repository at a time (other repositories than the drifts').
    const pushes: Sample[] = [];
    for (const [j, i] of spread(r, opts.pushes, 0.25).entries()) {
      const p = placement(layout, i);
      const sample = await timePush(ctx, s, p.namespace, p.name, p.repositoryName, j);
      pushes.push(sample);
      if (sample.timedOut) say(`events: push to ${p.repositoryName} not counted in imageCount within ${SAMPLE_TIMEOUT_MS / 1000} s`);
      await sleep(PAUSE_BETWEEN_SAMPLES_MS);
    }
    const pushSeconds = pushes.map((x) => x.seconds);
    Object.assign(figures, {
      'events.pushes': pushes.length,
      'events.pushP50Seconds': percentile(pushSeconds, 50),
      'events.pushMaxSeconds': Math.max(...pushSeconds),
      'events.pushTimeouts': pushes.filter((x) => x.timedOut).length,
    });
    say(`events: ${pushes.length} pushes counted in imageCount: p50 ${round(figures['events.pushP50Seconds']!, 2)} s, slowest ${round(figures['events.pushMaxSeconds']!, 2)} s (target ≤ 10 s)`);
    await waitIdle(op, CONTROLLER, { timeoutMs: 120_000, what: 'the operator to settle after the pushes' });

    // The safety net's share, which the window above does not see: in event mode a repository is
    // swept every --sync-period-with-events, and read in full (tags and images too) at every
    // FULL_READ_TURNS-th turn. Timed with a short period, over a cycle of turns, and brought back
    // to the chart's period.
    say(`events: the safety-net sweep, its period shortened to ${SAFETY_NET_PERIOD_MS / 1000} s, over ${FULL_READ_TURNS} turns`);
    await stopOperator(ctx, op);
    op = undefined;
    const sampleNamespace = r > SAFETY_NET_MAX_REPOSITORIES ? namespacesOf(layout)[0]! : undefined;
    const sampled = sampleNamespace === undefined ? r : Array.from({ length: r }, (_, i) => placement(layout, i)).filter((p) => p.namespace === sampleNamespace).length;
    figures['events.safetyNetRepositories'] = sampled;
    const net = await launchOperator(ctx, 'events-safety-net', SAFETY_NET_SWEEP_MS, [
      `--sync-period-with-events=${SAFETY_NET_PERIOD_MS / 1000}s`,
      ...unlimitedFlags(ctx),
      ...(sampleNamespace === undefined ? [] : [`--watch-namespace=${sampleNamespace}`]),
    ]);
    op = net.op;
    say(`events: the safety-net operator reads ${sampled} repositories${sampleNamespace === undefined ? '' : ` (namespace ${sampleNamespace}, a sample)`}, its client-side rate limits lifted`);
    await waitIdle(op, CONTROLLER, { minReconciles: sampled, timeoutMs: Math.max(900_000, sampled * 1000), what: 'the pass at start of the safety-net operator' });
    const netBefore = await awsCallsBySigner(ctx.env);
    const netReconcilesBefore = (await Metrics.of(op)).sum('controller_runtime_reconcile_total', { controller: CONTROLLER });
    // The pass at start read every repository in full; its turns come a period apart from then on,
    // the FULL_READ_TURNS-th a full read again. Half a period more lets the last one of them in, and
    // no further turn.
    await sleep((FULL_READ_TURNS + 0.5) * SAFETY_NET_PERIOD_MS);
    const netCalls = callsBetween(await awsCallsBySigner(ctx.env), netBefore, OPERATOR_KEY);
    const netEcr = sumValues(Object.fromEntries(Object.entries(netCalls).filter(([k]) => k.startsWith('ECR:'))));
    const turns = (await Metrics.of(op)).sum('controller_runtime_reconcile_total', { controller: CONTROLLER }) - netReconcilesBefore;
    figures['events.safetyNetTurns'] = turns;
    figures['events.safetyNetEcrCallsPerTurn'] = netEcr / Math.max(1, turns);
    const sweepPerHour = figures['events.safetyNetEcrCallsPerTurn'] / (eventPeriodMs / 3_600_000);
    figures['events.restWithSafetyNetPerRepositoryPerHour'] = sweepPerHour + figures['events.restAwsCallsPerRepositoryPerHour'];
    // The window's calls are per queue and per provider, not per repository: the same spread over the stated size.
    figures['events.restWithSafetyNetPerRepositoryPerHourAtStatedSize'] = sweepPerHour + (figures['events.restAwsCalls'] / EVENTS_STATED_REPOSITORIES) * perHour;
    ctx.awsCalls.eventsSafetyNet = netCalls;
    say(`events: safety net: ${turns} turns of ${sampled} repositories, ${round(figures['events.safetyNetEcrCallsPerTurn'], 2)} ECR calls per turn ${JSON.stringify(netCalls)}; at the chart's ${eventPeriodMs / 3_600_000} h with the window above: ${round(figures['events.restWithSafetyNetPerRepositoryPerHour'], 3)} AWS calls per repository per hour (target ≤ 0.5)`);

    if (opts.restart) {
      // What a restart costs: the pass at start reads every repository again, whatever the events.
      say(`events: restarting the operator on ${r} repositories in event mode`);
      await stopOperator(ctx, op);
      op = undefined;
      const before = await awsCallsBySigner(ctx.env);
      const again = await launchOperator(ctx, 'events-restart', CHART_SYNC_PERIOD_MS);
      op = again.op;
      await waitIdle(op, CONTROLLER, { minReconciles: r, timeoutMs: Math.max(900_000, r * 1000), what: 'the pass at start of the restarted operator' });
      const calls = callsBetween(await awsCallsBySigner(ctx.env), before, OPERATOR_KEY);
      figures['events.restartSeconds'] = (now() - again.startedAt) / 1000;
      figures['events.restartAwsCallsPerRepository'] = sumValues(calls) / r;
      ctx.awsCalls.eventsRestart = calls;
      say(`events: the restarted operator's pass at start took ${round(figures['events.restartSeconds'], 1)} s, ${round(figures['events.restartAwsCallsPerRepository'], 2)} AWS calls per repository`);
    }

    if (opts.cleanup) {
      say(`events: letting the ${r} repositories go (Retain: no AWS call)`);
      // The safety-net operator watched a sample: one for every namespace releases them all.
      const watchesAll = sampleNamespace === undefined || opts.restart;
      if (!watchesAll && op) {
        await stopOperator(ctx, op);
        op = undefined;
      }
      await removeLayout(ctx, layout, watchesAll ? undefined : async () => {
        op = (await launchOperator(ctx, 'events-cleanup', CHART_SYNC_PERIOD_MS)).op;
      });
    }
  } finally {
    if (op) await stopOperator(ctx, op);
    await tearDown(ctx, s);
  }
}

const EVENTS_ROWS: PhaseRow[] = [
  { figure: 'events.repositories', label: 'repositories, one SQS queue read for all providers', unit: '' },
  { figure: 'events.createSeconds', label: 'created by the measured operator, events on: apply → all Ready', unit: 's' },
  { figure: 'events.settleSeconds', label: 'then until its queue and the event queue were empty', unit: 's' },
  { figure: 'events.sweepPeriodWithEventsSeconds', label: 'sweep period in event mode (status.events.syncPeriod)', unit: 's' },
  { figure: 'events.driftP50Seconds', label: 'drift (awscli, another IAM user) → reverted, p50', unit: 's' },
  { figure: 'events.driftP99Seconds', label: 'drift → reverted, p99', unit: 's', target: { max: 10, text: '≤ 10 s' } },
  { figure: 'events.driftMaxSeconds', label: 'drift → reverted, slowest', unit: 's' },
  { figure: 'events.drifts', label: '  drifts timed, one at a time', unit: '' },
  { figure: 'events.driftTimeouts', label: '  of them not reverted within 60 s', unit: '' },
  { figure: 'events.driftNotRestored', label: '  of them not holding the declared policy afterwards', unit: '' },
  { figure: 'events.reconcilesPerDrift', label: '  reconciles per drift (own writes cause none)', unit: '' },
  { figure: 'events.awsCallsPerDrift', label: '  operator AWS calls per drift', unit: 'calls' },
  { figure: 'events.pushP50Seconds', label: 'image pushed (aws ecr put-image) → in status.imageCount, p50', unit: 's' },
  { figure: 'events.pushMaxSeconds', label: 'image pushed → in status.imageCount, slowest', unit: 's', target: { max: 10, text: '≤ 10 s' } },
  { figure: 'events.pushes', label: '  pushes timed, one at a time', unit: '' },
  { figure: 'events.pushTimeouts', label: '  of them not counted within 60 s', unit: '' },
  { figure: 'events.restWindowSeconds', label: 'at rest: window counted', unit: 's' },
  { figure: 'events.restAwsCalls', label: '  operator AWS calls in the window (all services)', unit: 'calls' },
  { figure: 'events.restAwsCallsPerRepositoryPerHour', label: '  AWS calls per repository per hour in the window (no sweep turn in it)', unit: 'calls' },
  { figure: 'events.restEcrCallsPerRepositoryPerHour', label: '  of which ECR', unit: 'calls' },
  { figure: 'events.restReconciles', label: '  reconciles in the window', unit: '' },
  { figure: 'events.safetyNetRepositories', label: 'safety-net sweep, period shortened to 2 m, over 4.5 periods: repositories read (one namespace above 1,000)', unit: '' },
  { figure: 'events.safetyNetTurns', label: '  turns', unit: '' },
  { figure: 'events.safetyNetEcrCallsPerTurn', label: '  ECR calls per repository per turn (full reads included)', unit: 'calls' },
  { figure: 'events.restWithSafetyNetPerRepositoryPerHour', label: 'at rest: AWS calls per repository per hour, the sweep at the chart\'s period included', unit: 'calls', target: { max: 0.5, text: '≤ 0.5 (polling: about 24)' } },
  { figure: 'events.restWithSafetyNetPerRepositoryPerHourAtStatedSize', label: '  the same with the window\'s calls (per queue and provider) spread over 10,000 repositories', unit: 'calls' },
  { figure: 'events.restartSeconds', label: 'a restart: start → pass at start done', unit: 's' },
  { figure: 'events.restartAwsCallsPerRepository', label: '  AWS calls per repository of that pass', unit: 'calls' },
];

/**
 * The events section of the printed report, figures beside their targets; '' when the run has no
 * events figures. `figures` holds them as `events.<figure>` (not prefixed by a configuration).
 */
export function eventsReport(figures: Record<string, number>): string {
  const n = figures['events.repositories'];
  if (n === undefined) return '';
  return phaseTable(`Events at the chart's defaults (${n} repositories; ECR's events through an EventBridge rule to one SQS queue)`,
    EVENTS_ROWS, figures, n !== EVENTS_STATED_REPOSITORIES);
}

/** The events figures that have a target, judged: for the results file. */
export function eventsVerdicts(figures: Record<string, number>): PhaseVerdict[] {
  const n = figures['events.repositories'];
  return n === undefined ? [] : phaseVerdicts(EVENTS_ROWS, figures, n !== EVENTS_STATED_REPOSITORIES);
}
