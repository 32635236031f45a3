import { parseDuration } from '../src/config.js';

/** The benchmark's command line. Defaults are the figures the targets are stated for. */
export interface BenchArgs {
  n: number;
  concurrency: number;
  /** Sync period of the operators that are not measuring a periodic sync: long, so none fires. */
  syncPeriodMs: number;
  /**
   * Sync period of the operator that measures one periodic sync; 0 chooses one from the create
   * time, long enough for the startup pass to finish before the first periodic pass starts.
   */
  measureSyncPeriodMs: number;
  memoryN: number;
  skipMemory: boolean;
  /** Full-spec creates in the fault run (each configuration): once without faults, once with. */
  faultN: number;
  skipFaults: boolean;
  /** Objects being resynced while the resync run applies its probe creates. */
  resyncN: number;
  skipResync: boolean;
  /** Full-spec creates namespace A applies in the fairness run, a second before namespace B's one. */
  fairnessN: number;
  skipFairness: boolean;
  /** ECRRepositories of the events run (chart's defaults, ECR's events through one SQS queue). */
  eventsN: number;
  /** The events run's window at rest, over which AWS calls are counted. */
  eventsRestWindowMs: number;
  skipEvents: boolean;
  /** ECRPublicRepository objects of the public run. */
  publicN: number;
  skipPublic: boolean;
  /** Full-spec creates of the memory-after-work run (each configuration); --n unless given. */
  memoryWorkN?: number;
  skipMemoryWork: boolean;
  out: string;
  awsRequestsPerSecond: number;
  awsBurst: number;
  namespaces: number;
  providersPerNamespace: number;
  /** Which configurations run the create, sync and delete phases, side by side. */
  configurations: ConfigurationName[];
  /** No create, sync, delete, floor or fault runs (--only names another part). */
  skipConfigurationPhases: boolean;
  /** The part --only runs, if given. */
  only?: Part;
}

export type ConfigurationName = 'defaults' | 'unlimited';
export const CONFIGURATIONS: readonly ConfigurationName[] = ['defaults', 'unlimited'];
/** The parts that can run alone (--only). */
export const PARTS = ['fairness', 'memory', 'memory-work', 'resync', 'events', 'public'] as const;
export type Part = (typeof PARTS)[number];

