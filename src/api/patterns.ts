/**
 * The regular expressions the operator evaluates on input that a user wrote, in one place, each
 * written so that V8's backtracking engine runs it in linear time, and each accepting exactly the
 * language of the AWS pattern it follows (test/unit/api/patterns.test.ts compares them on a large
 * corpus). The `_SOURCE` strings are what the CRDs carry as OpenAPI `pattern`: the API server
 * evaluates them with RE2, so a value the operator would refuse is refused there first, and the
 * operator's own check is the same language.
 *
 * Why a pattern is linear here: it is anchored with `^` (one start position), and it is
 * unambiguous: wherever two quantified parts meet, the character that ends one cannot begin the
 * other (a separator class disjoint from the run class, or a `/` that no run contains). Each
 * character can then be consumed in one way only, so a failed match revisits each character a
 * constant number of times. AWS's scanning filter pattern has a run class inside an
 * optional class inside a star (`(?:[x]?[y]+)*`, x ⊇ y): a run of n letters splits into groups in
 * 2^n ways, and V8 tries them all before it fails (40 characters: forever).
 *
 * The sources use only syntax that RE2 and ECMAScript read alike (no lookaround, no
 * backreferences, `-` last in a class, `/` unescaped). The AWS patterns quoted in the comments
 * below write `/` as `\/`, which means the same.
 */

/** A value's length bounds, as the AWS API reference states them (and the CRD's minLength/maxLength). */
export interface LengthBounds {
  readonly min: number;
  readonly max: number;
}

/**
 * Whether `value` has a length within `length` and matches `pattern`. The length is checked first,
 * so the pattern only ever sees a short string.
 */
export function matchesWithin(value: unknown, pattern: RegExp, length: LengthBounds): value is string {
  return typeof value === 'string' && value.length >= length.min && value.length <= length.max && pattern.test(value);
}

/**
 * ECR ScanningRepositoryFilter.filter (Amazon ECR API Reference, "ScanningRepositoryFilter"):
 * 1 to 256 characters, AWS pattern `^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$`, filterType WILDCARD.
 * That language is: runs of `a-z 0-9 *` joined by single separators `. _ - /`, starting and ending
 * with a run character. Written here as one run, then any number of (separator, run): the separator
 * class and the run class are disjoint, so the split into runs is unique.
 */
export const SCANNING_FILTER_SOURCE = '^[a-z0-9*]+(?:[._/-][a-z0-9*]+)*$';
export const SCANNING_FILTER_PATTERN = new RegExp(SCANNING_FILTER_SOURCE);
export const SCANNING_FILTER_LENGTH: LengthBounds = { min: 1, max: 256 };

/**
 * ECR RepositoryFilter.filter with filterType PREFIX_MATCH (Amazon ECR API Reference,
 * "RepositoryFilter"): 2 to 256 characters, AWS pattern
 * `^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*\/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$`.
 * That language is: `/`-separated segments over `a-z 0-9 . _ -`, where every segment but the last
 * is non-empty and starts with a letter or digit, and the last (the prefix being typed) may be
 * empty or start with a separator. Written here as (letter-or-digit, then the segment's rest, then
 * `/`) any number of times, then the last segment: no segment class contains `/`, so each `/` ends
 * exactly one group and the split is unique.
 */
export const REPLICATION_FILTER_SOURCE = '^(?:[a-z0-9][a-z0-9._-]*/)*[a-z0-9._-]*$';
export const REPLICATION_FILTER_PATTERN = new RegExp(REPLICATION_FILTER_SOURCE);
export const REPLICATION_FILTER_LENGTH: LengthBounds = { min: 2, max: 256 };

/**
 * ECR ReplicationDestination.region (Amazon ECR API Reference, "ReplicationDestination"): AWS
 * pattern `[0-9a-z-]{2,25}`. One class, bounded repetition: linear as it stands.
 */
export const REGION_SOURCE = '^[0-9a-z-]{2,25}$';
export const REGION_PATTERN = new RegExp(REGION_SOURCE);
export const REGION_LENGTH: LengthBounds = { min: 2, max: 25 };

/**
 * ECR ReplicationDestination.registryId and every other registryId of the ECR API (Amazon ECR API
 * Reference, "ReplicationDestination"): AWS pattern `[0-9]{12}`, an AWS account id. Linear as it stands.
 */
export const REGISTRY_ID_SOURCE = '^[0-9]{12}$';
export const REGISTRY_ID_PATTERN = new RegExp(REGISTRY_ID_SOURCE);
export const REGISTRY_ID_LENGTH: LengthBounds = { min: 12, max: 12 };

/**
 * An IAM statement id (IAM User Guide, "IAM JSON policy elements: Sid": ASCII letters and digits),
 * at most 128 characters as the operator's registry policy statements bound it. Linear as it stands.
 */
export const SID_SOURCE = '^[A-Za-z0-9]{1,128}$';
export const SID_PATTERN = new RegExp(SID_SOURCE);
export const SID_LENGTH: LengthBounds = { min: 1, max: 128 };

