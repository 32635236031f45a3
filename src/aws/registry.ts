import {
  DeleteRegistryPolicyCommand, DescribeRegistryCommand, GetRegistryPolicyCommand, GetRegistryScanningConfigurationCommand,
  PutRegistryPolicyCommand, PutRegistryScanningConfigurationCommand, PutReplicationConfigurationCommand, type ECRClient,
} from '@aws-sdk/client-ecr';
import { classifyAwsError, isAwsError } from './errors.js';
import {
  DeleteSigningConfigurationCommand, DeregisterPullTimeUpdateExclusionCommand, GetAccountSettingCommand, GetSigningConfigurationCommand,
  ListPullTimeUpdateExclusionsCommand, PutAccountSettingCommand, PutSigningConfigurationCommand, RegisterPullTimeUpdateExclusionCommand,
} from '@aws-sdk/client-ecr';

/**
 * The registry-level documents of Amazon ECR: the replication configuration, the registry policy and
 * the registry scanning configuration. Each is one document per registry (an account in a region)
 * that a Put replaces whole. Reads and writes, nothing else: each object's part is its kind's business (src/kinds).
 * Every failure is an AwsError (src/aws/errors.ts).
 */

type EcrSend = Pick<ECRClient, 'send'>;

/** A replication rule as ECR holds it (every destination with its registry id). */
export interface ReplicationRuleDocument {
  destinations: Array<{ region: string; registryId: string }>;
  repositoryFilters?: Array<{ filter: string; filterType: 'PREFIX_MATCH' }>;
}

export interface ScanningDocument {
  scanType: 'BASIC' | 'ENHANCED';
  rules: Array<{ scanFrequency: 'SCAN_ON_PUSH' | 'CONTINUOUS_SCAN' | 'MANUAL'; repositoryFilters: Array<{ filter: string; filterType: 'WILDCARD' }> }>;
}

/** A rule of the registry's managed-signing configuration as ECR holds it (no empty filter list). */
export interface SigningRuleDocument {
  signingProfileArn: string;
  repositoryFilters?: Array<{ filter: string; filterType: 'WILDCARD_MATCH' }>;
}

/** Codes ECR answers with when there is nothing to read or remove (src/aws/errors.ts does not name them). */
const SIGNING_CONFIGURATION_NOT_FOUND = 'SigningConfigurationNotFoundException';
const EXCLUSION_ALREADY_EXISTS = 'ExclusionAlreadyExistsException';
const EXCLUSION_NOT_FOUND = 'ExclusionNotFoundException';
/** ListPullTimeUpdateExclusions' largest page (1-1000); a registry holds at most 100 exclusions. */
const EXCLUSIONS_PAGE = 1000;

type AppliedReplicationRule = ReplicationRuleDocument;
type ScanningConfiguration = ScanningDocument;
type ScanType = ScanningDocument['scanType'];
type ScanFrequency = ScanningDocument['rules'][number]['scanFrequency'];

