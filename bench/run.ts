/**
 * The benchmark: `npx tsx bench/run.ts [--n 1000] [--concurrency 10] [--memory-n 10000] ...`
 * (see bench/args.ts). Starts the local environment (or uses the one in BENCH_ENVIRONMENT), runs the
 * built operator as a process against it and prints figures: create, one periodic sync, delete, the
 * same work done by a plain SDK script (the floor), creates under faults, fairness between two
 * namespaces, memory with many objects and a create during a resync. Writes every figure to
 * <out>/<date>-n<N>.json. It measures; it asserts nothing about speed.
 *
 * This file is the runner: arguments, the environment, the order of the phases and the report.
 * Each phase is a module of bench/phases/; what they share is in the modules beside this one.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEnvironment, type EnvironmentInfo } from '../test/e2e/env/environment.js';
import { Kubectl } from '../test/e2e/support/kubectl.js';
import { serviceAccountKubeconfig } from '../test/e2e/support/operator.js';
import { installCrds } from '../test/e2e/support/scenario.js';
import { parseArgs, UsageError, USAGE, type BenchArgs } from './args.js';
import { configuration, Resources, ROOT, say, type BenchConfiguration, type Context } from './context.js';
import { KubeApi } from './kube-api.js';
import { launchOperator, stopOperator } from './operator.js';
import { removeLayout } from './objects.js';
import { createPhase } from './phases/create.js';
import { deletePhase } from './phases/delete.js';
import { eventsPhase, eventsReport } from './phases/events.js';
import { fairnessPhase } from './phases/fairness.js';
import { faultPhase } from './phases/faults.js';
import { floor } from './phases/floor.js';
import { memoryPhase } from './phases/memory.js';
import { workMemoryPhase, workMemoryReport } from './phases/work-memory.js';
import { publicPhase, publicReport } from './phases/public.js';
import { resyncPhase, resyncSetup } from './phases/resync.js';
import { syncPhase } from './phases/sync.js';
import { table } from './report.js';
import { Results } from './results.js';
import { gitState, snapshotDist } from './source.js';
import { round, sumValues } from './stats.js';
import { Tracker } from './tracker.js';

/** The local environment, or the running one BENCH_ENVIRONMENT describes (`given`: it goes on running). */
async function environment(res: Resources): Promise<{ env: EnvironmentInfo; given: boolean }> {
  const given = process.env.BENCH_ENVIRONMENT;
  if (given) {
    const env = JSON.parse(given.trim().startsWith('{') ? given : readFileSync(given, 'utf8')) as EnvironmentInfo;
    say(`using the environment at ${env.apiServerUrl} (AWS endpoint ${env.awsEndpoint})`);
    return { env, given: true };
  }
  res.envDir = mkdtempSync(path.join(os.tmpdir(), 'infra-operator-bench-'));
  say('starting the local environment (etcd, kube-apiserver, moto)');
  res.env = await startEnvironment({ dir: res.envDir, verbose: true });
  return { env: res.env, given: false };
}

/**
 * Create, sync, delete and faults with one configuration, between two floors: the floor is the best
 * of both, so that noise from other work on the machine cannot flatter the operator.
 */
async function configurationPhases(ctx: Context, results: Results): Promise<void> {
  const { args, config } = ctx;
  say(`run ${ctx.run}: ${config.name} (${config.description}), N=${args.n}`);
  const floors = [await floor(ctx, 'a', args.n)];
  const tracker = new Tracker();
  await createPhase(ctx, tracker);
  await syncPhase(ctx, tracker);
  await deletePhase(ctx, tracker);
  if (!args.skipFaults) await faultPhase(ctx);
  floors.push(await floor(ctx, 'b', args.n));
  results.load.push(os.loadavg()[0] ?? 0);

  const cf = ctx.figures;
  cf['floor.createSeconds'] = Math.min(...floors.map((r) => r.createSeconds));
  cf['floor.deleteSeconds'] = Math.min(...floors.map((r) => r.deleteSeconds));
  cf['floor.awsCallsPerCreate'] = sumValues(floors[0]!.createCalls) / args.n;
  cf['floor.awsCallsPerDelete'] = sumValues(floors[0]!.deleteCalls) / args.n;
  // A worker's time per repository: with every worker busy, concurrency × elapsed / N.
  cf['floor.workerSecondsPerCreate'] = (cf['floor.createSeconds'] * config.concurrency) / args.n;
  cf['create.operatorOverFloor'] = cf['create.seconds']! / cf['floor.createSeconds'];
  cf['delete.operatorOverFloor'] = cf['delete.seconds']! / cf['floor.deleteSeconds'];
  ctx.awsCalls.floorCreate = floors[0]!.createCalls;
  ctx.awsCalls.floorDelete = floors[0]!.deleteCalls;
  results.add(ctx, config.name);
  results.floorRuns[config.name] = floors.map((r) => ({ createSeconds: round(r.createSeconds, 3), deleteSeconds: round(r.deleteSeconds, 3) }));
}

