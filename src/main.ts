import os from 'node:os';
import { AWS_PROVIDER, type AWSProvider } from './kinds/awsprovider/types.js';
import { ECR_REPOSITORY, type ECRRepository } from './kinds/ecrrepository/types.js';
import { ECR_PUBLIC_REPOSITORY, ECR_PUBLIC_REPOSITORY_REF, type ECRPublicRepository } from './kinds/ecrpublicrepository/types.js';
import { EcrPublicRepositoryReconciler } from './kinds/ecrpublicrepository/client.js';
import { ecrPublicRepositoryController } from './kinds/ecrpublicrepository/watches.js';
import { EcrPublicClients, ecrPublicEndpointFromEnv } from './aws/ecr-public.js';
import { AwsClientFactory } from './aws/clients.js';
import { operatorAwsEnvironment } from './aws/credentials.js';
import { ConfigError, helpText, parseConfig, type Config } from './config.js';
import { awsProviderController } from './kinds/awsprovider/watches.js';
import { ecrRepositoryController } from './kinds/ecrrepository/watches.js';
import { repositorySweep } from './kinds/ecrrepository/sweep.js';
import { createLogger } from './observability/logger.js';
import { awsApiCallDuration, awsApiCalls, awsApiCallsDeferred, idleCollectionReleasedBytes, idleCollections } from './observability/metrics.js';
import { ProviderConnections } from './providers/connections.js';
import { AWS_PROVIDER_REF } from './kinds/awsprovider/types.js';
import { AwsProviderReconciler, type ProviderUser } from './kinds/awsprovider/client.js';
import { ECR_REPOSITORY_REF } from './kinds/ecrrepository/types.js';
import { EcrRepositoryReconciler } from './kinds/ecrrepository/client.js';
import { registryPartControllers } from './kinds/index.js';
import { RegistryDocuments } from './aws/registry-documents.js';
import { SecretsManagerClients } from './aws/secrets-manager.js';
import { EventRecorder } from './runtime/events.js';
import { Informer } from './runtime/informer.js';
import { KubeClient } from './runtime/kube.js';
import { loadKubeConnection } from './runtime/kubeconfig.js';
import { Manager } from './runtime/manager.js';
import { IdleCollector, lastResortCollection } from './runtime/memory.js';
import { realClock } from './runtime/clock.js';
import { ObjectWriter } from './runtime/status.js';
import { ProviderEvents } from './events/events.js';
import { SqsQueueClient, sqsEndpointFor } from './events/sqs.js';
import { fullReadEveryMs, SweepGate, sweptView } from './events/sweep-gate.js';

/** Flags and environment -> a running Manager with both controllers. Nothing else lives here. */

