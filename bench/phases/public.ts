import { testPng } from '../../test/e2e/env/ecr-public-emulation.js';
import { awsCalls } from '../aws-layer.js';
import { now, say, sleep, type Context } from '../context.js';
import { BENCH_LABEL, placement, SPEC_TAGS, type Layout } from '../manifests.js';
import { applyProviders, layoutFor, namespacesOf, removeNamespaces } from '../objects.js';
import { launchOperator, stopOperator } from '../operator.js';
import { Metrics, waitIdle } from '../operator-stats.js';
import { phaseTable, phaseVerdicts, type PhaseRow, type PhaseVerdict } from '../phase-table.js';
import { round, sumValues } from '../stats.js';
import { Tracker } from '../tracker.js';

/**
 * ECR Public's AWS calls: N ECRPublicRepository objects with full catalog data (description, about
 * and usage texts, architectures, operating systems, a logo from a ConfigMap), a repository policy
 * and tags, spread over the layout's namespaces and providers, under the configuration given (the
 * chart's defaults in `make bench`).
 *
 * - create: the ECR Public calls the AWS layer counts from the first apply until every object is
 *   Ready and the controller's queue is idle, divided by N (docs/public.md: 2 for a full spec).
 * - sync: an operator restarted with a short --sync-period (chosen from the create time, as the sync
 *   phase does) does its pass at start (counted apart), then the first timer-driven pass over the N
 *   unchanged objects is counted until the queue is idle again, divided by N (docs/public.md: 5).
 * - delete: deletionPolicy Delete with forceDelete, every object deleted at once until all are gone,
 *   divided by N. The repositories do not outlive the phase (an account holds at most 10,000).
 *
 * What is timed is only said in passing (create and delete seconds); the figures are the calls.
 */

export interface PublicOptions {
  /** ECRPublicRepository objects. */
  repositories: number;
}

export const PUBLIC_DEFAULTS: PublicOptions = { repositories: 50 };

const CONTROLLER = 'ecrpublicrepository';
const GROUP_PATH = '/apis/aws-infra-operator.runner.codes/v1alpha1';
const PUBLIC_PATH = `${GROUP_PATH}/ecrpublicrepositories`;
/** How the AWS layer counts ECR Public's calls: by their X-Amz-Target prefix. */
const PUBLIC_SERVICE = 'SpencerFrontendService:';
const LOGO_CONFIGMAP = 'bench-public-logo';

function publicPath(namespace: string, name?: string): string {
  return `${GROUP_PATH}/namespaces/${namespace}/ecrpublicrepositories${name === undefined ? '' : `/${name}`}`;
}

const PUBLIC_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{
    Sid: 'AllowPushFromCI', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:role/ci-publisher' },
    Action: ['ecr-public:BatchCheckLayerAvailability', 'ecr-public:PutImage', 'ecr-public:InitiateLayerUpload', 'ecr-public:UploadLayerPart', 'ecr-public:CompleteLayerUpload'],
  }],
});

function logoYaml(namespace: string, run: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${LOGO_CONFIGMAP}
  namespace: ${namespace}
  labels:
    ${BENCH_LABEL}: ${run}
binaryData:
  logo.png: ${testPng(128, 128).toString('base64')}
`;
}

function publicYaml(run: string, namespace: string, name: string, provider: string, repositoryName: string): string {
  // Single-quoted YAML scalar for the policy: it holds double quotes and no single quote.
  return `apiVersion: aws-infra-operator.runner.codes/v1alpha1
kind: ECRPublicRepository
metadata:
  name: ${name}
  namespace: ${namespace}
  labels:
    ${BENCH_LABEL}: ${run}
spec:
  providerRef:
    name: ${provider}
  repositoryName: ${repositoryName}
  catalogData:
    description: Benchmark image ${name}, published by the platform team
    aboutText: |
      ## About

      An image the benchmark publishes: ${repositoryName}.
    usageText: |
      ## Usage

      \`docker pull public.ecr.aws/<alias>/${repositoryName}:latest\`
    architectures: [x86-64, ARM 64]
    operatingSystems: [Linux]
    logo:
      configMapKeyRef:
        name: ${LOGO_CONFIGMAP}
        key: logo.png
  repositoryPolicy: '${PUBLIC_POLICY}'
  tags:
${Object.entries(SPEC_TAGS).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n')}
  deletionPolicy: Delete
  forceDelete: true
`;
}

interface PublicObject {
  namespace: string;
  name: string;
  yaml: string;
}

function publicObjects(layout: Layout, n: number): PublicObject[] {
  return Array.from({ length: n }, (_, i) => {
    const p = placement(layout, i);
    const name = `pub-${String(i).padStart(5, '0')}`;
    return { namespace: p.namespace, name, yaml: publicYaml(layout.run, p.namespace, name, p.provider, `${layout.prefix}-${layout.run}/${p.namespace}/${name}`) };
  });
}

