import { describe, expect, it } from 'vitest';
import type { AWSProvider } from '../../../src/kinds/awsprovider/types.js';
import { chooseIdentity, describeIdentity, ProviderConfigError, STRICT_POLICY, type TenancyPolicy } from '../../../src/providers/identity.js';

const ROLE = 'arn:aws:iam::123456789012:role/team-ecr';
const keys = { accessKeyIDRef: { name: 'creds', key: 'id' }, secretAccessKeyRef: { name: 'creds', key: 'secret' } };
const sa = { serviceAccountRef: { name: 'ecr' }, roleARN: ROLE };
const endpoint = { endpoint: 'http://attacker.example:4566' };

function provider(spec: Partial<AWSProvider['spec']>, namespace = 'team-a'): AWSProvider {
  return { apiVersion: 'aws-infra-operator.runner.codes/v1alpha1', kind: 'AWSProvider', metadata: { name: 'p', namespace }, spec: { region: 'us-east-1', ...spec } };
}

function outcome(spec: Partial<AWSProvider['spec']>, policy: TenancyPolicy, namespace?: string): string {
  try {
    return chooseIdentity(provider(spec, namespace), policy).kind;
  } catch (err) {
    if (err instanceof ProviderConfigError) return err.reason;
    throw err;
  }
}

const OPEN: TenancyPolicy = { allowCustomEndpoints: true, ambientIdentityNamespaces: '*' };
const PLATFORM_ONLY: TenancyPolicy = { allowCustomEndpoints: false, ambientIdentityNamespaces: ['platform'] };

describe('chooseIdentity', () => {
  it.each([
    // [what, spec, policy, namespace, outcome]
    ['static keys', keys, STRICT_POLICY, 'team-a', 'staticKeys'],
    ['static keys and a role', { ...keys, roleARN: ROLE }, STRICT_POLICY, 'team-a', 'staticKeys'],
    ['its own ServiceAccount', sa, STRICT_POLICY, 'team-a', 'serviceAccount'],
    ['nothing, ambient everywhere', {}, OPEN, 'team-a', 'operator'],
    ['a role only, ambient everywhere', { roleARN: ROLE }, OPEN, 'team-a', 'operator'],
    ['nothing, in an allowed namespace', {}, PLATFORM_ONLY, 'platform', 'operator'],
    ['nothing, elsewhere', {}, PLATFORM_ONLY, 'team-a', 'IdentityNotAllowed'],
    ['a role only, elsewhere', { roleARN: ROLE }, PLATFORM_ONLY, 'team-a', 'IdentityNotAllowed'],
    ['a custom endpoint, not allowed', { ...keys, ...endpoint }, PLATFORM_ONLY, 'platform', 'EndpointNotAllowed'],
    ['a custom endpoint with a ServiceAccount, not allowed', { ...sa, ...endpoint }, STRICT_POLICY, 'team-a', 'EndpointNotAllowed'],
    ['a custom endpoint with keys, allowed', { ...keys, ...endpoint }, OPEN, 'team-a', 'staticKeys'],
    ['a custom endpoint with a ServiceAccount, allowed', { ...sa, ...endpoint }, OPEN, 'team-a', 'serviceAccount'],
    ['a custom endpoint with nothing, allowed', endpoint, OPEN, 'team-a', 'EndpointRequiresOwnCredentials'],
    ['a custom endpoint with a role only, allowed, ambient namespace', { ...endpoint, roleARN: ROLE }, OPEN, 'team-a', 'EndpointRequiresOwnCredentials'],
    ['a blank endpoint is no endpoint', { endpoint: ' ' }, OPEN, 'team-a', 'operator'],
    ['a ServiceAccount without a role', { serviceAccountRef: { name: 'ecr' } }, OPEN, 'team-a', 'InvalidSpec'],
    ['a ServiceAccount and keys', { ...sa, ...keys }, OPEN, 'team-a', 'InvalidSpec'],
    ['half a key pair does not fall back to the operator', { accessKeyIDRef: keys.accessKeyIDRef }, OPEN, 'team-a', 'InvalidSpec'],
  ] as const)('%s', (_what, spec, policy, namespace, expected) => {
    expect(outcome(spec, policy, namespace)).toBe(expected);
  });

  it('names the flag in the EndpointNotAllowed message, and the flag in the IdentityNotAllowed message', () => {
    expect(() => chooseIdentity(provider({ ...keys, ...endpoint }), STRICT_POLICY)).toThrow(/--allow-custom-endpoints.*ALLOW_CUSTOM_ENDPOINTS=true/);
    expect(() => chooseIdentity(provider({}), STRICT_POLICY)).toThrow(/namespace team-a \(see --ambient-identity-namespaces\)/);
  });
});

describe('describeIdentity', () => {
  it('names objects and roles, never values', () => {
    expect(describeIdentity({ kind: 'staticKeys', secretName: 'creds' }, 'team-a', undefined)).toBe('static keys from Secret team-a/creds');
    expect(describeIdentity({ kind: 'serviceAccount', serviceAccountName: 'ecr', roleArn: ROLE }, 'team-a', ROLE)).toBe(`ServiceAccount team-a/ecr, assuming ${ROLE}`);
    expect(describeIdentity({ kind: 'operator' }, 'platform', ' ')).toBe('operator identity');
  });
});
