import { describe, expect, it } from 'vitest';
import { conditionsFor, type Phase } from '../../../src/api/conditions.js';
import { argocdHealth as health } from './argocd-health.js';

// docs/argocd-health.lua over a table of objects, each the way Argo CD would hand it over.

const NOW = '2025-11-22T20:15:30Z';

function cond(type: string, status: 'True' | 'False', reason: string, message: string, observedGeneration: number) {
  return { type, status, reason, message, observedGeneration, lastTransitionTime: NOW };
}

function repository(generation: number, status?: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'ECRRepository',
    metadata: { name: 'app-backend', namespace: 'default', generation, ...metadata },
    spec: { providerRef: { name: 'production-aws' }, repositoryName: 'app/backend' },
    ...(status ? { status } : {}),
  };
}

function provider(generation: number, status?: Record<string, unknown>) {
  return {
    apiVersion: 'aws-infra-operator.runner.codes/v1alpha1',
    kind: 'AWSProvider',
    metadata: { name: 'production-aws', namespace: 'default', generation },
    spec: { region: 'us-east-1' },
    ...(status ? { status } : {}),
  };
}

const available = cond('Ready', 'True', 'Available', 'repository app/backend is available', 2);

describe('docs/argocd-health.lua', () => {
  const cases: Array<{ name: string; obj: unknown; status: string; message: string | RegExp }> = [
    { name: 'a new object without status', obj: repository(1), status: 'Progressing', message: 'Waiting for the operator to report status' },
    { name: 'a status without conditions', obj: repository(1, { ready: false }), status: 'Progressing', message: 'Waiting for the operator to report status' },
    {
      name: 'Ready=True for the current generation',
      obj: repository(2, { observedGeneration: 2, ready: true, conditions: [available] }),
      status: 'Healthy',
      message: 'Available: repository app/backend is available',
    },
    {
      name: 'Ready=True written for an older generation (status.observedGeneration behind)',
      obj: repository(3, { observedGeneration: 2, ready: true, conditions: [available] }),
      status: 'Progressing',
      message: 'Waiting for the operator to observe generation 3',
    },
    {
      name: 'Ready=True whose own observedGeneration is behind',
      obj: repository(3, { observedGeneration: 3, conditions: [available] }),
      status: 'Progressing',
      message: 'Waiting for the operator to report the Ready condition',
    },
    {
      name: 'Stalled=True: repository owned by another object',
      obj: repository(2, {
        observedGeneration: 2,
        conditions: [
          cond('Ready', 'False', 'AlreadyOwned', 'repository app/backend is owned by ECRRepository team-b/backend', 2),
          cond('Stalled', 'True', 'AlreadyOwned', 'repository app/backend is owned by ECRRepository team-b/backend', 2),
        ],
      }),
      status: 'Degraded',
      message: 'AlreadyOwned: repository app/backend is owned by ECRRepository team-b/backend',
    },
    {
      name: 'Stalled=True for an older generation: the user has just changed the spec',
      obj: repository(4, {
        observedGeneration: 3,
        conditions: [cond('Ready', 'False', 'InvalidSpec', 'bad policy', 3), cond('Stalled', 'True', 'InvalidSpec', 'bad policy', 3)],
      }),
      status: 'Progressing',
      message: 'Waiting for the operator to observe generation 4',
    },
    {
      name: 'Reconciling=True while creating',
      obj: repository(1, {
        observedGeneration: 1,
        conditions: [cond('Ready', 'False', 'Creating', 'creating app/backend', 1), cond('Reconciling', 'True', 'Creating', 'creating app/backend', 1)],
      }),
      status: 'Progressing',
      message: 'Creating: creating app/backend',
    },
    {
      name: 'waiting for a provider that is not Ready',
      obj: repository(1, {
        observedGeneration: 1,
        conditions: [
          cond('Ready', 'False', 'ProviderNotReady', 'AWSProvider default/production-aws is not Ready', 1),
          cond('Reconciling', 'True', 'ProviderNotReady', 'AWSProvider default/production-aws is not Ready', 1),
        ],
      }),
      status: 'Progressing',
      message: 'ProviderNotReady: AWSProvider default/production-aws is not Ready',
    },
    {
      name: 'Ready=False with neither Reconciling nor Stalled',
      obj: repository(1, { observedGeneration: 1, conditions: [cond('Ready', 'False', 'Throttled', 'Rate exceeded', 1)] }),
      status: 'Progressing',
      message: 'Throttled: Rate exceeded',
    },
    {
      name: 'being deleted (finalizer still running)',
      obj: repository(2, { observedGeneration: 2, conditions: [available] }, { deletionTimestamp: NOW, finalizers: ['aws-infra-operator.runner.codes/finalizer'] }),
      status: 'Progressing',
      message: /^Deleting/,
    },
    {
      name: 'AWSProvider authenticated',
      obj: provider(1, {
        observedGeneration: 1,
        ready: true,
        accountID: '123456789012',
        conditions: [cond('Ready', 'True', 'Authenticated', 'authenticated as arn:aws:sts::123456789012:assumed-role/infra-operator-ecr-role/s', 1)],
      }),
      status: 'Healthy',
      message: 'Authenticated: authenticated as arn:aws:sts::123456789012:assumed-role/infra-operator-ecr-role/s',
    },
    {
      name: 'AWSProvider with rejected credentials',
      obj: provider(1, {
        observedGeneration: 1,
        conditions: [
          cond('Ready', 'False', 'InvalidCredentials', 'AWS rejected the static keys', 1),
          cond('Stalled', 'True', 'InvalidCredentials', 'AWS rejected the static keys', 1),
        ],
      }),
      status: 'Degraded',
      message: 'InvalidCredentials: AWS rejected the static keys',
    },
    {
      name: 'AWSProvider whose Secret is missing',
      obj: provider(1, {
        observedGeneration: 1,
        conditions: [
          cond('Ready', 'False', 'SecretNotFound', 'spec.accessKeyIDRef: Secret default/aws-credentials not found', 1),
          cond('Stalled', 'True', 'SecretNotFound', 'spec.accessKeyIDRef: Secret default/aws-credentials not found', 1),
        ],
      }),
      status: 'Degraded',
      message: 'SecretNotFound: spec.accessKeyIDRef: Secret default/aws-credentials not found',
    },
    {
      name: 'a condition without a message',
      obj: repository(1, { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'Available', observedGeneration: 1 }] }),
      status: 'Healthy',
      message: 'Available',
    },
  ];

  for (const c of cases) {
    it(`${c.name} -> ${c.status}`, () => {
      const result = health(c.obj);
      expect(result.status).toBe(c.status);
      if (typeof c.message === 'string') expect(result.message).toBe(c.message);
      else expect(result.message).toMatch(c.message);
    });
  }

  // The conditions exactly as the operator writes them, for each kind of phase.
  const phases: Array<[Phase, string]> = [
    [{ kind: 'ready', reason: 'Available', message: 'repository app/backend is available' }, 'Healthy'],
    [{ kind: 'progressing', reason: 'Creating', message: 'creating app/backend' }, 'Progressing'],
    [{ kind: 'progressing', reason: 'Throttled', message: 'Rate exceeded' }, 'Progressing'],
    [{ kind: 'stalled', reason: 'KMSKeyInvalid', message: 'KMS key alias/ecr-encryption is disabled' }, 'Degraded'],
    [{ kind: 'stalled', reason: 'AccessDenied', message: 'not authorized to perform ecr:CreateRepository' }, 'Degraded'],
  ];
  for (const [phase, expected] of phases) {
    it(`maps the operator's own ${phase.kind} conditions (${phase.reason}) to ${expected}`, () => {
      const conditions = conditionsFor(undefined, phase, 5, new Date(NOW));
      expect(health(repository(5, { observedGeneration: 5, conditions })).status).toBe(expected);
      // The same conditions once the user edits the spec: stale until the operator catches up.
      expect(health(repository(6, { observedGeneration: 5, conditions })).status).toBe('Progressing');
    });
  }

  it('moves from Degraded back to Healthy once the cause is fixed', () => {
    const stalled = conditionsFor(undefined, { kind: 'stalled', reason: 'AccessDenied', message: 'denied' }, 1, new Date(NOW));
    expect(health(repository(1, { observedGeneration: 1, conditions: stalled })).status).toBe('Degraded');
    const fixed = conditionsFor(stalled, { kind: 'ready', reason: 'Available', message: 'ok' }, 1, new Date(NOW));
    expect(health(repository(1, { observedGeneration: 1, conditions: fixed })).status).toBe('Healthy');
  });
});
