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
import { clusterResourceReconciler, type ResourceKind, type ResourceObject } from '../reconcilers/cluster-resource.js';
import { SecretsManagerClients } from '../aws/secrets-manager.js';
import { awsApiCallDuration, awsApiCalls } from '../observability/metrics.js';
import { pullThroughCacheRuleResource } from './ecrpullthroughcacherule/client.js';
import { creationTemplateResource } from './ecrrepositorycreationtemplate/client.js';

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

/**
 * The account-wide kinds whose objects each own a resource of their own in a registry, named by a
 * prefix. Each runs on the generic managed reconciler through src/reconcilers/cluster-resource.ts;
 * adding one is a folder and a line here.
 */
export const CLUSTER_RESOURCE_KINDS: ReadonlyArray<ResourceKind<ResourceObject>> = [
  pullThroughCacheRuleResource as unknown as ResourceKind<ResourceObject>,
  creationTemplateResource as unknown as ResourceKind<ResourceObject>,
];

/** The informers and controllers of the account-wide part kinds, for main.ts to hand to the Manager. */
export function registryPartControllers(deps: Omit<RegistryPartDeps<RegistryPartObject>, 'objects' | 'syncPeriodMs'> & {
  kube: KubeClient;
  providers: Informer<AWSProvider>;
  syncPeriodMs: number;
  concurrency: number;
  /** For the resource kinds: --cluster-name, --secret-poll-period, and Secrets Manager clients (paced by main.ts's limiters when given). */
  clusterName?: string | undefined;
  secretPollPeriodMs?: number;
  secretsManager?: SecretsManagerClients;
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
  addClusterResourceControllers(deps, informers, controllers);
  return { informers, controllers };
}

/** The informers and controllers of the account-wide resource kinds, added to the part kinds'. */
function addClusterResourceControllers(
  deps: Parameters<typeof registryPartControllers>[0],
  informers: Array<Informer<RegistryPartObject>>,
  controllers: Array<Controller<RegistryPartObject>>,
): void {
  // Built on first use, per provider session: only objects that keep credentials in a secret call it.
  const secretsManager = deps.secretsManager ?? new SecretsManagerClients({
    onCall: (service, operation, outcome, seconds) => {
      awsApiCalls.inc({ service, operation, outcome });
      awsApiCallDuration.observe({ service, operation }, seconds);
    },
  });
  for (const kind of CLUSTER_RESOURCE_KINDS) {
    // Cluster-scoped: watched cluster-wide whatever namespace the operator watches.
    const objects = new Informer<ResourceObject>({ client: deps.kube, ref: kind.ref, logger: deps.logger, name: kind.ref.plural });
    const resourceDeps = { ...deps, objects, secretsManager, syncPeriodMs: deps.syncPeriodMs };
    const reconciler = clusterResourceReconciler(kind, resourceDeps);
    informers.push(objects as unknown as Informer<RegistryPartObject>);
    controllers.push(new Controller<ResourceObject>({
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
      }, ...(kind.watches?.(objects, resourceDeps) ?? [])],
    }) as unknown as Controller<RegistryPartObject>);
  }
}
