import { exec } from './exec.js';
import { now, sleep, say, type Context } from './context.js';
import { AWS_PROVIDERS_PATH, ECR_REPOSITORIES_PATH, namespacedRepositoryPath, readyCondition } from './kube-api.js';
import { BENCH_LABEL, namespaceName, namespaceYaml, providersYaml, repositoriesByNamespace, type Layout, type ProviderOptions } from './manifests.js';
import { Tracker } from './tracker.js';

/** The Kubernetes side of a phase: a layout's namespaces, providers and repositories, applied, watched and removed. */

export async function kubectlOk(ctx: Pick<Context, 'env'>, args: string[], input?: string, timeoutMs = 900_000): Promise<string> {
  const result = await exec('kubectl', args, { env: { ...process.env, KUBECONFIG: ctx.env.kubeconfig }, ...(input !== undefined ? { input } : {}), timeoutMs });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr.slice(-2000)}`);
  return result.stdout;
}

export function layoutFor(ctx: Context, prefix: string): Layout {
  return { run: ctx.run, prefix, namespaces: ctx.args.namespaces, providersPerNamespace: ctx.args.providersPerNamespace };
}

export function namespacesOf(layout: Layout): string[] {
  return Array.from({ length: layout.namespaces }, (_, i) => namespaceName(layout, i));
}

/** Namespaces, Secrets and AWSProviders; waits until every provider shows the expected Ready state. */
export async function applyProviders(ctx: Context, layout: Layout, expect: { status: 'True' | 'False'; reason: string }, provider: ProviderOptions = {}): Promise<void> {
  const namespaces = namespacesOf(layout);
  await kubectlOk(ctx, ['apply', '-f', '-'], namespaces.map((ns) => namespaceYaml(ns, ctx.run)).join('---\n'));
  await Promise.all(namespaces.map((ns) => kubectlOk(ctx, ['apply', '-f', '-'], providersYaml(layout, ns, provider))));
  const expected = layout.namespaces * layout.providersPerNamespace;
  const wanted = new Set(namespaces);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { items } = await ctx.api.list(AWS_PROVIDERS_PATH);
    const ours = items.filter((p) => wanted.has(p.metadata.namespace));
    const matching = ours.filter((p) => {
      const ready = readyCondition(p);
      return ready?.status === expect.status && ready.reason === expect.reason && ready.observedGeneration === p.metadata.generation;
    });
    if (matching.length === expected) return;
    if (Date.now() > deadline) {
      const sample = ours.find((p) => !matching.includes(p));
      throw new Error(`AWSProviders not ${expect.reason} after 180 s (${matching.length}/${expected}); one of them: ${JSON.stringify(sample?.status ?? null)}`);
    }
    await sleep(500);
  }
}

/**
 * Applies the repositories as `kubectl apply --server-side` would, one stream of requests per
 * namespace, all namespaces at once, straight to the API server. Plain `kubectl apply` reads each
 * object before creating it and throttles itself on the client: 1,000 objects took 25 s that way
 * here, longer than the operator needs, so it would measure kubectl rather than the operator.
 * Returns the seconds the applies took.
 */
export async function applyRepositories(ctx: Context, layout: Layout, n: number, deletionPolicy: 'Delete' | 'Retain'): Promise<number> {
  const byNamespace = repositoriesByNamespace(layout, n, deletionPolicy);
  const started = now();
  await Promise.all([...byNamespace.values()].map(async (docs) => {
    for (const { placement, yaml } of docs) {
      await ctx.api.apply(namespacedRepositoryPath(placement.namespace, placement.name), yaml, 'bench');
    }
  }));
  return (now() - started) / 1000;
}

/**
 * Feeds the tracker every event of the run's repositories in the namespaces named `<prefix>-<run>-*`
 * (or those `accept` admits) from resourceVersion on. Returns the function that stops the watch; it
 * throws the watch's failure, if it failed.
 */
export function watchRepositories(ctx: Context, tracker: Tracker, resourceVersion: string, prefix: string | ((namespace: string) => boolean) = 'bench'): () => void {
  const accept = typeof prefix === 'function' ? prefix : (ns: string) => ns.startsWith(`${prefix}-${ctx.run}-`);
  let failure: Error | undefined;
  const stop = ctx.api.watch(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` }, resourceVersion, (e) => {
    if (accept(e.object.metadata.namespace)) tracker.onEvent(e);
  }, (err) => {
    failure = err;
    say(`watch failed: ${err.message}`);
  });
  const wrapped = () => {
    stop();
    ctx.res.stopWatches.delete(wrapped);
    if (failure) throw failure;
  };
  ctx.res.stopWatches.add(wrapped);
  return wrapped;
}

/** Applies N full-spec repositories of a layout and waits until every one is Ready. */
export async function createAll(ctx: Context, layout: Layout, n: number, deletionPolicy: 'Delete' | 'Retain'): Promise<{ seconds: number; tracker: Tracker }> {
  const tracker = new Tracker();
  const { resourceVersion } = await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: `${BENCH_LABEL}=${ctx.run}` });
  const stopWatch = watchRepositories(ctx, tracker, resourceVersion, layout.prefix);
  const t0 = now();
  try {
    await applyRepositories(ctx, layout, n, deletionPolicy);
    await tracker.until(`${n} objects Ready`, () => tracker.count((t) => t.readyAt !== undefined) >= n, Math.max(600_000, n * 600),
      () => `${tracker.count((t) => t.readyAt !== undefined)}/${n} Ready`);
  } finally {
    stopWatch();
  }
  const last = Math.max(...[...tracker.objects.values()].map((t) => t.readyAt ?? 0));
  return { seconds: (last - t0) / 1000, tracker };
}

/**
 * Leaves nothing of a layout behind in an environment that goes on running (BENCH_ENVIRONMENT).
 * The local control plane runs no controller manager, so a deleted namespace never empties by
 * itself: the providers and Secrets are deleted first, and the namespaces only marked for deletion.
 * The ECRRepositories must be gone already.
 */
export async function removeNamespaces(ctx: Context, layout: Layout): Promise<void> {
  await Promise.all(namespacesOf(layout).map(async (ns) => {
    await kubectlOk(ctx, ['delete', 'awsproviders,secrets', '--all', '-n', ns, '--wait=false']);
    await kubectlOk(ctx, ['delete', 'namespace', ns, '--wait=false']);
  }));
}

/**
 * Deletes a layout's repositories and waits until the API server has none left; then its namespaces.
 * `whenMarked` runs once every repository is marked for deletion, before the wait (an operator
 * started then releases them without reading any first).
 */
export async function removeLayout(ctx: Context, layout: Layout, whenMarked?: () => Promise<void>): Promise<void> {
  const selector = `${BENCH_LABEL}=${ctx.run}`;
  for (const ns of namespacesOf(layout)) await ctx.api.deleteCollection(namespacedRepositoryPath(ns), selector);
  await whenMarked?.();
  const wanted = new Set(namespacesOf(layout));
  const deadline = Date.now() + 900_000;
  for (;;) {
    const { items } = await ctx.api.list(ECR_REPOSITORIES_PATH, { labelSelector: selector });
    const left = items.filter((o) => wanted.has(o.metadata.namespace)).length;
    if (left === 0) break;
    if (Date.now() > deadline) throw new Error(`${left} ECRRepositories of ${layout.prefix} were not released in 15 minutes`);
    await sleep(1000);
  }
  await removeNamespaces(ctx, layout);
}
