import { describe, expect, it } from 'vitest';
import { parsePolicy, registryPolicyStatementPart } from '../../../src/kinds/ecrregistrypolicystatement/part.js';
import { statementOf } from '../../../src/kinds/ecrregistrypolicystatement/validation.js';
import { validateScanningSpec } from '../../../src/kinds/ecrregistryscanningconfiguration/validation.js';
import { replicationRulePart } from '../../../src/kinds/ecrreplicationrule/part.js';
import { validateReplicationSpec } from '../../../src/kinds/ecrreplicationrule/validation.js';
import { fastestMs } from '../support/timing.js';

/**
 * No input holds the event loop: every validator and document operation of the account-wide kinds
 * answers adversarial input (10,000 characters, nesting 10,000 deep) within 50 ms.
 */

const LONG = 10_000;
const adversarial = [
  'a'.repeat(LONG - 1) + '!',
  'a.'.repeat(LONG / 2) + '!',
  'a/'.repeat(LONG / 2) + '/',
  '*'.repeat(LONG - 1) + '!',
  'a-_.'.repeat(LONG / 4),
  '/'.repeat(LONG),
];
const deep = ['['.repeat(LONG) + ']'.repeat(LONG), '{"a":'.repeat(LONG) + '1' + '}'.repeat(LONG)];
const registry = { accountId: '123456789012', region: 'us-east-1', key: '123456789012/us-east-1/' };
const providerRef = { namespace: 'platform', name: 'aws' };

function within50ms(what: string, fn: () => unknown): unknown {
  const result = fn();
  const ms = fastestMs(fn);
  expect(ms, `${what} took ${ms.toFixed(1)} ms`).toBeLessThan(50);
  return result;
}

describe('account-wide kinds bound their work', () => {
  it('replication rule validation', () => {
    for (const text of adversarial) {
      const problem = within50ms('filter', () => validateReplicationSpec({ providerRef, destinations: [{ region: 'eu-west-1' }], repositoryFilters: [{ filter: text, filterType: 'PREFIX_MATCH' }] }, registry));
      expect(problem).toMatch(/^spec\.repositoryFilters\[0\]\.filter/);
      expect(within50ms('region', () => validateReplicationSpec({ providerRef, destinations: [{ region: text }] }, registry))).toMatch(/^spec\.destinations\[0\]\.region/);
      expect(within50ms('registryId', () => validateReplicationSpec({ providerRef, destinations: [{ region: 'eu-west-1', registryId: text }] }, registry))).toMatch(/registryId/);
    }
  });

  it('scanning filters, the 40-character filter included', () => {
    for (const text of [...adversarial, 'a'.repeat(39) + '!']) {
      const problem = within50ms('scanning filter', () => validateScanningSpec({
        providerRef, scanType: 'ENHANCED', rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: text, filterType: 'WILDCARD' }] }],
      }));
      expect(problem).toMatch(/^spec\.rules\[0\]\.repositoryFilters\[0\]\.filter/);
    }
  });

  it('registry policy statements and the live registry policy', () => {
    for (const text of [...adversarial, ...deep]) {
      const sid = within50ms('sid', () => statementOf({ providerRef, sid: text, statement: '{}' }));
      expect(sid).toMatchObject({ problem: expect.stringMatching(/^spec\.sid/) });
      const statement = within50ms('statement', () => statementOf({ providerRef, sid: 'A', statement: text }));
      expect(statement).toMatchObject({ problem: expect.stringMatching(/^spec\.statement/) });
    }
    for (const text of deep) {
      within50ms('live policy', () => expect(() => parsePolicy(`{"Statement":${text}}`)).toThrow(/deeper than 64/));
    }
  });

  it('document operations on the largest documents ECR allows', () => {
    const statements = Array.from({ length: 200 }, (_, i) => ({ Sid: `S${i}`, Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }));
    const doc = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
    const part = JSON.stringify({ Action: 'ecr:BatchGetImage', Effect: 'Allow', Principal: '*', Sid: 'New' });
    within50ms('put statement', () => registryPolicyStatementPart.put(doc, part, undefined));
    within50ms('find statement', () => registryPolicyStatementPart.find(doc, 'S199'));
    const rules = Array.from({ length: 10 }, (_, i) => ({
      destinations: Array.from({ length: 25 }, (_, j) => ({ region: `r${i}-${j}`, registryId: '123456789012' })),
      repositoryFilters: Array.from({ length: 100 }, (_, j) => ({ filter: `p${j}`, filterType: 'PREFIX_MATCH' as const })),
    }));
    within50ms('put rule', () => replicationRulePart.put(rules, rules[0]!, rules[1]));
  });
});