export class RegistryGateway {
  constructor(private readonly client: EcrSend) {}

  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyAwsError(err, operation);
    }
  }

  /** The replication rules of the registry, in AWS's order (none when it has no configuration). */
  async replicationRules(): Promise<{ registryId: string | undefined; rules: AppliedReplicationRule[] }> {
    const out = await this.call('DescribeRegistry', () => this.client.send(new DescribeRegistryCommand({})));
    const rules = (out.replicationConfiguration?.rules ?? []).map((r) => {
      const rule: AppliedReplicationRule = {
        destinations: (r.destinations ?? []).map((d) => ({ region: d.region ?? '', registryId: d.registryId ?? '' })),
      };
      const filters = (r.repositoryFilters ?? []).map((f) => ({ filter: f.filter ?? '', filterType: 'PREFIX_MATCH' as const }));
      if (filters.length > 0) rule.repositoryFilters = filters;
      return rule;
    });
    return { registryId: out.registryId, rules };
  }

  async putReplicationRules(rules: readonly AppliedReplicationRule[]): Promise<void> {
    await this.call('PutReplicationConfiguration', () => this.client.send(new PutReplicationConfigurationCommand({
      replicationConfiguration: {
        rules: rules.map((r) => ({
          destinations: r.destinations.map((d) => ({ region: d.region, registryId: d.registryId })),
          ...(r.repositoryFilters?.length ? { repositoryFilters: r.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType })) } : {}),
        })),
      },
    })));
  }

  /** The registry policy text, or undefined when the registry has none. */
  async registryPolicy(): Promise<string | undefined> {
    try {
      const out = await this.call('GetRegistryPolicy', () => this.client.send(new GetRegistryPolicyCommand({})));
      return out.policyText || undefined;
    } catch (err) {
      if (isAwsError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  async putRegistryPolicy(policyText: string): Promise<void> {
    await this.call('PutRegistryPolicy', () => this.client.send(new PutRegistryPolicyCommand({ policyText })));
  }

  /** Deletes the registry policy; one that is already gone is fine. */
  async deleteRegistryPolicy(): Promise<void> {
    try {
      await this.call('DeleteRegistryPolicy', () => this.client.send(new DeleteRegistryPolicyCommand({})));
    } catch (err) {
      if (!isAwsError(err, 'NotFound')) throw err;
    }
  }

  async scanningConfiguration(): Promise<ScanningConfiguration> {
    const out = await this.call('GetRegistryScanningConfiguration', () => this.client.send(new GetRegistryScanningConfigurationCommand({})));
    const config = out.scanningConfiguration;
    return {
      scanType: (config?.scanType ?? 'BASIC') as ScanType,
      rules: (config?.rules ?? []).map((r) => ({
        scanFrequency: (r.scanFrequency ?? 'MANUAL') as ScanFrequency,
        repositoryFilters: (r.repositoryFilters ?? []).map((f) => ({ filter: f.filter ?? '', filterType: 'WILDCARD' as const })),
      })),
    };
  }

  async putScanningConfiguration(config: ScanningConfiguration): Promise<void> {
    await this.call('PutRegistryScanningConfiguration', () => this.client.send(new PutRegistryScanningConfigurationCommand({
      scanType: config.scanType,
      rules: config.rules.map((r) => ({
        scanFrequency: r.scanFrequency,
        repositoryFilters: r.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType })),
      })),
    })));
  }

  /**
   * The rules of the registry's managed-signing configuration, in AWS's order (none when the
   * registry has no signing configuration).
   */
  async signingRules(): Promise<SigningRuleDocument[]> {
    try {
      const out = await this.call('GetSigningConfiguration', () => this.client.send(new GetSigningConfigurationCommand({})));
      return (out.signingConfiguration?.rules ?? []).map((r) => {
        const rule: SigningRuleDocument = { signingProfileArn: r.signingProfileArn ?? '' };
        const filters = (r.repositoryFilters ?? []).map((f) => ({ filter: f.filter ?? '', filterType: 'WILDCARD_MATCH' as const }));
        if (filters.length > 0) rule.repositoryFilters = filters;
        return rule;
      });
    } catch (err) {
      if (isAwsError(err) && err.code === SIGNING_CONFIGURATION_NOT_FOUND) return [];
      throw err;
    }
  }

  /**
   * Puts the signing configuration with these rules; with none, deletes it, so that the registry is
   * as before anyone configured signing (one that is already gone is fine).
   */
  async putSigningRules(rules: readonly SigningRuleDocument[]): Promise<void> {
    if (rules.length === 0) {
      try {
        await this.call('DeleteSigningConfiguration', () => this.client.send(new DeleteSigningConfigurationCommand({})));
      } catch (err) {
        if (!(isAwsError(err) && err.code === SIGNING_CONFIGURATION_NOT_FOUND)) throw err;
      }
      return;
    }
    await this.call('PutSigningConfiguration', () => this.client.send(new PutSigningConfigurationCommand({
      signingConfiguration: {
        rules: rules.map((r) => ({
          signingProfileArn: r.signingProfileArn,
          ...(r.repositoryFilters?.length ? { repositoryFilters: r.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType })) } : {}),
        })),
      },
    })));
  }

  /** The value of one account setting of the registry (every setting has one: its default until set). */
  async accountSetting(name: string): Promise<string | undefined> {
    const out = await this.call('GetAccountSetting', () => this.client.send(new GetAccountSettingCommand({ name })));
    return out.value || undefined;
  }

  async putAccountSetting(name: string, value: string): Promise<void> {
    await this.call('PutAccountSetting', () => this.client.send(new PutAccountSettingCommand({ name, value })));
  }

  /** Every principal excluded from pull-time recording in the registry, every page. */
  async pullTimeUpdateExclusions(): Promise<string[]> {
    const principals: string[] = [];
    const seen = new Set<string>();
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const out = await this.call('ListPullTimeUpdateExclusions', () => this.client.send(new ListPullTimeUpdateExclusionsCommand({
        maxResults: EXCLUSIONS_PAGE,
        ...(token ? { nextToken: token } : {}),
      })));
      principals.push(...(out.pullTimeUpdateExclusions ?? []));
      nextToken = out.nextToken || undefined;
      // A token that comes back again would page forever.
      if (nextToken !== undefined) {
        if (seen.has(nextToken)) throw classifyAwsError(Object.assign(new Error('ListPullTimeUpdateExclusions answered the same nextToken twice'), { name: 'ServerException' }), 'ListPullTimeUpdateExclusions');
        seen.add(nextToken);
      }
    } while (nextToken !== undefined);
    return principals;
  }

  /** Excludes a principal from pull-time recording; one already excluded is fine. */
  async registerPullTimeUpdateExclusion(principalArn: string): Promise<void> {
    try {
      await this.call('RegisterPullTimeUpdateExclusion', () => this.client.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn })));
    } catch (err) {
      if (!(isAwsError(err) && err.code === EXCLUSION_ALREADY_EXISTS)) throw err;
    }
  }

  /** Ends a principal's exclusion from pull-time recording; one that is not excluded is fine. */
  async deregisterPullTimeUpdateExclusion(principalArn: string): Promise<void> {
    try {
      await this.call('DeregisterPullTimeUpdateExclusion', () => this.client.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn })));
    } catch (err) {
      if (!(isAwsError(err) && err.code === EXCLUSION_NOT_FOUND)) throw err;
    }
  }
}
