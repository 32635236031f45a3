import type { AwsError } from '../aws/errors.js';
import { Failure } from './managed.js';

/**
 * How a classified AWS failure shows in the conditions, as SPEC.md says: what clears by itself
 * (throttling, an expired token or request, a network failure, a limit that is retried) is
 * Reconciling and retried by the work queue; what only the user can fix is Stalled. The `retryable`
 * flag of aws/errors.ts decides; a vanished resource is looked at again rather than stalled on.
 */
export function awsFailure(err: AwsError): Failure {
  const phase = { reason: reasonOf(err), message: err.message };
  if (err.retryable || err.kind === 'NotFound') {
    // Held back by the operator's own client-side rate (the work runs again when it may): no Warning.
    const quiet = err.code === 'ClientRateLimited';
    return new Failure({ kind: 'progressing', ...phase }, 'backoff', { cause: err, keepsReady: err.kind === 'Throttled', quiet });
  }
  return new Failure({ kind: 'stalled', ...phase }, 'stall', { cause: err });
}

function reasonOf(err: AwsError): string {
  switch (err.kind) {
    case 'Throttled':
      return 'Throttled';
    case 'AccessDenied':
      return 'AccessDenied';
    case 'KMSKeyInvalid':
      return 'KMSKeyInvalid';
    case 'LimitExceeded':
      return 'LimitExceeded';
    case 'InvalidParameter':
      return 'InvalidSpec';
    default:
      return 'AWSError';
  }
}