async function main(): Promise<void> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `bench: ${err.message}\n\n` : ''}${USAGE}`);
      process.exit(err.message ? 2 : 0);
    }
    throw err;
  }
  if (!existsSync(path.join(ROOT, 'dist', 'main.js'))) {
    throw new Error('dist/main.js is missing: the benchmark runs the built operator; run `npm run build` first');
  }

  // The operator and the environment run as unreferenced child processes, and waiting for one to
  // exit holds no handle: without this timer the event loop could run dry in such a wait (when no
  // AWS endpoint is served from here, with BENCH_ENVIRONMENT) and the process would end silently.
  setInterval(() => undefined, 1 << 30);

  // Relative paths given on the command line are the caller's; the run later works elsewhere.
  const startDir = process.cwd();
  if (process.env.BENCH_PROFILE) process.env.BENCH_PROFILE = path.resolve(process.env.BENCH_PROFILE);
  const res = new Resources();
  let saveProgress: ((failure?: string) => { outFile: string }) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping the operator and the environment`);
    void res.release().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const date = new Date();
    const source = await gitState();
    const { env, given } = await environment(res);
    const kubectl = new Kubectl(env.kubeconfig);
    await installCrds(kubectl);
    const saKubeconfig = await serviceAccountKubeconfig(env, kubectl);
    res.distDir = snapshotDist();
    process.chdir(res.distDir);
    res.api = await KubeApi.connect(env.kubeconfig);
    const baseRun = Math.random().toString(36).slice(2, 7);
    const configs = args.configurations.map((name) => configuration(name, args));
    const results = new Results({ date, args, configs, env, source, startDir });
    saveProgress = (failure) => results.save(failure);
    const contextFor = (config: BenchConfiguration, run = `${baseRun}${config.name.slice(0, 1)}`): Context => ({
      // A run id per configuration (or part): its namespaces and labels are its own.
      args, config, env, api: res.api as KubeApi, saKubeconfig, res, run,
      figures: {}, awsCalls: {}, kubeWrites: {}, notes: [], operatorPids: {},
    });

    if (!args.skipConfigurationPhases || !args.skipFairness || !args.skipMemoryWork) {
      // moto loads its ECR backend on first use; neither the operator nor the floor should pay for that.
      const first = contextFor(configs[0] ?? configuration('defaults', args));
      await floor({ ...first, config: configuration('unlimited', args) }, 'warmup', Math.min(20, args.n));
    }
    for (const config of args.skipConfigurationPhases ? [] : configs) {
      await configurationPhases(contextFor(config), results);
      results.save();
    }

    if (!args.skipFairness) {
      // At the chart's defaults, whatever --configurations says. Before the memory and resync runs,
      // whose objects may stay in an environment of our own: its operators must find none but its own.
      const ctx = contextFor(configuration('defaults', args), `${baseRun}f`);
      try {
        await fairnessPhase(ctx);
      } finally {
        results.add(ctx);
      }
      results.save();
    }
    if (!args.skipMemoryWork) {
      // Each configuration's burst in an operator of its own, read until the repositories are deleted
      // again. Before the memory run, whose objects may stay in an environment of our own.
      for (const config of configs) {
        const ctx = contextFor(config, `${baseRun}w${config.name.slice(0, 1)}`);
        try {
          await workMemoryPhase(ctx, args.memoryWorkN ?? args.n);
        } finally {
          results.add(ctx);
        }
        results.save();
      }
    }
    if (!args.skipMemory) {
      // Memory does not depend on the AWS limits; it runs with the chart's defaults (or the only configuration).
      const ctx = contextFor(configs.find((c) => c.name === 'defaults') ?? configs[0] ?? configuration('defaults', args), `${baseRun}m`);
      try {
        await memoryPhase(ctx, !given);
      } finally {
        // Kept even when the cleanup after the measurement fails.
        results.add(ctx);
      }
      results.save();
    }
    if (!args.skipResync) {
      // One set of Ready objects, created as fast as possible; each configuration's operator then starts on them.
      const setupCtx = contextFor(configuration('unlimited', args), `${baseRun}r`);
      const setup = await resyncSetup(setupCtx);
      results.figures['resync.setupCreateSeconds'] = setup.createSeconds;
      for (const config of configs) {
        const ctx = contextFor(config, setupCtx.run);
        await resyncPhase(ctx, setup);
        results.add(ctx, config.name);
      }
      if (given) {
        // A shared environment keeps running: an operator lets the objects go (Retain: no AWS calls).
        const { op } = await launchOperator(setupCtx, 'resync-cleanup', args.syncPeriodMs);
        await removeLayout(setupCtx, setup.layout);
        await stopOperator(setupCtx, op);
      }
    }
    if (!args.skipEvents) {
      // At the chart's defaults, whatever --configurations says.
      const ctx = contextFor(configuration('defaults', args), `${baseRun}e`);
      try {
        await eventsPhase(ctx, { repositories: args.eventsN, restWindowMs: args.eventsRestWindowMs });
      } finally {
        results.add(ctx);
      }
      results.save();
    }
    if (!args.skipPublic) {
      const ctx = contextFor(configuration('defaults', args), `${baseRun}p`);
      try {
        await publicPhase(ctx, { repositories: args.publicN });
      } finally {
        results.add(ctx);
      }
      results.save();
    }
    results.load.push(os.loadavg()[0] ?? 0);

    const { result, verdictList, outFile } = results.save();
    const configNames = configs.map((c) => c.name);
    const heading = args.only
      ? `the ${args.only} run alone\n`
      : `N=${args.n}, ${args.namespaces} namespaces × ${args.providersPerNamespace} AWSProviders, memory run ${args.skipMemory ? 'skipped' : `${args.memoryN} objects`}\n`;
    process.stdout.write(`\ninfra-operator benchmark: ${heading}` +
      configs.map((c) => `  ${c.name}: ${c.description}\n`).join('') +
      `${result.machine.cpus} CPUs, ${result.machine.memoryMiB} MiB, node ${result.machine.node}, kube-apiserver ${env.kubeVersion}, load ${result.machine.loadAverage1m.join(' / ')}\n\n`);
    process.stdout.write(`${table(result.figures, configNames, verdictList)}\n\n`);
    for (const section of [workMemoryReport(result.figures, configs), eventsReport(result.figures), publicReport(result.figures)]) if (section) process.stdout.write(`${section}\n\n`);
    for (const [phase, calls] of Object.entries(result.awsCallsByOperation)) process.stdout.write(`AWS calls, ${phase}: ${JSON.stringify(calls)}\n`);
    for (const note of result.notes) process.stdout.write(`note: ${note}\n`);
    process.stdout.write(`\nresult: ${path.relative(startDir, outFile) || outFile}\n`);
  } catch (err) {
    // Said before cleaning up, so that nothing in the cleanup can hide it.
    process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
    try {
      const saved = saveProgress?.(err instanceof Error ? err.message : String(err));
      if (saved) process.stderr.write(`bench: what was measured before that is in ${saved.outFile}\n`);
    } catch {
      /* the failure above is what matters */
    }
  } finally {
    await res.release();
  }
}

main().then(() => process.exit(process.exitCode ?? 0), (err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
