import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { environmentVariables } from './env/environment.js';
import { sharedEnv } from './support/context.js';
import { Kubectl, run } from './support/kubectl.js';
import { serviceAccountKubeconfig, startOperator, type OperatorProcess } from './support/operator.js';
import { blocksOf, type Block } from './support/doc-blocks.js';
import { installCrds, waitForGone } from './support/scenario.js';

/**
 * Documentation that runs: every ```yaml block and every kubectl or aws command line of README.md
 * and docs/*.md is executed against the local environment, with the operator running and
 * config/samples applied (the objects the docs talk about, such as app-backend, exist).
 *
 * - A Kubernetes object is applied with `kubectl apply --dry-run=server` (schema, CEL rules and
 *   admission all run); a block that holds only `spec:` is a fragment of an ECRRepository and is
 *   applied inside one; a block of the chart's values is rendered with `helm template -f`.
 * - A command line runs as written (backslash continuations joined, pipes kept) with KUBECONFIG and
 *   the AWS endpoint of the environment, from the repository root, and must exit 0.
 * - A block that needs what a local environment cannot offer carries a marker on the line before
 *   its fence, for example `<!-- needs: eks -->` (comma-separated: eks, flux, argocd, docker, kind, previous-release,
 *   node). It is left out, and listed in the output. `node` marks README's "Install with Helm" block,
 *   which the node tier runs as written (test/e2e/node.test.ts).
 */

const repo = path.resolve('.');
const NEEDS = new Set(['eks', 'flux', 'argocd', 'docker', 'kind', 'previous-release', 'node']);

