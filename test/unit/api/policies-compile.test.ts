import { Ajv } from 'ajv';
import { afterEach, describe, expect, it, vi } from 'vitest';

describe('policy validators', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  // Compiling the two schemas costs about 4 MiB of resident memory: an operator that has no policy to
  // check (no objects yet, or none with a policy) should not pay it.
  it('are compiled on the first check, not when the module loads', async () => {
    const compile = vi.spyOn(Ajv.prototype, 'compile');
    vi.resetModules();
    const policies = await import('../../../src/api/policies.js');
    expect(compile).not.toHaveBeenCalled();
    const policy = { Version: '2012-10-17', Statement: [{ Sid: 'pull', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'ecr:BatchGetImage' }] };
    expect(policies.validateRepositoryPolicy(JSON.stringify(policy))).toEqual([]);
    expect(compile).toHaveBeenCalledTimes(2);
    expect(policies.validateLifecyclePolicy('{"rules":[]}')).not.toEqual([]);
    expect(compile).toHaveBeenCalledTimes(2);
  });
});
