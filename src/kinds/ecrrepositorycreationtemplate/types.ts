/** ECRRepositoryCreationTemplate: one repository creation template of a registry, per prefix (cluster-scoped). */
import type { RegistryPartSpec } from '../../api/registry-part.js';
import { API_VERSION, GROUP, VERSION, type ObjectMeta } from '../../api/types.js';
import type { AppliedFor } from '../../aws/creation-templates.js';
import type { EncryptionTypeSetting, ExclusionFilter, ImageTagMutabilitySetting } from '../../aws/ecr.js';
import type { ResourceStatus } from '../../reconcilers/cluster-resource.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_REPOSITORY_CREATION_TEMPLATE = { kind: 'ECRRepositoryCreationTemplate', plural: 'ecrrepositorycreationtemplates' } as const;
export const REPOSITORY_CREATION_TEMPLATE_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_REPOSITORY_CREATION_TEMPLATE.plural };

/** The repository creation scenarios a template applies to (Amazon ECR API Reference, "RepositoryCreationTemplate", appliedFor). */
export const APPLIED_FOR: readonly AppliedFor[] = ['REPLICATION', 'PULL_THROUGH_CACHE', 'CREATE_ON_PUSH'];

export interface ECRRepositoryCreationTemplateSpec extends RegistryPartSpec {
  /** A repository namespace prefix (`prod`, `team/app`), or ROOT for every repository no other template covers. */
  prefix: string;
  description?: string;
  appliedFor: AppliedFor[];
  encryptionConfiguration?: { encryptionType: EncryptionTypeSetting; kmsKey?: string };
  imageTagMutability?: ImageTagMutabilitySetting;
  imageTagMutabilityExclusionFilters?: ExclusionFilter[];
  /** Tags that ECR puts on the repositories it creates from the template. */
  resourceTags?: Record<string, string>;
  /** The repository policy of the repositories created from the template. */
  repositoryPolicyText?: string;
  /** The lifecycle policy of the repositories created from the template. */
  lifecyclePolicy?: { policyText: string };
  /** The IAM role ECR assumes to apply the template (needed for KMS keys and resource tags). */
  customRoleArn?: string;
}

export interface ECRRepositoryCreationTemplateStatus extends ResourceStatus {
  /** When ECR created the template, and last updated it. */
  createdAt?: string;
  updatedAt?: string;
}

export type ECRRepositoryCreationTemplate = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRRepositoryCreationTemplate';
  metadata: ObjectMeta;
  spec: ECRRepositoryCreationTemplateSpec;
  status?: ECRRepositoryCreationTemplateStatus;
};