/**
 * An ECR repository name (Amazon ECR API Reference, "CreateRepository", repositoryName): 2 to 256
 * characters, AWS pattern `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`.
 * That language is: runs of `a-z 0-9` joined by single separators `. _ - /` (a `/`-segment is
 * itself runs joined by `. _ -`), so it is written here as one run, then any number of (separator,
 * run), with disjoint classes: the same shape, and the same linear argument, as the scanning filter.
 */
export const REPOSITORY_NAME_SOURCE = '^[a-z0-9]+(?:[._/-][a-z0-9]+)*$';
export const REPOSITORY_NAME_PATTERN = new RegExp(REPOSITORY_NAME_SOURCE);
export const REPOSITORY_NAME_LENGTH: LengthBounds = { min: 2, max: 256 };

/**
 * ECR ImageTagMutabilityExclusionFilter.filter (Amazon ECR API Reference,
 * "ImageTagMutabilityExclusionFilter"): 1 to 128 characters, AWS pattern `^[0-9a-zA-Z._*-]{1,128}`,
 * `*` a wildcard. One class, bounded repetition: linear as it stands. (AWS's pattern has no `$`, but
 * its length bound and the class cover the whole value: the same language.)
 */
export const TAG_MUTABILITY_EXCLUSION_FILTER_SOURCE = '^[0-9a-zA-Z._*-]{1,128}$';
export const TAG_MUTABILITY_EXCLUSION_FILTER_PATTERN = new RegExp(TAG_MUTABILITY_EXCLUSION_FILTER_SOURCE);
export const TAG_MUTABILITY_EXCLUSION_FILTER_LENGTH: LengthBounds = { min: 1, max: 128 };

/**
 * The KMS key an ECRRepository names (Amazon ECR API Reference, "EncryptionConfiguration", kmsKey:
 * 1 to 2048 characters; AWS KMS Developer Guide, "Key identifiers (KeyId)"): a key or alias ARN, an
 * alias name, a key id (UUID) or a multi-Region key id (mrk-...). Each alternative starts with a
 * different literal or class (`arn:`, `alias/`, hex, `mrk-`) and inside the ARN every run class
 * excludes the `:` or `/` that ends it: unambiguous, so linear.
 */
export const KMS_KEY_SOURCE =
  '^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[a-zA-Z0-9/_-]+|alias/[a-zA-Z0-9/_-]+|' +
  '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$';
export const KMS_KEY_PATTERN = new RegExp(KMS_KEY_SOURCE);
export const KMS_KEY_LENGTH: LengthBounds = { min: 1, max: 2048 };

/**
 * A KMS key ARN, to read the key id out of (group 1), as ECR reports it (AWS KMS Developer Guide,
 * "Key ARN": arn:PARTITION:kms:REGION:ACCOUNT:key/ID). Every field's class excludes the `:` that
 * ends it and the id runs to the end: linear.
 */
export const KMS_KEY_ARN_PATTERN = /^arn:[^:]+:kms:[^:]*:[^:]*:key\/(.+)$/;

/**
 * An account's root principal in a policy (IAM User Guide, "AWS JSON policy elements: Principal",
 * arn:PARTITION:iam::ACCOUNT:root), to read the account id out of (group 1). The partition's class
 * excludes the `:` after it: linear.
 */
export const ACCOUNT_ROOT_ARN_PATTERN = /^arn:aws[a-z-]*:iam::([0-9]{12}):root$/;

/**
 * A JSON number, true, false or null (RFC 8259, sections 3 and 6), for locating a syntax error in a
 * policy text. Sticky (`y`): tried at one position only. Each optional part starts with a character
 * the part before cannot contain (`.`, `e`/`E`): deterministic, so linear. Private, because a sticky
 * pattern carries its position: jsonScalarLengthAt sets it on every call.
 */
const JSON_SCALAR_PATTERN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null/y;

/** The length of the JSON number, true, false or null that starts at `offset`, if one does. */
export function jsonScalarLengthAt(text: string, offset: number): number | undefined {
  JSON_SCALAR_PATTERN.lastIndex = offset;
  return JSON_SCALAR_PATTERN.exec(text)?.[0].length;
}

/** Four hex digits, as JSON's `\u` escape needs them (RFC 8259, section 7). Fixed length: linear. */
export const JSON_UNICODE_ESCAPE_PATTERN = /^[0-9a-fA-F]{4}$/;

/** A JSON Pointer segment that is an array index (RFC 6901, section 4). One class: linear. */
export const ARRAY_INDEX_PATTERN = /^[0-9]+$/;

/**
 * The repository prefix of a pull through cache rule (Amazon ECR API Reference,
 * "CreatePullThroughCacheRule": ecrRepositoryPrefix and upstreamRepositoryPrefix, 2 to 30
 * characters) and of a repository creation template ("CreateRepositoryCreationTemplate": prefix, 1
 * to 256 characters), AWS pattern
 * `^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$`: `/`-separated
 * segments, each runs of `a-z 0-9` joined by `.`, `_`, `__` or dashes, an optional trailing `/`, or
 * the word ROOT. Written here with the separators as `[.]`, `__?` and `-+`: each starts with a
 * character that no run contains and that no other separator starts with, `/` is in neither, and a
 * run is followed only by a separator, `/` or the end; so each character is consumed one way only.
 */
