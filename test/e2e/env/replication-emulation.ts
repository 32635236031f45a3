/**
 * ECR's replication configuration for the local AWS layer, where moto falls short: moto 5.2 refuses
 * a PutReplicationConfiguration with more than one rule ("This feature is disabled"), where ECR
 * accepts up to 10. For such a request the layer asks this module instead of moto, and answers
 * DescribeRegistry with what was stored here. Pure: no I/O; the caller says which registry
 * (account and region) a request is for.
 *
 * Checked and stored as the Amazon ECR API Reference describes:
 * - PutReplicationConfiguration (request: replicationConfiguration, required; response: the
 *   replicationConfiguration as stored) and DescribeRegistry (response: registryId and
 *   replicationConfiguration).
 * - Data type ReplicationConfiguration: rules, required, 0 to 10 items.
 * - Data type ReplicationRule: destinations, required, 0 to 100 items; repositoryFilters, optional,
 *   1 to 100 items.
 * - Data type ReplicationDestination: region, required, 2 to 25 characters of [0-9a-z-];
 *   registryId, required, 12 digits.
 * - Data type RepositoryFilter: filter, required, 2 to 256 characters; filterType, required,
 *   PREFIX_MATCH.
 * A destination equal to the source registry is refused with moto's own words for it.
 */

export interface Registry {
  accountId: string;
  region: string;
}

export interface EmulatedAnswer {
  status: number;
  /** The error type for the x-amzn-errortype header, when status is not 200. */
  errorType?: string;
  body: Record<string, unknown>;
}

interface Destination {
  region: string;
  registryId: string;
}
interface Rule {
  destinations: Destination[];
  repositoryFilters?: Array<{ filter: string; filterType: string }>;
}

const MAX_RULES = 10;
const MAX_DESTINATIONS = 100;
const MAX_FILTERS = 100;

function validation(message: string): EmulatedAnswer {
  return { status: 400, errorType: 'ValidationException', body: { __type: 'ValidationException', message: `1 validation error detected: ${message}` } };
}

function invalid(message: string): EmulatedAnswer {
  return { status: 400, errorType: 'InvalidParameterException', body: { __type: 'InvalidParameterException', message } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a PutReplicationConfiguration body; the stored configuration, or the error AWS gives. */
export function checkReplicationConfiguration(body: unknown, registry: Registry): { rules: Rule[] } | EmulatedAnswer {
  if (!isObject(body) || !isObject(body.replicationConfiguration)) return validation("Value null at 'replicationConfiguration' failed to satisfy constraint: Member must not be null");
  const rulesValue = body.replicationConfiguration.rules;
  if (!Array.isArray(rulesValue)) return validation("Value null at 'replicationConfiguration.rules' failed to satisfy constraint: Member must not be null");
  if (rulesValue.length > MAX_RULES) {
    return validation(`Value at 'replicationConfiguration.rules' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RULES}`);
  }
  const rules: Rule[] = [];
  for (const [i, r] of rulesValue.entries()) {
    const at = `replicationConfiguration.rules.${i + 1}`;
    if (!isObject(r) || !Array.isArray(r.destinations)) return validation(`Value null at '${at}.destinations' failed to satisfy constraint: Member must not be null`);
    if (r.destinations.length > MAX_DESTINATIONS) {
      return validation(`Value at '${at}.destinations' failed to satisfy constraint: Member must have length less than or equal to ${MAX_DESTINATIONS}`);
    }
    const destinations: Destination[] = [];
    for (const [j, d] of r.destinations.entries()) {
      const dat = `${at}.destinations.${j + 1}`;
      if (!isObject(d) || typeof d.region !== 'string' || !/^[0-9a-z-]{2,25}$/.test(d.region)) {
        return validation(`Value at '${dat}.region' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-z-]{2,25}`);
      }
      if (typeof d.registryId !== 'string' || !/^[0-9]{12}$/.test(d.registryId)) {
        return validation(`Value at '${dat}.registryId' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]{12}`);
      }
      if (d.region === registry.region && d.registryId === registry.accountId) {
        return invalid("Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'Replication destination cannot be the same as the source registry'");
      }
      destinations.push({ region: d.region, registryId: d.registryId });
    }
    const rule: Rule = { destinations };
    if (r.repositoryFilters !== undefined) {
      if (!Array.isArray(r.repositoryFilters) || r.repositoryFilters.length < 1 || r.repositoryFilters.length > MAX_FILTERS) {
        return validation(`Value at '${at}.repositoryFilters' failed to satisfy constraint: Member must have length between 1 and ${MAX_FILTERS}`);
      }
      const filters: Array<{ filter: string; filterType: string }> = [];
      for (const [j, f] of r.repositoryFilters.entries()) {
        const fat = `${at}.repositoryFilters.${j + 1}`;
        if (!isObject(f) || typeof f.filter !== 'string' || f.filter.length < 2 || f.filter.length > 256) {
          return validation(`Value at '${fat}.filter' failed to satisfy constraint: Member must have length between 2 and 256`);
        }
        if (f.filterType !== 'PREFIX_MATCH') {
          return validation(`Value at '${fat}.filterType' failed to satisfy constraint: Member must satisfy enum value set: [PREFIX_MATCH]`);
        }
        filters.push({ filter: f.filter, filterType: f.filterType });
      }
      rule.repositoryFilters = filters;
    }
    rules.push(rule);
  }
  return { rules };
}

/** The replication configurations of the registries whose last Put moto could not take. */
export class ReplicationEmulation {
  private readonly stored = new Map<string, { rules: Rule[] }>();

  private key(registry: Registry): string {
    return `${registry.accountId}/${registry.region}`;
  }

  /** True when moto cannot take this PutReplicationConfiguration body and this module must. */
  needs(body: unknown): boolean {
    return isObject(body) && isObject(body.replicationConfiguration) && Array.isArray(body.replicationConfiguration.rules)
      && body.replicationConfiguration.rules.length > 1;
  }

  /** Handles a PutReplicationConfiguration that moto cannot take: checked, then stored. */
  put(registry: Registry, body: unknown): EmulatedAnswer {
    const checked = checkReplicationConfiguration(body, registry);
    if ('status' in checked) return checked;
    this.stored.set(this.key(registry), checked);
    return { status: 200, body: { replicationConfiguration: checked } };
  }

  /** moto took a Put itself (one rule or none): what it stores is the truth again. */
  forget(registry: Registry): void {
    this.stored.delete(this.key(registry));
  }

  /** moto's DescribeRegistry answer with the stored configuration in place of moto's, if any. */
  describe(registry: Registry, motoAnswer: Record<string, unknown>): Record<string, unknown> {
    const stored = this.stored.get(this.key(registry));
    return stored ? { ...motoAnswer, replicationConfiguration: stored } : motoAnswer;
  }
}
