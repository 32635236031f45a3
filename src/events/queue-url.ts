/**
 * An SQS queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`), taken apart, and the
 * check that a provider may read it: in the provider's verified account and in its region.
 * The URL's host only tells the region; requests always go to the provider's SQS endpoint, never to
 * a host that a tenant wrote.
 */

export interface QueueURL {
  accountId: string;
  name: string;
  /** The region the host names, when it is one of AWS's SQS hosts; undefined for other hosts (a local endpoint). */
  region: string | undefined;
}

/** Mirrors the CRD's pattern (linear: no nested quantifiers). */
const QUEUE_URL = /^https?:\/\/([A-Za-z0-9.-]+)(?::[0-9]{1,5})?\/([0-9]{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/;
/** sqs.<region>.amazonaws.com(.cn), and the legacy <region>.queue.amazonaws.com. */
const AWS_HOSTS = [/^sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/, /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/];

export function parseQueueURL(url: string): QueueURL | undefined {
  if (url.length > 2048) return undefined;
  const m = QUEUE_URL.exec(url);
  if (!m) return undefined;
  const host = m[1]!.toLowerCase();
  let region: string | undefined;
  for (const pattern of AWS_HOSTS) {
    const r = pattern.exec(host);
    if (r) region = r[1];
  }
  return { accountId: m[2]!, name: m[3]!, region };
}

/** Why a provider cannot read the queue it names, or undefined when it may. */
export function queueMismatch(url: string, provider: { accountId: string; region: string }): { reason: string; message: string } | undefined {
  const parsed = parseQueueURL(url);
  if (!parsed) {
    return { reason: 'InvalidQueueURL', message: `spec.events.queueURL ${url} is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)` };
  }
  if (parsed.accountId !== provider.accountId) {
    return { reason: 'QueueNotInProviderAccount', message: `spec.events.queueURL names account ${parsed.accountId}, but the provider's credentials belong to account ${provider.accountId}` };
  }
  if (parsed.region !== undefined && parsed.region !== provider.region) {
    return { reason: 'QueueNotInProviderRegion', message: `spec.events.queueURL names region ${parsed.region}, but the provider's region is ${provider.region}` };
  }
  return undefined;
}
