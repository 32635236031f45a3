import type { OperatorProcess } from '../test/e2e/support/operator.js';
import { CONTROLLER } from './context.js';
import { Metrics } from './operator-stats.js';

/**
 * The operator's own counters that the phases take before and after their work: Kubernetes
 * requests, reconciles, AWS errors, heap, and the histograms that say where a reconcile's time goes.
 */

export interface OperatorCounters {
  byMethod: Record<string, number>;
  byCode: Record<string, number>;
  reconciles: number;
  awsErrors: number;
  heapUsed: number;
  heapTotal: number;
  /** Memory of Buffers and other objects outside V8's heap. */
  external: number;
  /** Sums and counts of the histograms that say where a reconcile's time goes. */
  reconcileTime: { sum: number; count: number };
  queueWait: { sum: number; count: number };
  awsCallTime: { sum: number; count: number };
}

export async function counters(op: OperatorProcess): Promise<OperatorCounters> {
  const m = await Metrics.of(op);
  const histogram = (name: string, labels: Record<string, string>) => ({ sum: m.sum(`${name}_sum`, labels), count: m.sum(`${name}_count`, labels) });
  return {
    byMethod: m.by('rest_client_requests_total', 'method'),
    byCode: m.by('rest_client_requests_total', 'code'),
    reconciles: m.sum('controller_runtime_reconcile_total', { controller: CONTROLLER }),
    awsErrors: m.sum('aws_api_calls_total', { outcome: 'error' }),
    heapUsed: m.sum('nodejs_heap_size_used_bytes'),
    heapTotal: m.sum('nodejs_heap_size_total_bytes'),
    external: m.sum('nodejs_external_memory_bytes'),
    reconcileTime: histogram('controller_runtime_reconcile_time_seconds', { controller: CONTROLLER }),
    queueWait: histogram('workqueue_queue_duration_seconds', { name: CONTROLLER }),
    awsCallTime: histogram('aws_api_call_duration_seconds', { service: 'ECR' }),
  };
}

/** Mean of a histogram between two snapshots; 0 when nothing was observed. */
export function meanBetween(after: { sum: number; count: number }, before: { sum: number; count: number }): number {
  const count = after.count - before.count;
  return count > 0 ? (after.sum - before.sum) / count : 0;
}

export function prefixed(prefix: string, record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [`${prefix}:${k}`, v]));
}
