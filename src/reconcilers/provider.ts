import type { AWSProvider } from '../kinds/awsprovider/types.js';
import { providerReadiness } from '../kinds/awsprovider/client.js';
import { ProviderConfigError, type Connection } from '../providers/connections.js';
import type { Lookup } from './dependencies.js';
import { Failure } from './managed.js';

/**
 * The AWSProvider an object acts through and its verified connection, or a Failure that says why
 * not. Every kind acts only through the provider its own spec names: never another object's.
 * The AWSProvider watch brings the object back as soon as the provider changes. A provider being
 * deleted is not verified again (its Secret may already be gone with its namespace): its last
 * verified connection serves the deletions its finalizer waits for.
 */

export interface ProviderDeps {
  providers: Lookup<AWSProvider>;
  connections: { get(provider: AWSProvider): Promise<Connection> };
}

export interface ProviderUse {
  namespace: string;
  name: string;
  /** Deleting: messages say that the deletion waits, and how to release the object instead. */
  deleting?: { hint: string } | undefined;
}

export async function connectProvider(deps: ProviderDeps, use: ProviderUse): Promise<{ provider: AWSProvider; connection: Connection }> {
  const { namespace, name } = use;
  const prefix = use.deleting ? 'deletion waits: ' : '';
  const suffix = use.deleting ? `; ${use.deleting.hint}` : '';
  // Deleting with a provider that cannot act needs the user (fix the provider, or let the object go):
  // Stalled, and looked at again when the provider changes.
  const kind = use.deleting ? 'stalled' : 'progressing';
  const provider = deps.providers.get(namespace, name);
  if (!provider) {
    throw new Failure({ kind, reason: 'ProviderNotReady', message: `${prefix}AWSProvider ${namespace}/${name} does not exist${suffix}` }, 'wait');
  }
  const readiness = providerReadiness(provider);
  const goingAway = Boolean(provider.metadata.deletionTimestamp);
  if (!readiness.ready && !(goingAway && readiness.verifiedGeneration !== undefined)) {
    const message = `${prefix}AWSProvider ${namespace}/${name} is not Ready: ${readiness.message}${suffix}`;
    // A provider that is merely not verified yet (operator startup) is no failure worth a Warning.
    throw new Failure({ kind, reason: 'ProviderNotReady', message }, 'wait', { quiet: readiness.verifiedGeneration === undefined && !readiness.failed && !use.deleting });
  }
  const usable = goingAway && readiness.verifiedGeneration !== undefined
    ? { ...provider, metadata: { ...provider.metadata, generation: readiness.verifiedGeneration } }
    : provider;
  try {
    return { provider, connection: await deps.connections.get(usable) };
  } catch (err) {
    if (err instanceof ProviderConfigError) {
      throw new Failure({ kind, reason: 'ProviderNotReady', message: `${prefix}${err.message}${suffix}` }, 'wait');
    }
    throw err;
  }
}
