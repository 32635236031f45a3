/**
 * Amazon ECR's limits on the registry-level documents, checked before any AWS call so that a
 * document AWS would refuse never leaves the operator, and the object that does not fit is named.
 *
 * Sources (the installed @aws-sdk/client-ecr models carry no length or count constraints, so these
 * come from the Amazon ECR API Reference and the Amazon ECR service quotas page):
 * - ReplicationConfiguration.rules: at most 10 rules (API Reference, data type
 *   ReplicationConfiguration; service quota "Rules per replication configuration").
 * - ReplicationRule.destinations: at most 25 per rule (service quota "Unique destinations across all
 *   rules in a replication configuration" is 25; a rule can never hold more).
 * - ReplicationRule.repositoryFilters: at most 100 per rule (API Reference, data type ReplicationRule);
 *   RepositoryFilter.filter: 2 to 256 characters, filterType PREFIX_MATCH.
 * - PutRegistryPolicy.policyText: at most 10,240 characters (API Reference, PutRegistryPolicy request
 *   parameters). IAM counts a policy's size the same way, without whitespace; we write compact JSON.
 * - PutRegistryScanningConfiguration.rules: at most 2 rules (API Reference, request parameters), one
 *   per scan frequency; RegistryScanningRule.repositoryFilters: at most 100;
 *   ScanningRepositoryFilter.filter: 1 to 256 characters of `a-z 0-9 . _ - / *`, filterType WILDCARD.
 *   With scanType BASIC only SCAN_ON_PUSH rules are accepted, with ENHANCED only SCAN_ON_PUSH and
 *   CONTINUOUS_SCAN (the SDK's documentation of RegistryScanningRule.scanFrequency).
 */
export const REPLICATION_MAX_RULES = 10;
export const REPLICATION_MAX_DESTINATIONS_PER_RULE = 25;
export const REPLICATION_MAX_FILTERS_PER_RULE = 100;
export const REPLICATION_FILTER_LENGTH = { min: 2, max: 256 } as const;

export const REGISTRY_POLICY_MAX_CHARS = 10_240;
export const REGISTRY_POLICY_VERSION = '2012-10-17';

export const SCANNING_MAX_RULES = 2;
export const SCANNING_MAX_FILTERS_PER_RULE = 100;
export const SCANNING_FILTER_LENGTH = { min: 1, max: 256 } as const;
export const SCANNING_FILTER_PATTERN = /^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/;

/** AWS region names and 12-digit account ids, as ECR's ReplicationDestination accepts them. */
export const REGION_PATTERN = /^[0-9a-z-]{2,25}$/;
export const REGISTRY_ID_PATTERN = /^[0-9]{12}$/;
/** A PREFIX_MATCH filter is the start of a repository name. */
export const REPLICATION_FILTER_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*\/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$/;
/** IAM statement ids: letters and digits. */
export const SID_PATTERN = /^[A-Za-z0-9]{1,128}$/;