/** The kubectl and aws command lines of a shell block: continuations joined, heredoc bodies skipped. */
function commandLines(text: string): string[] {
  const logical: string[] = [];
  let current = '';
  let heredoc: string | undefined;
  for (const raw of text.split('\n')) {
    if (heredoc !== undefined) {
      if (raw.trim() === heredoc) heredoc = undefined;
      continue;
    }
    const line = current ? `${current} ${raw.trim()}` : raw;
    if (line.trimEnd().endsWith('\\')) {
      current = line.trimEnd().slice(0, -1).trimEnd();
      continue;
    }
    // A pipeline continued on the next line.
    if (/\|\s*$/.test(line.trimEnd())) {
      current = line.trimEnd();
      continue;
    }
    current = '';
    const start = /<<-?\s*'?"?(\w+)'?"?/.exec(line);
    if (start) heredoc = start[1];
    logical.push(line);
  }
  return logical
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .filter((l) => /^(?:export\s+)?(?:\w+=\$\(\s*)?(?:kubectl|aws)\s/.test(l) || /^\w+=\$\((?:kubectl|aws)\s/.test(l));
}

const docFiles = ['README.md', ...readdirSync(path.join(repo, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const blocks = docFiles.flatMap((f) => blocksOf(f));
const yamlBlocks = blocks.filter((b) => /^ya?ml$/.test(b.lang));
const shellBlocks = blocks.filter((b) => /^(bash|sh|shell|console)$/.test(b.lang));
const excluded = blocks.filter((b) => b.needs.length > 0 && (/^ya?ml$/.test(b.lang) || commandLines(b.text).length > 0));
const where = (b: Block) => `${b.file}:${b.line}`;

const chartValueKeys = new Set(Object.keys(parseAllDocuments(readFileSync(path.join(repo, 'charts/infra-operator/values.yaml'), 'utf8'))[0]?.toJS() ?? {}));

describe('documentation that runs', () => {
  const env = sharedEnv();
  const kubectl = new Kubectl(env.kubeconfig);
  const shellEnv = { ...process.env, ...environmentVariables(env) };
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-docs-'));
  let operator: OperatorProcess | undefined;
  let helmBin = '';

  beforeAll(async () => {
    await installCrds(kubectl);
    operator = await startOperator(env, { kubeconfig: await serviceAccountKubeconfig(env, kubectl) });
    // The objects the documentation talks about.
    await kubectl.ok(['apply', '-k', 'config/samples']);
    await kubectl.ok(['wait', '--for=condition=Ready', 'ecrrepositories', '--all', '-n', 'default', '--timeout=120s']);
    const helm = await run('bash', ['hack/build-helm.sh'], { timeoutMs: 25 * 60_000 });
    if (helm.code !== 0) throw new Error(`hack/build-helm.sh failed: ${helm.stderr.slice(-2000)}`);
    helmBin = helm.stdout.trim().split('\n').pop() ?? '';
  });

  afterAll(async () => {
    // Leave the samples as nobody applied them: repositories first, while the operator still runs.
    const names = (await kubectl.ok(['get', 'ecrrepositories', '-n', 'default', '-o', 'name'])).trim().split('\n').filter(Boolean);
    for (const n of names) await kubectl.run(['delete', n, '-n', 'default', '--wait=false']);
    for (const n of names) await waitForGone(kubectl, 'ecrrepository', 'default', n.split('/')[1] ?? '');
    await kubectl.run(['delete', '-k', 'config/samples', '--ignore-not-found']);
    await operator?.stop();
  });

  it('reads the needs marker on the line before a fence, and joins continued command lines', () => {
    const sample = [
      'Text.', '', '<!-- needs: eks, docker -->', '', '```bash', 'kubectl get pods \\', '  -A', 'aws sts get-caller-identity | jq .', '```',
      '```yaml', 'a: 1', '```', '```sh', "cat > f <<'EOF'", 'kubectl inside a heredoc', 'EOF', 'export X=$(aws iam get-role --role-name r)', 'echo done', '```',
    ].join('\n');
    const [marked, plain, heredoc] = blocksOf('sample.md', sample);
    expect(marked).toMatchObject({ lang: 'bash', line: 5, needs: ['eks', 'docker'] });
    expect(commandLines(marked!.text)).toEqual(['kubectl get pods -A', 'aws sts get-caller-identity | jq .']);
    expect(plain).toMatchObject({ lang: 'yaml', needs: [] });
    expect(commandLines(heredoc!.text)).toEqual(['export X=$(aws iam get-role --role-name r)']);
  });

  it('finds the documentation and lists what it leaves out', () => {
    expect(yamlBlocks.length).toBeGreaterThan(0);
    expect(shellBlocks.flatMap((b) => commandLines(b.text)).length).toBeGreaterThan(10);
    const lines = excluded.map((b) => `  ${where(b)} (${b.lang}) needs: ${b.needs.join(', ')}`);
    console.log(`documentation blocks left out (${excluded.length}):\n${lines.join('\n') || '  none'}`);
    for (const b of excluded) for (const n of b.needs) expect(NEEDS, `${where(b)}: unknown need "${n}"`).toContain(n);
  });

  it.each(yamlBlocks.filter((b) => b.needs.length === 0).map((b) => [where(b), b] as const))('yaml block %s applies', async (_w, block) => {
    const docs = parseAllDocuments(block.text).map((d) => d.toJS() as Record<string, unknown> | null).filter((d): d is Record<string, unknown> => !!d);
    expect(docs.length, 'an empty block').toBeGreaterThan(0);
    const objects: unknown[] = [];
    const values: Record<string, unknown>[] = [];
    for (const doc of docs) {
      const keys = Object.keys(doc);
      if (doc.apiVersion && doc.kind) {
        objects.push(doc);
      } else if (keys.length === 1 && keys[0] === 'spec') {
        // A fragment of an ECRRepository's spec, shown in the context of one.
        objects.push({
          apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
          kind: 'ECRRepository',
          metadata: { name: 'docs-fragment', namespace: 'default' },
          spec: { providerRef: { name: 'production-aws' }, repositoryName: 'docs/fragment', ...(doc.spec as object) },
        });
      } else if (keys.every((k) => chartValueKeys.has(k))) {
        values.push(doc);
      } else {
        throw new Error(`${where(block)}: neither Kubernetes objects, an ECRRepository spec fragment nor chart values (keys ${keys.join(', ')}); mark it <!-- needs: ... --> if it cannot run here`);
      }
    }
    if (objects.length > 0) {
      const result = await kubectl.run(['apply', '--dry-run=server', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
      expect(result.code, `${where(block)}: kubectl apply --dry-run=server\n${result.stderr}`).toBe(0);
    }
    for (const [i, v] of values.entries()) {
      const file = path.join(scratch, `values-${block.line}-${i}.yaml`);
      writeFileSync(file, stringify(v));
      const result = await run(helmBin, ['template', 'infra-operator', 'charts/infra-operator', '-n', 'infra-operator-system', '-f', file]);
      expect(result.code, `${where(block)}: helm template -f\n${result.stderr}`).toBe(0);
    }
  });

  const commands = shellBlocks.filter((b) => b.needs.length === 0).flatMap((b) => commandLines(b.text).map((c) => [`${where(b)}: ${c}`, c] as const));
  it.each(commands)('%s', async (_w, command) => {
    // `export X=$(cmd)` exits 0 whatever cmd did; `X=$(cmd)` has cmd's status.
    const script = command.replace(/^export\s+(\w+=\$\()/, '$1');
    const result = await run('bash', ['-o', 'pipefail', '-c', script], { env: shellEnv, timeoutMs: 120_000 });
    expect(result.code, `exit ${result.code}\n${result.stderr.slice(-2000)}`).toBe(0);
  });
});
