/**
 * The floor: the least work that creates (or deletes) the same repositories, with the AWS SDK and
 * nothing else. Per repository one CreateRepository carrying mutability, scanning, encryption and
 * the same tags the operator sets, then PutLifecyclePolicy and SetRepositoryPolicy side by side (as
 * the operator sends them); on delete one DeleteRepository with force. A pool of `concurrency`
 * workers, as the operator's reconcile workers, under the same client-side limits as the operator
 * (the account's rate and burst, and the per-operation limits when they are on), without the
 * operator's reaction to throttles: it is a floor, not a competitor.
 *
 * It runs as its own process, like the operator: the benchmark process serves the AWS endpoint, and
 * the SDK's work in that process would slow the endpoint for both sides.
 *
 *   tsx bench/floor.ts create|delete --endpoint URL --region R --n N --concurrency C --prefix P
 *     [--requests-per-second R --burst B --operation-rate-limits true|false]
 * prints one JSON line: {"seconds": ..., "repositories": N}
 */
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  ECRClient,
  PutLifecyclePolicyCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { AccountLimiter, ECR_OPERATION_RATES } from '../src/aws/ratelimit.js';
import { DEFAULT_TAGS, LIFECYCLE_POLICY, OWNER_TAG, REPOSITORY_POLICY, SPEC_TAGS } from './manifests.js';

interface FloorArgs {
  mode: 'create' | 'delete';
  endpoint: string;
  region: string;
  n: number;
  concurrency: number;
  prefix: string;
  requestsPerSecond?: number;
  burst?: number;
  operationRateLimits: boolean;
}

function parse(argv: string[]): FloorArgs {
  const [mode, ...rest] = argv;
  if (mode !== 'create' && mode !== 'delete') throw new Error('first argument: create or delete');
  const optional = (flag: string) => {
    const i = rest.indexOf(flag);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const get = (flag: string) => {
    const v = optional(flag);
    if (v === undefined) throw new Error(`${flag} is required`);
    return v;
  };
  const rps = optional('--requests-per-second');
  const burst = optional('--burst');
  return {
    mode, endpoint: get('--endpoint'), region: get('--region'), n: Number(get('--n')), concurrency: Number(get('--concurrency')), prefix: get('--prefix'),
    ...(rps !== undefined ? { requestsPerSecond: Number(rps) } : {}),
    ...(burst !== undefined ? { burst: Number(burst) } : {}),
    operationRateLimits: optional('--operation-rate-limits') === 'true',
  };
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
  const limiter = args.requestsPerSecond !== undefined
    ? new AccountLimiter({
      requestsPerSecond: args.requestsPerSecond,
      ...(args.burst !== undefined ? { burst: args.burst } : {}),
      ...(args.operationRateLimits ? { operationRates: ECR_OPERATION_RATES } : {}),
      adaptive: false,
    })
    : undefined;
  // Every request waits for its operation's limit and the account's, as the operator's do.
  const paced = async <T>(operation: string, send: () => Promise<T>): Promise<T> => {
    await limiter?.acquire(operation);
    return send();
  };
  const started = performance.now();
  await pool(args.n, args.concurrency, async (i) => {
    const repositoryName = floorRepositoryName(args.prefix, i);
    if (args.mode === 'delete') {
      await paced('DeleteRepository', () => client.send(new DeleteRepositoryCommand({ repositoryName, force: true })));
      return;
    }
    const tags = { ...DEFAULT_TAGS, ...SPEC_TAGS, [OWNER_TAG]: `floor/repo-${i}` };
    await paced('CreateRepository', () => client.send(new CreateRepositoryCommand({
      repositoryName,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'AES256' },
      tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    })));
    await Promise.all([
      paced('PutLifecyclePolicy', () => client.send(new PutLifecyclePolicyCommand({ repositoryName, lifecyclePolicyText: LIFECYCLE_POLICY }))),
      paced('SetRepositoryPolicy', () => client.send(new SetRepositoryPolicyCommand({ repositoryName, policyText: REPOSITORY_POLICY }))),
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