export const USAGE = `Usage: tsx bench/run.ts [flags]

  --n N                       ECRRepository objects in the create, sync and delete runs (default 1000)
  --concurrency C             --max-concurrent-reconciles of the operator, and workers of the floor (default 10)
  --sync-period D             sync period while no periodic sync is being measured (default 10m)
  --measure-sync-period D     sync period of the periodic-sync measurement (default: chosen from the create time)
  --memory-n M                objects in the memory run (default 10000)
  --skip-memory               no memory run
  --memory-work-n W           full-spec creates that reach AWS in the memory-after-work run, in each
                              configuration: RSS before them, 15 s and 60 s after the last Ready, after
                              a periodic sweep and after their deletion (default: N)
  --skip-memory-work          no memory-after-work run
  --fault-n F                 creates in the fault run, without and with 15% throttles + 10% server errors (default 150)
  --skip-faults               no fault run
  --resync-n R                objects being resynced while creates are applied in the resync run (default 10000)
  --skip-resync               no resync run
  --fairness-n A              creates namespace A applies in the fairness run (chart's defaults); namespace B
                              applies one a second after A's last; again with A's account throttled (default 2000)
  --skip-fairness             no fairness run
  --events-n E                repositories of the events run (chart's defaults; ECR's events through an
                              EventBridge rule to one SQS queue): drift reverted, image count after a push,
                              AWS calls per repository per hour at rest (default 1000; the targets
                              are stated for 10000, about an hour here)
  --events-rest-window D      how long the events run counts AWS calls at rest (default 10m)
  --skip-events               no events run
  --public-n P                ECRPublicRepository objects of the public run: AWS calls per create and per sync (default 50)
  --skip-public               no public run
  --only PART                 only that part: fairness, memory, memory-work, resync, events or public (no create, sync, delete or fault runs)
  --out DIR                   where the JSON result goes (default bench/results)
  --configurations LIST       comma-separated: defaults (the chart's values: AWS rate, burst, per-operation
                              limits and concurrency of charts/infra-operator/values.yaml), unlimited (the
                              rate and burst below, no per-operation limits, --concurrency); default both
  --aws-requests-per-second R the unlimited configuration's client-side AWS rate (default 10000: high, so it does not bind)
  --aws-burst B               the unlimited configuration's client-side AWS burst (default 10000)
  --namespaces K              namespaces the objects are spread over (default 10)
  --providers-per-namespace P AWSProviders per namespace (default 2)

Needs \`npm run build\` first (runs dist/main.js). Environment variables:
  BENCH_ENVIRONMENT            JSON of a running local environment (or a file holding it, such as
                               .local/env.json) to use instead of starting one
  BENCH_PROFILE=DIR            write a CPU profile of every operator process to DIR
  BENCH_OPERATOR_NODE_OPTIONS  more NODE_OPTIONS for the operator (e.g. --inspect)
  BENCH_HEAP_SNAPSHOTS=DIR     the memory run writes heap snapshots of the operator to DIR at 1,000
                               objects and at its full count (read them with bench/heap-summary.ts)
  BENCH_KEEP=1                 keep the environment's directory and the operator logs
`;

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = {
    n: 1000,
    concurrency: 10,
    syncPeriodMs: 600_000,
    measureSyncPeriodMs: 0,
    memoryN: 10_000,
    skipMemory: false,
    faultN: 150,
    skipFaults: false,
    resyncN: 10_000,
    skipResync: false,
    fairnessN: 2000,
    skipFairness: false,
    eventsN: 1000,
    eventsRestWindowMs: 600_000,
    skipEvents: false,
    publicN: 50,
    skipPublic: false,
    skipMemoryWork: false,
    out: 'bench/results',
    awsRequestsPerSecond: 10_000,
    awsBurst: 10_000,
    namespaces: 10,
    providersPerNamespace: 2,
    configurations: [...CONFIGURATIONS],
    skipConfigurationPhases: false,
  };
  const int = (flag: string, raw: string): number => {
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${flag}: ${JSON.stringify(raw)} is not a positive integer`);
    return v;
  };
  const duration = (flag: string, raw: string): number => {
    const ms = parseDuration(raw);
    if (ms === undefined || ms <= 0) throw new UsageError(`${flag}: ${JSON.stringify(raw)} is not a duration such as 30s or 10m`);
    return ms;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new UsageError(`unexpected argument ${arg}`);
    const flag = `--${match[1]}`;
    if (flag === '--help') throw new UsageError('');
    if (['--skip-memory', '--skip-memory-work', '--skip-faults', '--skip-resync', '--skip-fairness', '--skip-events', '--skip-public'].includes(flag)) {
      if (flag === '--skip-memory') args.skipMemory = true;
      if (flag === '--skip-memory-work') args.skipMemoryWork = true;
      if (flag === '--skip-faults') args.skipFaults = true;
      if (flag === '--skip-resync') args.skipResync = true;
      if (flag === '--skip-fairness') args.skipFairness = true;
      if (flag === '--skip-events') args.skipEvents = true;
      if (flag === '--skip-public') args.skipPublic = true;
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    switch (flag) {
      case '--n': args.n = int(flag, value); break;
      case '--concurrency': args.concurrency = int(flag, value); break;
      case '--sync-period': args.syncPeriodMs = duration(flag, value); break;
      case '--measure-sync-period': args.measureSyncPeriodMs = duration(flag, value); break;
      case '--memory-n': args.memoryN = int(flag, value); break;
      case '--memory-work-n': args.memoryWorkN = int(flag, value); break;
      case '--fault-n': args.faultN = int(flag, value); break;
      case '--resync-n': args.resyncN = int(flag, value); break;
      case '--fairness-n': args.fairnessN = int(flag, value); break;
      case '--events-n': args.eventsN = int(flag, value); break;
      case '--events-rest-window': args.eventsRestWindowMs = duration(flag, value); break;
      case '--public-n': args.publicN = int(flag, value); break;
      case '--out': args.out = value; break;
      case '--aws-requests-per-second': args.awsRequestsPerSecond = int(flag, value); break;
      case '--aws-burst': args.awsBurst = int(flag, value); break;
      case '--namespaces': args.namespaces = int(flag, value); break;
      case '--providers-per-namespace': args.providersPerNamespace = int(flag, value); break;
      case '--configurations': {
        const names = value.split(',').map((v) => v.trim()).filter(Boolean);
        const bad = names.find((v) => !(CONFIGURATIONS as readonly string[]).includes(v));
        if (bad !== undefined || names.length === 0) throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a list of ${CONFIGURATIONS.join(', ')}`);
        args.configurations = CONFIGURATIONS.filter((c) => names.includes(c));
        break;
      }
      case '--only': {
        if (!(PARTS as readonly string[]).includes(value)) throw new UsageError(`${flag}: ${JSON.stringify(value)} is not one of ${PARTS.join(', ')}`);
        args.only = value as Part;
        args.skipConfigurationPhases = true;
        args.skipFaults = true;
        args.skipFairness = value !== 'fairness';
        args.skipMemory = value !== 'memory';
        args.skipMemoryWork = value !== 'memory-work';
        args.skipResync = value !== 'resync';
        args.skipEvents = value !== 'events';
        args.skipPublic = value !== 'public';
        break;
      }
      default: throw new UsageError(`unknown flag ${flag}`);
    }
  }
  return args;
}

/** A duration as the operator's flags write it. */
export function durationFlag(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
