/**
 * The registry gateway against a real moto server behind the local AWS layer (which emulates
 * replication configurations of more than one rule, as ECR accepts them and moto does not). A region
 * of its own: every integration test file shares the one moto, and registry documents are per region.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { AwsError } from '../../src/aws/errors.js';
import { RegistryGateway } from '../../src/aws/registry.js';

const endpoint = inject('awsEndpoint');
const REGION = 'ap-southeast-2';
const ACCOUNT = '123456789012';

const statement = (sid: string) => ({ Sid: sid, Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::210987654321:root' }, Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'], Resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/*` });

describe('RegistryGateway against moto', () => {
  let gw: RegistryGateway;

  beforeAll(() => {
    gw = new RegistryGateway(new ECRClient({ endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 }));
  });

  it('reads and replaces the replication configuration, several rules included', async () => {
    expect((await gw.replicationRules()).rules).toEqual([]);
    const rules = [
      { destinations: [{ region: 'eu-west-1', registryId: ACCOUNT }] },
      { destinations: [{ region: 'us-west-2', registryId: ACCOUNT }], repositoryFilters: [{ filter: 'prod', filterType: 'PREFIX_MATCH' as const }] },
    ];
    await gw.putReplicationRules(rules);
    expect(await gw.replicationRules()).toEqual({ registryId: ACCOUNT, rules });
    await gw.putReplicationRules([rules[0]!]);
    expect((await gw.replicationRules()).rules).toEqual([rules[0]]);
    await gw.putReplicationRules([]);
    expect((await gw.replicationRules()).rules).toEqual([]);
  });

  it('classifies a destination equal to the source registry as invalid input', async () => {
    const err = await gw.putReplicationRules([{ destinations: [{ region: REGION, registryId: ACCOUNT }] }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsError);
    expect((err as AwsError).kind).toBe('InvalidParameter');
    expect((err as AwsError).operation).toBe('PutReplicationConfiguration');
  });

  it('puts, reads and deletes the registry policy; a missing policy reads as none', async () => {
    await gw.deleteRegistryPolicy();
    expect(await gw.registryPolicy()).toBeUndefined();
    const text = JSON.stringify({ Version: '2012-10-17', Statement: [statement('A'), statement('B')] });
    await gw.putRegistryPolicy(text);
    expect(JSON.parse((await gw.registryPolicy())!)).toEqual(JSON.parse(text));
    await gw.deleteRegistryPolicy();
    await gw.deleteRegistryPolicy(); // already gone: fine
    expect(await gw.registryPolicy()).toBeUndefined();
  });

  it('refuses a registry policy that ECR would refuse, as invalid input', async () => {
    const err = await gw.putRegistryPolicy(JSON.stringify({ Version: '2012-10-17', Statement: [{ ...statement('A'), Action: 'ecr:DeleteRepository' }] })).catch((e: unknown) => e);
    expect((err as AwsError).kind).toBe('InvalidParameter');
  });

  it('puts and reads the scanning configuration', async () => {
    await gw.putScanningConfiguration({ scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }] });
    expect(await gw.scanningConfiguration()).toEqual({ scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }] });
    await gw.putScanningConfiguration({ scanType: 'BASIC', rules: [] });
    expect(await gw.scanningConfiguration()).toEqual({ scanType: 'BASIC', rules: [] });
  });
});
