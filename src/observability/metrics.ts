import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one metrics registry of the process (the only global mutable state we allow). Names and
 * labels follow controller-runtime and client-go so that existing dashboards and alerts work.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

// --- controller-runtime: reconcile loop -----------------------------------------------------

export const reconcileTotal = new Counter({
  name: 'controller_runtime_reconcile_total',
  help: 'Total number of reconciliations per controller',
  labelNames: ['controller', 'result'] as const,
  registers: [registry],
});

export const reconcileErrors = new Counter({
  name: 'controller_runtime_reconcile_errors_total',
  help: 'Total number of reconciliation errors per controller',
  labelNames: ['controller'] as const,
  registers: [registry],
});

export const reconcileTime = new Histogram({
  name: 'controller_runtime_reconcile_time_seconds',
  help: 'Length of time per reconciliation per controller',
  labelNames: ['controller'] as const,
  // controller-runtime's buckets
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
    1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60],
  registers: [registry],
});

export const maxConcurrentReconciles = new Gauge({
  name: 'controller_runtime_max_concurrent_reconciles',
  help: 'Maximum number of concurrent reconciles per controller',
  labelNames: ['controller'] as const,
  registers: [registry],
});

export const activeWorkers = new Gauge({
  name: 'controller_runtime_active_workers',
  help: 'Number of currently used workers per controller',
  labelNames: ['controller'] as const,
  registers: [registry],
});

// --- client-go: work queue ------------------------------------------------------------------

// client-go's buckets for queue latency and work duration: 10ns .. 1000s.
const queueBuckets = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

export const workqueueDepth = new Gauge({
  name: 'workqueue_depth',
  help: 'Current depth of workqueue',
  labelNames: ['name'] as const,
  registers: [registry],
});

export const workqueueAdds = new Counter({
  name: 'workqueue_adds_total',
  help: 'Total number of adds handled by workqueue',
  labelNames: ['name'] as const,
  registers: [registry],
});

export const workqueueRetries = new Counter({
  name: 'workqueue_retries_total',
  help: 'Total number of retries handled by workqueue',
  labelNames: ['name'] as const,
  registers: [registry],
});

export const workqueueQueueDuration = new Histogram({
  name: 'workqueue_queue_duration_seconds',
  help: 'How long in seconds an item stays in workqueue before being requested',
  labelNames: ['name'] as const,
  buckets: queueBuckets,
  registers: [registry],
});

export const workqueueWorkDuration = new Histogram({
  name: 'workqueue_work_duration_seconds',
  help: 'How long in seconds processing an item from workqueue takes',
  labelNames: ['name'] as const,
  buckets: queueBuckets,
  registers: [registry],
});

export const workqueueUnfinishedWork = new Gauge({
  name: 'workqueue_unfinished_work_seconds',
  help: 'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. Large values indicate stuck threads.',
  labelNames: ['name'] as const,
  registers: [registry],
});

export const workqueueLongestRunning = new Gauge({
  name: 'workqueue_longest_running_processor_seconds',
  help: 'How many seconds has the longest running processor for workqueue been running.',
  labelNames: ['name'] as const,
  registers: [registry],
});

// --- client-go: REST client and leader election ----------------------------------------------

/**
 * Requests that change state (every method but GET), by HTTP status code (`<error>` when no response
 * arrived). Reads are left out on purpose: the informer's lists and watches would drown the count of
 * writes per object that the benchmark and the "an unchanged resource costs no write" rule rely on.
 */
export const restClientRequests = new Counter({
  name: 'rest_client_requests_total',
  help: 'Number of HTTP requests that change state (non-GET), partitioned by status code and method',
  labelNames: ['code', 'method'] as const,
  registers: [registry],
});

export const leaderElectionStatus = new Gauge({
  name: 'leader_election_master_status',
  help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease.',
  labelNames: ['name'] as const,
  registers: [registry],
});

// --- our informer wrapper --------------------------------------------------------------------

export const informerWatchRestarts = new Counter({
  name: 'informer_watch_restarts_total',
  help: 'Watch restarts per informer, by cause: closed (server ended the stream), idle (watchdog), error, gone (410)',
  labelNames: ['informer', 'reason'] as const,
  registers: [registry],
});

export const informerRelists = new Counter({
  name: 'informer_relists_total',
  help: 'Full lists per informer (the first one included)',
  labelNames: ['informer'] as const,
  registers: [registry],
});

export const informerWatchConnected = new Gauge({
  name: 'informer_watch_connected',
  help: '1 while the informer has an open watch, 0 otherwise',
  labelNames: ['informer'] as const,
  registers: [registry],
});

// --- event recorder --------------------------------------------------------------------------

export const eventsDropped = new Counter({
  name: 'event_recorder_dropped_total',
  help: 'Kubernetes Events not written, by cause: rate_limited, error',
  labelNames: ['reason'] as const,
  registers: [registry],
});

// --- AWS (used by the aws/ layer) ------------------------------------------------------------

export const awsApiCalls = new Counter({
  name: 'aws_api_calls_total',
  help: 'AWS API calls by service, operation and outcome',
  labelNames: ['service', 'operation', 'outcome'] as const,
  registers: [registry],
});

export const awsApiCallsDeferred = new Counter({
  name: 'aws_api_calls_deferred_total',
  help: "AWS API calls not sent because the account's client-side rate would have made a worker wait; the work is requeued for when it may run",
  labelNames: ['service', 'operation'] as const,
  registers: [registry],
});

export const awsApiCallDuration = new Histogram({
  name: 'aws_api_call_duration_seconds',
  help: 'Latency of AWS API calls by service and operation',
  labelNames: ['service', 'operation'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

// --- events from AWS (src/events/) ------------------------------------------------------------

export const queueEvents = new Counter({
  name: 'infra_operator_queue_events_total',
  help: "Events read from AWSProvider event queues, by outcome: enqueued (objects queued for a reconcile), unmatched (no object concerned), own_call (caused by the operator's own calls), ignored (read-only or failed calls, other registries), malformed and unknown (dropped, never retried)",
  labelNames: ['outcome'] as const,
  registers: [registry],
});

// --- memory (src/runtime/memory.ts) -------------------------------------------------------------

export const idleCollections = new Counter({
  name: 'infra_operator_idle_collections_total',
  help: 'Last-resort garbage collections run once the controllers were idle after a burst, to give the memory the burst left behind back to the system',
  registers: [registry],
});

export const idleCollectionReleasedBytes = new Counter({
  name: 'infra_operator_idle_collection_released_bytes_total',
  help: 'Resident memory given back by the idle collections (resident set before less after)',
  registers: [registry],
});

// --- periodic sync sweep ----------------------------------------------------------------------

export const syncSweepPeriod = new Gauge({
  name: 'infra_operator_sync_sweep_period_seconds',
  help: 'Achieved period of the periodic sync sweep: the sync period, or longer when the AWS request rate cannot cover every object in it',
  labelNames: ['controller'] as const,
  registers: [registry],
});

export const syncSweepObjects = new Gauge({
  name: 'infra_operator_sync_sweep_objects',
  help: 'Objects in the latest pass of the periodic sync sweep',
  labelNames: ['controller'] as const,
  registers: [registry],
});
