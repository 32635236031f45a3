import type { RegistryObject } from '../api/registry-types.js';
import type { AWSProvider } from '../kinds/awsprovider/types.js';
import { providerReadiness } from '../kinds/awsprovider/client.js';
import type { ObjectKey } from '../runtime/types.js';
import type { Registry } from './merge-types.js';

/**
 * The work-queue key of a registry-level object is its registry, not the object: `<account>/<region>`
 * of its provider. An object whose provider is missing, not Ready or not yet verified has no
 * registry; it is keyed `_pending/<namespace>/<provider>` so that its status can say why.
 */

export const PENDING = '_pending';

export type ProviderLookup = { get(namespace: string, name: string): AWSProvider | undefined };

/** The registry an AWSProvider names, once its credentials are verified. */
export function registryOfProvider(provider: AWSProvider | undefined): Registry | undefined {
  if (!provider || !providerReadiness(provider).ready) return undefined;
  const accountId = provider.status?.accountID;
  if (!accountId) return undefined;
  return { accountId, region: provider.spec.region };
}

export function registryKey(registry: Registry): ObjectKey {
  return { namespace: registry.accountId, name: registry.region };
}

export function pendingKey(namespace: string, providerName: string): ObjectKey {
  return { namespace: PENDING, name: `${namespace}/${providerName}` };
}

export function keyOfObject(obj: RegistryObject, providers: ProviderLookup): ObjectKey {
  const namespace = obj.metadata.namespace;
  const providerName = obj.spec?.providerRef?.name ?? '';
  const registry = registryOfProvider(providers.get(namespace, providerName));
  return registry ? registryKey(registry) : pendingKey(namespace, providerName);
}

/** Keys a provider change touches: its registry (if any) and the pending key of its objects. */
export function keysOfProvider(provider: AWSProvider): ObjectKey[] {
  const keys = [pendingKey(provider.metadata.namespace, provider.metadata.name)];
  const registry = registryOfProvider(provider);
  if (registry) keys.push(registryKey(registry));
  return keys;
}

export function sameRegistry(a: Registry | undefined, b: Registry): boolean {
  return !!a && a.accountId === b.accountId && a.region === b.region;
}
