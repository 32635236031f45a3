/**
 * The floor: the least work that creates (or deletes) the same repositories, with the AWS SDK and
 * nothing else. Per repository one CreateRepository carrying mutability, scanning, encryption and
 * the same tags the operator sets, then PutLifecyclePolicy and SetRepositoryPolicy side by side (as
 * the operator sends them); on delete one DeleteRepository with force. A pool of `concurrency`
 * workers, as the operator's reconcile workers.
 *
 * It runs as its own process, like the operator: the benchmark process serves the AWS endpoint, and
 * the SDK's work in that process would slow the endpoint for both sides.
 *
 *   tsx bench/floor.ts create|delete --endpoint URL --region R --n N --concurrency C --prefix P
 * prints one JSON line: {"seconds": ..., "repositories": N}
 */
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  ECRClient,
  PutLifecyclePolicyCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { DEFAULT_TAGS, LIFECYCLE_POLICY, OWNER_TAG, REPOSITORY_POLICY, SPEC_TAGS } from './manifests.js';

interface FloorArgs {
  mode: 'create' | 'delete';
  endpoint: string;
  region: string;
  n: number;
  concurrency: number;
  prefix: string;
}

function parse(argv: string[]): FloorArgs {
  const [mode, ...rest] = argv;
  if (mode !== 'create' && mode !== 'delete') throw new Error('first argument: create or delete');
  const get = (flag: string) => {
    const i = rest.indexOf(flag);
    const v = i >= 0 ? rest[i + 1] : undefined;
    if (v === undefined) throw new Error(`${flag} is required`);
    return v;
  };
  return { mode, endpoint: get('--endpoint'), region: get('--region'), n: Number(get('--n')), concurrency: Number(get('--concurrency')), prefix: get('--prefix') };
}

function floorRepositoryName(prefix: string, i: number): string {
  return `${prefix}/repo-${String(i).padStart(5, '0')}`;
}

async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) await work(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const client = new ECRClient({
    region: args.region,
    endpoint: args.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const started = performance.now();
  await pool(args.n, args.concurrency, async (i) => {
    const repositoryName = floorRepositoryName(args.prefix, i);
    if (args.mode === 'delete') {
      await client.send(new DeleteRepositoryCommand({ repositoryName, force: true }));
      return;
    }
    const tags = { ...DEFAULT_TAGS, ...SPEC_TAGS, [OWNER_TAG]: `floor/repo-${i}` };
    await client.send(new CreateRepositoryCommand({
      repositoryName,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'AES256' },
      tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }));
    await Promise.all([
      client.send(new PutLifecyclePolicyCommand({ repositoryName, lifecyclePolicyText: LIFECYCLE_POLICY })),
      client.send(new SetRepositoryPolicyCommand({ repositoryName, policyText: REPOSITORY_POLICY })),
    ]);
  });
  const seconds = (performance.now() - started) / 1000;
  client.destroy();
  process.stdout.write(`${JSON.stringify({ seconds, repositories: args.n })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`floor: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