export const REPOSITORY_PREFIX_SOURCE = '^(?:[a-z0-9]+(?:(?:[.]|__?|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[.]|__?|-+)[a-z0-9]+)*)*/?|ROOT)$';
export const REPOSITORY_PREFIX_PATTERN = new RegExp(REPOSITORY_PREFIX_SOURCE);
export const PULL_THROUGH_CACHE_PREFIX_LENGTH: LengthBounds = { min: 2, max: 30 };
export const CREATION_TEMPLATE_PREFIX_LENGTH: LengthBounds = { min: 1, max: 256 };

/**
 * The Secrets Manager secret of a pull through cache rule (Amazon ECR API Reference,
 * "CreatePullThroughCacheRule", credentialArn: 50 to 612 characters), AWS pattern
 * `^arn:aws(-\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\-pullthroughcache\/[a-zA-Z0-9\/_+=.@-]+$`
 * (`\w` written out as its class). Linear: the partition's groups each start with `-`, which `\w`
 * lacks; the region-and-account run holds no `/`, so the literal after it, which ends in the first
 * `/`, can end in one place only, and the name's class runs to the end.
 */
export const PULL_THROUGH_CACHE_CREDENTIAL_ARN_SOURCE =
  '^arn:aws(?:-[A-Za-z0-9_]+)*:secretsmanager:[a-zA-Z0-9:-]+:secret:ecr-pullthroughcache/[a-zA-Z0-9/_+=.@-]+$';
export const PULL_THROUGH_CACHE_CREDENTIAL_ARN_PATTERN = new RegExp(PULL_THROUGH_CACHE_CREDENTIAL_ARN_SOURCE);
export const PULL_THROUGH_CACHE_CREDENTIAL_ARN_LENGTH: LengthBounds = { min: 50, max: 612 };

/**
 * The IAM role that ECR assumes for a pull through cache rule or a repository creation template
 * (Amazon ECR API Reference, customRoleArn: at most 2048 characters, no pattern; IAM User Guide,
 * "IAM identifiers": arn:PARTITION:iam::ACCOUNT:role/PATH/NAME, names of `\w+=,.@-`). The account is
 * group 1. Each field's class excludes the `:` that ends it, and the path and name run to the end.
 */
export const IAM_ROLE_ARN_SOURCE = '^arn:aws[a-z-]*:iam::([0-9]{12}):role/[A-Za-z0-9+=,.@_/-]+$';
export const IAM_ROLE_ARN_PATTERN = new RegExp(IAM_ROLE_ARN_SOURCE);
export const IAM_ROLE_ARN_LENGTH: LengthBounds = { min: 1, max: 2048 };

/**
 * The KMS key of a repository creation template (Amazon ECR API Reference,
 * "EncryptionConfigurationForRepositoryCreationTemplate", kmsKey: at most 2048 characters, "the full
 * ARN of the KMS key", AWS pattern `^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+`),
 * anchored at both ends: a key ARN and nothing else. Each class excludes the `:` or `/` that ends it.
 */
export const TEMPLATE_KMS_KEY_SOURCE = '^arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-z0-9-]+$';
export const TEMPLATE_KMS_KEY_PATTERN = new RegExp(TEMPLATE_KMS_KEY_SOURCE);
export const TEMPLATE_KMS_KEY_LENGTH: LengthBounds = { min: 1, max: 2048 };

/**
 * The upstream registry URL of a pull through cache rule from Amazon ECR (Amazon ECR API Reference,
 * "CreatePullThroughCacheRule", upstreamRegistryUrl: `<accountId>.dkr.ecr.<region>.amazonaws.com`).
 * The account is group 1, the region group 2. Fixed literals between classes that exclude `.`.
 */
export const ECR_UPSTREAM_URL_SOURCE = '^([0-9]{12})[.]dkr[.]ecr[.]([a-z0-9-]+)[.]amazonaws[.]com(?:[.]cn)?$';
export const ECR_UPSTREAM_URL_PATTERN = new RegExp(ECR_UPSTREAM_URL_SOURCE);

/**
 * The upstream registry URL of a pull through cache rule from Microsoft Azure Container Registry
 * (same page: `<custom>.azurecr.io`; Azure registry names are 5 to 50 letters and digits). One
 * bounded class, then a literal.
 */
export const AZURE_UPSTREAM_URL_SOURCE = '^[a-z0-9]{5,50}[.]azurecr[.]io$';
export const AZURE_UPSTREAM_URL_PATTERN = new RegExp(AZURE_UPSTREAM_URL_SOURCE);

/** Any upstream registry URL, before the check per upstream registry: a host name of DNS's characters. */
export const UPSTREAM_URL_LENGTH: LengthBounds = { min: 1, max: 253 };
