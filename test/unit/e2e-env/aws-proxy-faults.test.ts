import { describe, expect, it } from 'vitest';
import { pickFault, seededRandom, type Fault } from '../../e2e/env/aws-proxy.js';

const throttle = (extra: Partial<Fault> = {}): Fault => ({ operation: '*', service: 'ECR', status: 400, code: 'ThrottlingException', message: 'Rate exceeded', ...extra });
const serverError = (extra: Partial<Fault> = {}): Fault => ({ operation: '*', service: 'ECR', status: 500, code: 'ServerException', message: 'Internal error', ...extra });

describe('the AWS layer\'s injected faults', () => {
  it('fails a fraction of the calls with each rate, from one draw per call', () => {
    const faults = [throttle({ rate: 0.15 }), serverError({ rate: 0.1 })];
    const random = seededRandom(7);
    const seen = new Map<string, number>();
    const calls = 20_000;
    for (let i = 0; i < calls; i++) {
      const f = pickFault(faults, 'ECR', i % 2 ? 'CreateRepository' : 'DescribeRepositories', undefined, random());
      if (f) seen.set(f.code, (seen.get(f.code) ?? 0) + 1);
    }
    expect((seen.get('ThrottlingException') ?? 0) / calls).toBeCloseTo(0.15, 1);
    expect((seen.get('ServerException') ?? 0) / calls).toBeCloseTo(0.1, 1);
    expect(faults[0]!.injected).toBe(seen.get('ThrottlingException'));
    expect(faults[1]!.injected).toBe(seen.get('ServerException'));
  });

  it('draws the same sequence from the same seed', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    const first = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(first);
    expect(new Set(first).size).toBe(5);
    for (const v of first) expect(v >= 0 && v < 1).toBe(true);
  });

  it('matches by operation, service and signer, and counts down `times`', () => {
    const faults: Fault[] = [{ operation: 'GetCallerIdentity', service: 'STS', accessKeyId: 'AKIAONE', status: 403, code: 'AccessDenied', message: 'no', times: 2 }];
    expect(pickFault(faults, 'STS', 'GetCallerIdentity', 'AKIATWO', 0)).toBeUndefined();
    expect(pickFault(faults, 'ECR', 'GetCallerIdentity', 'AKIAONE', 0)).toBeUndefined();
    expect(pickFault(faults, 'STS', 'GetCallerIdentity', 'AKIAONE', 0)?.code).toBe('AccessDenied');
    expect(pickFault(faults, 'STS', 'GetCallerIdentity', 'AKIAONE', 0)?.code).toBe('AccessDenied');
    expect(pickFault(faults, 'STS', 'GetCallerIdentity', 'AKIAONE', 0)).toBeUndefined();
    expect(faults[0]!.injected).toBe(2);
    // "*" is every operation of its service only.
    expect(pickFault([throttle()], 'STS', 'AssumeRole', undefined, 0)).toBeUndefined();
    expect(pickFault([throttle()], 'ECR', 'TagResource', undefined, 0)?.code).toBe('ThrottlingException');
  });
});
