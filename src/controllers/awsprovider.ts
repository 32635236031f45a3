import type { AWSProvider } from '../api/types.js';
import type { Logger } from '../observability/logger.js';
import type { AwsProviderReconciler } from '../reconcilers/awsprovider.js';
import { Controller, defaultPredicate } from '../runtime/controller.js';
import type { Informer } from '../runtime/informer.js';

/**
 * What the AWSProvider controller watches: its own objects. Referenced Secrets are read on every
 * pass rather than watched, so the operator needs only `get` on Secrets; the reconciler asks to be
 * called again each secret poll period, which is how a rotated key is noticed.
 */
export function awsProviderController(opts: {
  providers: Informer<AWSProvider>;
  reconciler: AwsProviderReconciler;
  logger: Logger;
  concurrency: number;
}): Controller<AWSProvider> {
  return new Controller<AWSProvider>({
    name: 'awsprovider',
    informer: opts.providers,
    reconcile: (key) => opts.reconciler.reconcile(key),
    logger: opts.logger,
    concurrency: opts.concurrency,
    resyncPeriodMs: 0,
    predicate: defaultPredicate,
  });
}
