/**
 * What every kind of the v1alpha1 API of group aws-infra-operator.runner.codes shares: the group,
 * the object metadata, conditions, the finalizer, owner tag and annotations. Each kind's own types
 * live in its folder under src/kinds; config/crd/bases holds the schemas.
 */

export const GROUP = 'aws-infra-operator.runner.codes';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Guards every object until its deletion policy has been carried out. */
export const FINALIZER = `${GROUP}/finalizer`;
/** Tag on every repository the operator created or adopted: `<namespace>/<name>` of the owning CR. */
export const OWNER_TAG = `${GROUP}/owner`;
/** Annotation that allows adopting an existing repository that carries no owner tag. */
export const ADOPT_ANNOTATION = `${GROUP}/adopt`;
/** Annotation whose change triggers an immediate full reconcile (as the documentation page shows it). */
export const FORCE_SYNC_ANNOTATION = 'force-sync';

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface SecretKeyRef {
  name: string;
  key: string;
}

/** The `metav1.Condition` shape. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type DeletionPolicy = 'Delete' | 'Retain' | 'Orphan';

/** What happens in AWS when an object is deleted and its spec says nothing. */
export const DEFAULT_DELETION_POLICY: DeletionPolicy = 'Retain';
