import { describe, expect, it } from 'vitest';
import { ReplicationEmulation, checkReplicationConfiguration } from '../../e2e/env/replication-emulation.js';

const registry = { accountId: '123456789012', region: 'us-east-1' };
const rule = (region: string) => ({ destinations: [{ region, registryId: '123456789012' }] });

describe('replication emulation of the local AWS layer', () => {
  it('stores a configuration of several rules and answers DescribeRegistry with it', () => {
    const emulation = new ReplicationEmulation();
    const body = { replicationConfiguration: { rules: [rule('eu-west-1'), { ...rule('us-west-2'), repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' }] }] } };
    expect(emulation.needs(body)).toBe(true);
    expect(emulation.needs({ replicationConfiguration: { rules: [rule('eu-west-1')] } })).toBe(false);
    expect(emulation.put(registry, body)).toEqual({ status: 200, body });
    expect(emulation.describe(registry, { registryId: '123456789012', replicationConfiguration: { rules: [] } })).toEqual({ registryId: '123456789012', ...body });
    // Another registry is untouched; a Put that moto takes makes moto's answer the truth again.
    expect(emulation.describe({ ...registry, region: 'eu-west-1' }, { registryId: 'x' })).toEqual({ registryId: 'x' });
    emulation.forget(registry);
    expect(emulation.describe(registry, { registryId: '123456789012' })).toEqual({ registryId: '123456789012' });
  });

  it('refuses what ECR refuses', () => {
    const eleven = { replicationConfiguration: { rules: Array.from({ length: 11 }, () => rule('eu-west-1')) } };
    expect(checkReplicationConfiguration(eleven, registry)).toMatchObject({ status: 400, errorType: 'ValidationException' });
    expect(checkReplicationConfiguration({ replicationConfiguration: { rules: [rule('eu-west-1'), rule('us-east-1')] } }, registry))
      .toMatchObject({ status: 400, errorType: 'InvalidParameterException' });
    expect(checkReplicationConfiguration({ replicationConfiguration: { rules: [{ destinations: [{ region: 'eu-west-1', registryId: '1' }] }] } }, registry))
      .toMatchObject({ status: 400 });
    expect(checkReplicationConfiguration({ replicationConfiguration: { rules: [{ ...rule('eu-west-1'), repositoryFilters: [{ filter: 'p', filterType: 'PREFIX_MATCH' }] }] } }, registry))
      .toMatchObject({ status: 400 });
    expect(checkReplicationConfiguration({}, registry)).toMatchObject({ status: 400 });
  });
});
