import {
  DeleteRegistryPolicyCommand, DescribeRegistryCommand, GetRegistryPolicyCommand, GetRegistryScanningConfigurationCommand,
  PutRegistryPolicyCommand, PutRegistryScanningConfigurationCommand, PutReplicationConfigurationCommand, type ECRClient,
} from '@aws-sdk/client-ecr';
import { classifyAwsError, isAwsError } from './errors.js';

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
}
