import {
  ECR_REGISTRY_POLICY_STATEMENT, ECR_REGISTRY_SCANNING_CONFIGURATION, ECR_REPLICATION_RULE,
  type RegistryObject,
} from '../api/registry-types.js';
import type { AWSProvider } from '../kinds/awsprovider/types.js';
import type { Logger } from '../observability/logger.js';
import type { Controller } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import { Informer } from '../runtime/informer.js';
import type { KubeClient } from '../runtime/kube.js';
import type { ObjectWriter } from '../runtime/status.js';
import type { KubeObject } from '../runtime/types.js';
import { registryController } from './controller.js';
import { registryPolicyKind, replicationKind, scanningKind, type RegistryKind } from './kinds.js';
import { RegistryReconciler, type RegistryConnection } from './reconciler.js';

/** The informers and controllers of the three registry-level kinds, for main.ts to hand to the Manager. */
export function registryControllers(deps: {
  kube: KubeClient;
  namespace: string | undefined;
  providers: Informer<AWSProvider>;
  connections: { get(provider: AWSProvider): Promise<RegistryConnection> };
  writer: Pick<ObjectWriter, 'patchStatus' | 'ensureFinalizer' | 'removeFinalizer'>;
  events: Pick<EventRecorder, 'record'>;
  logger: Logger;
  syncPeriodMs: number;
}): {
  informers: Array<Informer<KubeObject>>;
  controllers: Array<Controller<KubeObject>>;
  /** Every registry-level object of a namespace (all when undefined), for the providers they need. */
  users(namespace?: string): RegistryObject[];
} {
  const informers: Array<Informer<KubeObject>> = [];
  const listers: Array<{ list(namespace?: string): RegistryObject[] }> = [];
  const controllers: Array<Controller<KubeObject>> = [];
  function add<T extends RegistryObject, L, D, A>(kind: RegistryKind<T, L, D, A>, plural: string): void {
    const objects = new Informer<T>({ client: deps.kube, ref: kind.ref, namespace: deps.namespace, logger: deps.logger, name: plural });
    const reconciler = new RegistryReconciler<T, L, D, A>({
      kind, objects, providers: deps.providers, connections: deps.connections, writer: deps.writer, events: deps.events, logger: deps.logger,
    });
    informers.push(objects as unknown as Informer<KubeObject>);
    listers.push(objects);
    controllers.push(registryController<T>({ name: kind.name, objects, providers: deps.providers, reconciler, logger: deps.logger, syncPeriodMs: deps.syncPeriodMs }));
  }
  add(replicationKind, ECR_REPLICATION_RULE.plural);
  add(registryPolicyKind, ECR_REGISTRY_POLICY_STATEMENT.plural);
  add(scanningKind, ECR_REGISTRY_SCANNING_CONFIGURATION.plural);
  return { informers, controllers, users: (namespace) => listers.flatMap((l) => l.list(namespace)) };
}
