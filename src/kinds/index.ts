import type { RegistryPartObject } from '../api/registry-part.js';
import { registryPartReconciler, type PartKind, type RegistryPartDeps } from '../reconcilers/registry-part.js';
import { Controller, defaultPredicate } from '../runtime/controller.js';
import { Informer } from '../runtime/informer.js';
import type { KubeClient } from '../runtime/kube.js';
import type { KubeObject } from '../runtime/types.js';
import type { AWSProvider } from './awsprovider/types.js';
import { providerChangeMatters } from './ecrrepository/watches.js';
import { registryPolicyStatementPart } from './ecrregistrypolicystatement/part.js';
import { scanningConfigurationPart } from './ecrregistryscanningconfiguration/part.js';
import { replicationRulePart } from './ecrreplicationrule/part.js';
import { signingRulePart } from './ecrsigningrule/part.js';
import { accountSettingPart } from './ecraccountsetting/part.js';
import { pullTimeUpdateExclusionPart } from './ecrpulltimeupdateexclusion/part.js';

/**
 * The account-wide kinds whose objects each own one part of a registry document. Each runs on the
 * generic managed reconciler through src/reconcilers/registry-part.ts; adding one is a folder and a
 * line here.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const REGISTRY_PART_KINDS: ReadonlyArray<PartKind<RegistryPartObject, any, any>> = [
  replicationRulePart as unknown as PartKind<RegistryPartObject, unknown, unknown>,
  registryPolicyStatementPart as unknown as PartKind<RegistryPartObject, unknown, unknown>,
  scanningConfigurationPart as unknown as PartKind<RegistryPartObject, unknown, unknown>,
  signingRulePart as unknown as PartKind<RegistryPartObject, unknown, unknown>,
  accountSettingPart as unknown as PartKind<RegistryPartObject, unknown, unknown>,
  pullTimeUpdateExclusionPart as unknown as PartKind<RegistryPartObject, unknown, unknown>,
];

/** The informers and controllers of the account-wide part kinds, for main.ts to hand to the Manager. */
export function registryPartControllers(deps: Omit<RegistryPartDeps<RegistryPartObject>, 'objects' | 'syncPeriodMs'> & {
  kube: KubeClient;
  providers: Informer<AWSProvider>;
  syncPeriodMs: number;
  concurrency: number;
}): { informers: Array<Informer<RegistryPartObject>>; controllers: Array<Controller<RegistryPartObject>> } {
  const informers: Array<Informer<RegistryPartObject>> = [];
  const controllers: Array<Controller<RegistryPartObject>> = [];
  for (const kind of REGISTRY_PART_KINDS) {
    // Cluster-scoped: watched cluster-wide whatever namespace the operator watches.
    const objects = new Informer<RegistryPartObject>({ client: deps.kube, ref: kind.ref, logger: deps.logger, name: kind.ref.plural });
    const reconciler = registryPartReconciler(kind, { ...deps, objects, syncPeriodMs: deps.syncPeriodMs });
    informers.push(objects);
    controllers.push(new Controller<RegistryPartObject>({
      name: kind.name,
      informer: objects,
      reconcile: (key) => reconciler.reconcile(key),
      logger: deps.logger,
      concurrency: deps.concurrency,
      resyncPeriodMs: 0,
      predicate: defaultPredicate,
      secondary: [{
        informer: deps.providers,
        map: (provider: KubeObject) => objects.list()
          .filter((o) => o.spec.providerRef?.namespace === provider.metadata?.namespace && o.spec.providerRef?.name === provider.metadata?.name)
          .map((o) => ({ namespace: '', name: o.metadata.name })),
        predicate: (old: KubeObject | undefined, obj: KubeObject, type?: string) => type !== 'MODIFIED' || providerChangeMatters(old, obj),
      }],
    }));
  }
  return { informers, controllers };
}