function parse(): Config | undefined {
  try {
    const parsed = parseConfig(process.argv.slice(2), process.env);
    if (parsed.help) {
      process.stdout.write(helpText());
      return undefined;
    }
    return parsed.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`infra-operator: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = parse();
  if (!config) return;
  const logger = createLogger({ level: config.logLevel });

  // KUBECONFIG, ~/.kube/config or in-cluster, as kubectl chooses (not @kubernetes/client-node:
  // importing it costs about 80 MiB of memory).
  const kube = new KubeClient(loadKubeConnection(), { userAgent: 'infra-operator' });

  const namespace = config.watchNamespace;
  const providers = new Informer<AWSProvider>({ client: kube, ref: AWS_PROVIDER_REF, namespace, logger, name: AWS_PROVIDER.plural });
  const repositories = new Informer<ECRRepository>({ client: kube, ref: ECR_REPOSITORY_REF, namespace, logger, name: ECR_REPOSITORY.plural });
  const publicRepositories = new Informer<ECRPublicRepository>({ client: kube, ref: ECR_PUBLIC_REPOSITORY_REF, namespace, logger, name: ECR_PUBLIC_REPOSITORY.plural });

  const factory = new AwsClientFactory({
    env: operatorAwsEnvironment(),
    requestsPerSecond: config.awsRequestsPerSecond,
    burst: config.awsBurst,
    ...(config.awsOperationRateLimits ? {} : { operationRates: false as const }),
    onCall: (service, operation, outcome, seconds) => {
      awsApiCalls.inc({ service, operation, outcome });
      awsApiCallDuration.observe({ service, operation }, seconds);
    },
    onDeferred: (service, operation) => awsApiCallsDeferred.inc({ service, operation }),
    // The work queue hands a repository's work to a worker only when its account's budget has room
    // (budgetOf below), and the key keeps its place meanwhile; a call then waits for its turn in the
    // budget. Sending calls away instead made a retried reconcile find the budget spent again and
    // starved a user's create behind a resync.
    maxRateLimitWaitMs: Number.POSITIVE_INFINITY,
    credentialDeps: { refreshBeforeMs: config.credentialRefreshMarginMs },
  });
  // Repository settings read outside a sweep's batches serve periodic reconciles this long.
  const connections = new ProviderConnections({
    kube,
    factory,
    registrySnapshotMaxAgeMs: Math.max(5_000, config.syncPeriodMs * 0.15),
    tenancy: { allowCustomEndpoints: config.allowCustomEndpoints, ambientIdentityNamespaces: config.ambientIdentityNamespaces },
  });
  const writer = new ObjectWriter(kube);
  const events = new EventRecorder({ client: kube, component: 'infra-operator', logger });

  // Account-wide kinds: cluster-scoped, each object acting with its own provider's identity; writes to
  // one registry go one at a time under its lock, and sweeps share reads per identity only.
  const documents = new RegistryDocuments({ sharedReadMaxAgeMs: Math.max(5_000, config.syncPeriodMs * 0.15) });
  // Secrets Manager (pull through cache credentials kept from a Kubernetes Secret): a client per
  // provider identity, built when a rule needs one, paced by the account's limiter.
  const secretsManager = new SecretsManagerClients({
    limiterFor: (key) => factory.limiterFor(key),
    onCall: (service, operation, outcome, seconds) => {
      awsApiCalls.inc({ service, operation, outcome });
      awsApiCallDuration.observe({ service, operation }, seconds);
    },
  });
  const registry = registryPartControllers({
    kube, providers, connections, documents, writer, events, logger,
    syncPeriodMs: config.syncPeriodMs,
    concurrency: Math.min(4, config.maxConcurrentReconciles),
    clusterName: config.clusterName,
    secretPollPeriodMs: config.secretPollPeriodMs,
    secretsManager,
  });
  // A provider being deleted waits for every object that still holds our finalizer and names it:
  // repositories of its namespace and cluster-scoped objects alike.
  const providerUsers = { list: (): ProviderUser[] => [...repositories.list(), ...publicRepositories.list(), ...registry.informers.flatMap((i) => i.list())] };
  const providerReconciler = new AwsProviderReconciler({
    providers, users: providerUsers, connections, writer, events, logger,
    verifyPeriodMs: config.providerVerifyPeriodMs,
    secretPollPeriodMs: config.secretPollPeriodMs,
  });
  const repositoryReconciler = new EcrRepositoryReconciler({
    repositories, providers, connections, writer, events, logger, clusterName: config.clusterName,
    fullReadEveryMs: (ns, name) => (providerEvents.inEventMode(ns, name) ? fullReadEveryMs(config.syncPeriodWithEventsMs) : undefined),
  });
  // ECR Public: one endpoint in us-east-1; a client per provider identity, built when an object needs it.
  const ecrPublic = new EcrPublicClients({
    limiterFor: (account) => factory.limiterFor(account),
    onCall: (service, operation, outcome, seconds) => {
      awsApiCalls.inc({ service, operation, outcome });
      awsApiCallDuration.observe({ service, operation }, seconds);
    },
    operatorEndpoint: ecrPublicEndpointFromEnv(process.env),
  });
  const publicRepositoryReconciler = new EcrPublicRepositoryReconciler({
    repositories: publicRepositories, providers, connections, gateways: ecrPublic, logos: kube, writer, events, logger, clusterName: config.clusterName,
  });

  const manager = new Manager({
    client: kube,
    logger,
    leaderElection: {
      enabled: config.leaderElect,
      namespace: config.leaderElectionNamespace,
      name: config.leaderElectionId,
      identity: `${os.hostname()}_${process.pid}`,
    },
    metricsAddr: config.metricsBindAddress,
    probeAddr: config.healthProbeBindAddress,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    events,
  });
  // The writer remembers its own writes until the caches hold them; every informer tells it so.
  for (const informer of [providers, repositories, ...registry.informers]) informer.onEvent((e) => writer.observed(e.object));
  publicRepositories.onEvent((e) => writer.observed(e.object));
  manager.addInformer(providers);
  manager.addInformer(repositories);
  manager.addInformer(publicRepositories);
  manager.addController(awsProviderController({ providers, users: [repositories, publicRepositories, ...registry.informers], reconciler: providerReconciler, logger, concurrency: Math.min(4, config.maxConcurrentReconciles) }));
  // Objects whose provider's event queue is read are swept every --sync-period-with-events only.
  const sweepGate = new SweepGate({ inEventMode: (ns, name) => providerEvents.inEventMode(ns, name), periodWithEventsMs: config.syncPeriodWithEventsMs, syncPeriodMs: config.syncPeriodMs });
  const repositoryController = ecrRepositoryController({
    repositories: sweptView(repositories, (r: ECRRepository) => sweepGate.due(r)), providers, reconciler: repositoryReconciler, logger,
    concurrency: config.maxConcurrentReconciles,
    syncPeriodMs: config.syncPeriodMs,
    sweep: { ...repositorySweep({ providers, connections, requestsPerSecond: config.awsRequestsPerSecond, logger }), shareOf: (r) => sweepGate.shareOf(r) },
    budgetOf: (namespace, name) => connections.limiterOf(namespace, name),
  });
  manager.addController(repositoryController);
  manager.addController(ecrPublicRepositoryController({
    repositories: publicRepositories, providers, reconciler: publicRepositoryReconciler, logger,
    concurrency: config.maxConcurrentReconciles,
    syncPeriodMs: config.syncPeriodMs,
  }));
  for (const informer of registry.informers) manager.addInformer(informer);
  for (const controller of registry.controllers) manager.addController(controller);

  let stopping = false;
  // ECR's events from the queues AWSProviders name (spec.events.queueURL): keys queued in the controllers above.
  const providerEvents = new ProviderEvents({
    providers, connections, writer,
    repositories: { list: () => repositories.list(), enqueue: (key, priority) => repositoryController.enqueue(key, priority) },
    registryObjects: registry.controllers.map((controller, i) => ({ list: () => registry.informers[i]!.list(), enqueue: (key, priority) => controller.enqueue(key, priority) })),
    queueClient: (provider, connection) => new SqsQueueClient({
      region: provider.spec.region,
      credentials: connection.session.credentials,
      endpoint: sqsEndpointFor(provider, process.env),
      onCall: (service, operation, outcome, seconds) => {
        awsApiCalls.inc({ service, operation, outcome });
        awsApiCallDuration.observe({ service, operation }, seconds);
      },
    }),
    active: () => manager.isLeader(),
    syncPeriodMs: config.syncPeriodMs,
    syncPeriodWithEventsMs: config.syncPeriodWithEventsMs,
    logger,
  });

  const idleCollector = new IdleCollector({
    pending: () => manager.pendingWork(),
    rss: () => process.memoryUsage.rss(),
    collect: lastResortCollection(),
    clock: realClock,
    onCollect: ({ beforeBytes, afterBytes, seconds }) => {
      idleCollections.inc();
      idleCollectionReleasedBytes.inc(Math.max(0, beforeBytes - afterBytes));
      const mib = (bytes: number) => Math.round(bytes / 1048576);
      logger.info({ rssBeforeMiB: mib(beforeBytes), rssAfterMiB: mib(afterBytes), seconds: Number(seconds.toFixed(3)) }, 'idle after a burst: memory given back');
    },
  });
  if (!idleCollector.enabled) logger.info('memory a burst leaves behind is given back only as V8 decides: start Node.js with --expose-gc, as the image does, to give it back once the controllers are idle');

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    idleCollector.stop();
    void providerEvents.stop();
    manager
      .stop()
      .then(() => {
        factory.close();
        ecrPublic.close();
        secretsManager.close();
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  logger.info({ config: { ...config } }, 'starting');
  providerEvents.start();
  // Started first: the start-up (caches filled, providers verified) is measured as a burst too.
  idleCollector.start();
  await manager.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`infra-operator: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
