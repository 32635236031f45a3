import { describe, expect, it } from 'vitest';
import type { ECRRegistryScanningConfigurationSpec, ScanningConfiguration } from '../../../src/api/registry-types.js';
import { DEFAULT_SCANNING, mergeScanning, type ScanningMember } from '../../../src/registry/scanning-merge.js';

const registry = { accountId: '123456789012', region: 'us-east-1' };
const enhanced: ScanningConfiguration = { scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }] };

function member(name: string, created: string, spec: Partial<ECRRegistryScanningConfigurationSpec> = {}, extra: Partial<ScanningMember> = {}): ScanningMember {
  return { key: `team/${name}`, created, deleting: false, deletionPolicy: 'Retain', spec: { providerRef: { name: 'aws' }, scanType: 'ENHANCED', rules: enhanced.rules, ...spec }, ...extra };
}

describe('mergeScanning', () => {
  it('sets ENHANCED with a CONTINUOUS_SCAN rule', () => {
    const result = mergeScanning({ registry, live: DEFAULT_SCANNING, members: [member('a', '1')] });
    expect(result.changed).toBe(true);
    expect(result.desired).toEqual(enhanced);
    expect(result.verdicts.get('team/a')).toMatchObject({ kind: 'InForce', applied: enhanced });
  });

  it('a second object for the same registry is Stalled/AlreadyOwned and changes nothing', () => {
    const result = mergeScanning({ registry, live: enhanced, members: [member('a', '1'), member('b', '2', { scanType: 'BASIC', rules: [] })] });
    expect(result.changed).toBe(false);
    expect(result.verdicts.get('team/b')).toMatchObject({ kind: 'Stalled', reason: 'AlreadyOwned' });
    expect(result.verdicts.get('team/b')?.message).toContain('team/a');
  });

  it('deleting the owner with Delete resets the registry to BASIC; Retain leaves it', () => {
    const deleting = member('a', '1', {}, { deleting: true, deletionPolicy: 'Delete', applied: enhanced });
    expect(mergeScanning({ registry, live: enhanced, members: [deleting] }).desired).toEqual(DEFAULT_SCANNING);
    const retained = { ...deleting, deletionPolicy: 'Retain' as const };
    expect(mergeScanning({ registry, live: enhanced, members: [retained] }).changed).toBe(false);
  });

  it('checks the scanning rules against ECR\'s limits before any call', () => {
    const cases: Array<[Partial<ECRRegistryScanningConfigurationSpec>, string]> = [
      [{ scanType: 'BASIC', rules: enhanced.rules }, 'not allowed with scanType BASIC'],
      [{ rules: [enhanced.rules[0]!, enhanced.rules[0]!, enhanced.rules[0]!] }, 'at most 2'],
      [{ rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: Array.from({ length: 101 }, () => ({ filter: '*', filterType: 'WILDCARD' as const })) }] }, 'at most 100'],
      [{ rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: 'Bad Name', filterType: 'WILDCARD' }] }] }, 'filter'],
    ];
    for (const [spec, text] of cases) {
      const result = mergeScanning({ registry, live: DEFAULT_SCANNING, members: [member('a', '1', spec)] });
      expect(result.verdicts.get('team/a')?.kind).toBe('InvalidSpec');
      expect(result.verdicts.get('team/a')?.message).toContain(text);
      expect(result.changed).toBe(false);
    }
  });
});