/** ECR Public's calls by operation, after − before. */
function publicCalls(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    if (!k.startsWith(PUBLIC_SERVICE)) continue;
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[`ECRPublic:${k.slice(PUBLIC_SERVICE.length)}`] = d;
  }
  return out;
}

function watchPublic(ctx: Context, tracker: Tracker, resourceVersion: string): () => void {
  let failure: Error | undefined;
  const stop = ctx.api.watch(PUBLIC_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` }, resourceVersion, (e) => tracker.onEvent(e), (err) => {
    failure = err;
    say(`public: watch failed: ${err.message}`);
  });
  const wrapped = () => {
    stop();
    ctx.res.stopWatches.delete(wrapped);
    if (failure) throw failure;
  };
  ctx.res.stopWatches.add(wrapped);
  return wrapped;
}

export async function publicPhase(ctx: Context, options: Partial<PublicOptions> = {}): Promise<void> {
  const { repositories: n } = { ...PUBLIC_DEFAULTS, ...options };
  const { figures } = ctx;
  const layout = layoutFor(ctx, 'bench-pub');
  const objects = publicObjects(layout, n);

  // Create.
  let { op } = await launchOperator(ctx, 'public-create', ctx.args.syncPeriodMs);
  let removed = false;
  try {
    await applyProviders(ctx, layout, { status: 'True', reason: 'Authenticated' });
    await Promise.all(namespacesOf(layout).map((ns) => ctx.api.apply(`/api/v1/namespaces/${ns}/configmaps/${LOGO_CONFIGMAP}`, logoYaml(ns, ctx.run), 'bench')));
    await waitIdle(op, CONTROLLER, { timeoutMs: 120_000, what: 'the operator to settle before the public creates' });
    const tracker = new Tracker();
    const stopWatch = watchPublic(ctx, tracker, (await ctx.api.list(PUBLIC_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` })).resourceVersion);
    const createBefore = await awsCalls(ctx.env);
    say(`public (${ctx.config.name}): applying ${n} ECRPublicRepositories with full catalog data, a logo, a policy and tags`);
    const t0 = now();
    try {
      const byNamespace = new Map<string, PublicObject[]>();
      for (const o of objects) byNamespace.set(o.namespace, [...(byNamespace.get(o.namespace) ?? []), o]);
      await Promise.all([...byNamespace.values()].map(async (docs) => {
        for (const o of docs) await ctx.api.apply(publicPath(o.namespace, o.name), o.yaml, 'bench');
      }));
      await tracker.until(`${n} ECRPublicRepositories Ready`, () => tracker.count((t) => t.readyAt !== undefined) >= n, Math.max(300_000, n * 2000),
        () => `${tracker.count((t) => t.readyAt !== undefined)}/${n} Ready`);
    } finally {
      stopWatch();
    }
    const createSeconds = (Math.max(...[...tracker.objects.values()].map((t) => t.readyAt ?? 0)) - t0) / 1000;
    await waitIdle(op, CONTROLLER, { timeoutMs: 300_000, what: 'the operator to settle after the public creates' });
    const create = publicCalls(await awsCalls(ctx.env), createBefore);
    figures['public.objects'] = n;
    figures['public.createSeconds'] = createSeconds;
    figures['public.awsCallsPerCreate'] = sumValues(create) / n;
    ctx.awsCalls.publicCreate = create;
    say(`public: ${n} Ready in ${round(createSeconds, 1)} s; ${round(figures['public.awsCallsPerCreate'], 2)} ECR Public calls per create ${JSON.stringify(create)}`);
    await stopOperator(ctx, op);

    // One periodic sync, timer-driven, after the pass at start.
    let periodMs = Math.max(30_000, Math.ceil(createSeconds * 3 + 15) * 1000);
    for (let attempt = 1; ; attempt++) {
      const launched = await launchOperator(ctx, 'public-sync', periodMs);
      op = launched.op;
      const startupBefore = await awsCalls(ctx.env);
      const startup = await waitIdle(op, CONTROLLER, { minReconciles: n, timeoutMs: periodMs * 3, what: 'the pass at start (public)' });
      const startupSeconds = (now() - launched.startedAt) / 1000;
      if (startupSeconds > (periodMs / 1000) * 0.8) {
        await stopOperator(ctx, op);
        if (attempt >= 3) throw new Error(`public: the pass at start took ${round(startupSeconds, 1)} s of a ${periodMs / 1000} s sync period`);
        periodMs *= 2;
        say(`public: the pass at start took ${round(startupSeconds, 1)} s, too close to the period; again with ${periodMs / 1000} s`);
        continue;
      }
      const syncBefore = await awsCalls(ctx.env);
      const startupCalls = publicCalls(syncBefore, startupBefore);
      const base = startup.sum('controller_runtime_reconcile_total', { controller: CONTROLLER });
      say(`public: pass at start done in ${round(startupSeconds, 1)} s; waiting for the periodic pass at ${periodMs / 1000} s`);
      for (;;) {
        if ((await Metrics.of(op)).sum('controller_runtime_reconcile_total', { controller: CONTROLLER }) > base) break;
        if (now() - launched.startedAt > periodMs * 1.5) throw new Error('public: no periodic reconcile within 1.5 sync periods');
        await sleep(200);
      }
      const end = await waitIdle(op, CONTROLLER, { minReconciles: base + n, timeoutMs: periodMs, what: 'the periodic pass (public)', intervalMs: 200 });
      const sync = publicCalls(await awsCalls(ctx.env), syncBefore);
      if (now() - launched.startedAt > periodMs * 2) throw new Error('public: the periodic pass ran into the next one');
      const reconciles = end.sum('controller_runtime_reconcile_total', { controller: CONTROLLER }) - base;
      if (reconciles !== n) ctx.notes.push(`public: ${reconciles} reconciles in the periodic pass for ${n} objects`);
      figures['public.syncPeriodSeconds'] = periodMs / 1000;
      figures['public.awsCallsPerSync'] = sumValues(sync) / n;
      figures['public.startupAwsCallsPerObject'] = sumValues(startupCalls) / n;
      ctx.awsCalls.publicSync = sync;
      say(`public: ${round(figures['public.awsCallsPerSync'], 2)} ECR Public calls per periodic sync ${JSON.stringify(sync)}`);
      break;
    }

    // Delete, with the same operator.
    const deleteBefore = await awsCalls(ctx.env);
    const t1 = now();
    for (const ns of namespacesOf(layout)) await ctx.api.deleteCollection(publicPath(ns), `${BENCH_LABEL}=${ctx.run}`);
    const deadline = Date.now() + Math.max(300_000, n * 2000);
    for (;;) {
      const left = (await ctx.api.list(PUBLIC_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` })).items.length;
      if (left === 0) break;
      if (Date.now() > deadline) throw new Error(`public: ${left} ECRPublicRepositories not gone in time`);
      await sleep(500);
    }
    removed = true;
    const deletion = publicCalls(await awsCalls(ctx.env), deleteBefore);
    figures['public.deleteSeconds'] = (now() - t1) / 1000;
    figures['public.awsCallsPerDelete'] = sumValues(deletion) / n;
    ctx.awsCalls.publicDelete = deletion;
    say(`public: ${n} deleted in ${round(figures['public.deleteSeconds'], 1)} s; ${round(figures['public.awsCallsPerDelete'], 2)} ECR Public calls per delete`);
  } finally {
    if (removed) await removeNamespaces(ctx, layout).catch((err: unknown) => say(`public: cleanup: ${String(err)}`));
    await stopOperator(ctx, op);
  }
}

const PUBLIC_ROWS: PhaseRow[] = [
  { figure: 'public.objects', label: 'ECRPublicRepositories (full catalog data, logo, policy, tags)', unit: '' },
  { figure: 'public.createSeconds', label: 'apply → all Ready', unit: 's' },
  { figure: 'public.awsCallsPerCreate', label: 'ECR Public calls per create', unit: 'calls', target: { max: 2, text: '≤ 2 (docs/public.md)' } },
  { figure: 'public.startupAwsCallsPerObject', label: 'ECR Public calls per object, pass at start', unit: 'calls' },
  { figure: 'public.syncPeriodSeconds', label: 'sync period used', unit: 's' },
  { figure: 'public.awsCallsPerSync', label: 'ECR Public calls per periodic sync', unit: 'calls', target: { max: 5, text: '≤ 5 (docs/public.md)' } },
  { figure: 'public.deleteSeconds', label: 'delete → all gone (Delete, forceDelete)', unit: 's' },
  { figure: 'public.awsCallsPerDelete', label: 'ECR Public calls per delete', unit: 'calls' },
];

/**
 * The ECR Public section of the printed report; '' when the run has no public figures. `figures`
 * holds them as `public.<figure>` (not prefixed by a configuration). The targets are the counts
 * docs/public.md states; they hold for any N, so nothing is marked indicative.
 */
export function publicReport(figures: Record<string, number>): string {
  const n = figures['public.objects'];
  if (n === undefined) return '';
  return phaseTable(`ECR Public (${n} ECRPublicRepositories; AWS calls counted by the local AWS layer)`, PUBLIC_ROWS, figures, false);
}

/** The public figures that have a target, judged: for the results file. */
export function publicVerdicts(figures: Record<string, number>): PhaseVerdict[] {
  return figures['public.objects'] === undefined ? [] : phaseVerdicts(PUBLIC_ROWS, figures, false);
}
