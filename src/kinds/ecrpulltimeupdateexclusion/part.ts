import type { RegistryGateway } from '../../aws/registry.js';
import type { PartKind } from '../../reconcilers/registry-part.js';
import { ECR_PULL_TIME_UPDATE_EXCLUSION, PULL_TIME_UPDATE_EXCLUSION_REF, type ECRPullTimeUpdateExclusion } from './types.js';
import { EXCLUSIONS_MAX, validateExclusionSpec } from './validation.js';

/**
 * An ECRPullTimeUpdateExclusion's part of its registry: one principal in the registry's exclusion
 * list, named by its ARN. ECR keeps the list item by item (Register, Deregister, List), not as one
 * document that a Put replaces, so the document here is the list as read together with the list as
 * it is to be, and a write registers and deregisters exactly the difference between the two: it
 * never touches a principal that this write did not add or take out, even one registered by someone
 * else since the read.
 */

export interface ExclusionsDocument {
  /** The principals as they are to be. */
  principals: string[];
  /** The principals as read from AWS: a write applies only the difference from these. */
  read: string[];
}

async function readExclusions(gateway: RegistryGateway): Promise<ExclusionsDocument> {
  const principals = await gateway.pullTimeUpdateExclusions();
  return { principals, read: [...principals] };
}

async function writeExclusions(gateway: RegistryGateway, doc: ExclusionsDocument): Promise<void> {
  const before = new Set(doc.read);
  const after = new Set(doc.principals);
  for (const principal of doc.read) if (!after.has(principal)) await gateway.deregisterPullTimeUpdateExclusion(principal);
  for (const principal of doc.principals) if (!before.has(principal)) await gateway.registerPullTimeUpdateExclusion(principal);
}

export const pullTimeUpdateExclusionPart: PartKind<ECRPullTimeUpdateExclusion, ExclusionsDocument, string> = {
  name: 'ecrpulltimeupdateexclusion',
  kind: ECR_PULL_TIME_UPDATE_EXCLUSION.kind,
  ref: PULL_TIME_UPDATE_EXCLUSION_REF,
  document: 'pull-time-update-exclusions',
  home: "the registry's pull-time update exclusions",
  desired: (obj) => {
    const problem = validateExclusionSpec(obj.spec);
    return problem ? { problem } : { part: obj.spec.principalArn };
  },
  applied: (obj) => obj.status?.appliedPrincipalArn,
  pending: (obj) => obj.status?.pendingPrincipalArn,
  partStatus: (applied, pending) => ({ appliedPrincipalArn: applied, pendingPrincipalArn: pending }),
  documentStatus: (doc) => ({ exclusions: doc.principals.length }),
  identity: (principal) => principal,
  same: (a, b) => a === b,
  find: (doc, principal) => (doc.principals.includes(principal) ? principal : undefined),
  put: (doc, principal, previous) => {
    const without = previous !== undefined && previous !== principal ? doc.principals.filter((p) => p !== previous) : [...doc.principals];
    if (without.includes(principal)) return { doc: { principals: without, read: doc.read } };
    const principals = [...without, principal];
    if (principals.length > EXCLUSIONS_MAX) {
      return { limit: `the registry's pull-time update exclusions would number ${principals.length}; ECR allows at most ${EXCLUSIONS_MAX} per registry` };
    }
    return { doc: { principals, read: doc.read } };
  },
  remove: (doc, principal) => ({ principals: doc.principals.filter((p) => p !== principal), read: doc.read }),
  equal: (a, b) => a.principals.length === b.principals.length && a.principals.every((p) => b.principals.includes(p)),
  read: readExclusions,
  write: writeExclusions,
  describe: (principal) => `the pull-time update exclusion of ${principal}`,
};
