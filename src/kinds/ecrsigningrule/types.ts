/** ECRSigningRule: one rule of a registry's managed-signing configuration (cluster-scoped). */
import type { RegistryPartSpec, RegistryPartStatus } from '../../api/registry-part.js';
import { API_VERSION, GROUP, VERSION, type ObjectMeta } from '../../api/types.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_SIGNING_RULE = { kind: 'ECRSigningRule', plural: 'ecrsigningrules' } as const;
export const SIGNING_RULE_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_SIGNING_RULE.plural };

export interface SigningRepositoryFilter {
  filter: string;
  filterType: 'WILDCARD_MATCH';
}

export interface ECRSigningRuleSpec extends RegistryPartSpec {
  /** The AWS Signer signing profile that signs the images this rule matches. */
  signingProfileArn: string;
  /** Which repositories' images are signed on push; every repository when omitted. */
  repositoryFilters?: SigningRepositoryFilter[];
}

/** A signing rule as ECR holds it (no empty filter list). */
export interface AppliedSigningRule {
  signingProfileArn: string;
  repositoryFilters?: SigningRepositoryFilter[];
}

export interface ECRSigningRuleStatus extends RegistryPartStatus {
  /** The rule this object put in force; deleting the object removes exactly this rule. */
  appliedRule?: AppliedSigningRule;
  /** The rule this object is about to write: recorded first, so that a crash never leaves a rule it cannot recognise as its own. */
  pendingRule?: AppliedSigningRule;
  /** Rules in the registry's signing configuration, as last read or written. */
  rules?: number;
}

export type ECRSigningRule = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRSigningRule';
  metadata: ObjectMeta;
  spec: ECRSigningRuleSpec;
  status?: ECRSigningRuleStatus;
};
